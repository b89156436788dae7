import { describe, expect, it } from "vitest";
import { importKeySet, verifyJwsSignature } from "../../src/tokens/index.js";
import { signJwsInput } from "../../src/tokens/jws.js";

// RFC 7515 Appendix A (JWS examples), RFC 7520 §4.3 (ES512) and RFC 8037 Appendix A.4
// (Ed25519), byte for byte.
const A_PAYLOAD =
  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const RSA_N =
  "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";

const key = (jwk: Record<string, string>) => {
  const [imported] = importKeySet({ keys: [{ kid: "rfc", ...jwk }] });
  if (!imported) throw new Error("no key");
  return imported;
};

describe("known-answer vectors", () => {
  it("RFC 7515 A.1: HS256 over the exact header bytes gives the published MAC", () => {
    const hs = key({
      kty: "oct",
      alg: "HS256",
      k: "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
    });
    const input = `eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.${A_PAYLOAD}`;
    expect(Buffer.from(input.split(".")[0] ?? "", "base64url").toString()).toBe(
      '{"typ":"JWT",\r\n "alg":"HS256"}',
    );
    expect(signJwsInput(input, hs)).toBe("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    expect(verifyJwsSignature(`${input}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk`, hs)).toBe(
      true,
    );
    expect(verifyJwsSignature(`${input}.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXl`, hs)).toBe(
      false,
    );
  });

  it("RFC 7515 A.2: the published RS256 signature verifies with the example public key", () => {
    const rs = key({ kty: "RSA", alg: "RS256", n: RSA_N, e: "AQAB" });
    const token = `eyJhbGciOiJSUzI1NiJ9.${A_PAYLOAD}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw`;
    expect(verifyJwsSignature(token, rs)).toBe(true);
    expect(
      verifyJwsSignature(token.replace("eyJhbGciOiJSUzI1NiJ9", "eyJhbGciOiJSUzI1NiIgfQ"), rs),
    ).toBe(false);
  });

  it("RFC 7515 A.3: the published ES256 signature (raw R‖S) verifies with the example public key", () => {
    const es = key({
      kty: "EC",
      alg: "ES256",
      crv: "P-256",
      x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    });
    const token = `eyJhbGciOiJFUzI1NiJ9.${A_PAYLOAD}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q`;
    expect(verifyJwsSignature(token, es)).toBe(true);
  });

  it("RFC 7520 4.3: the published ES512 signature (raw R‖S, 132 bytes) verifies with bilbo.baggins' P-521 key", () => {
    const p521 = {
      kty: "EC",
      alg: "ES512",
      use: "sig",
      crv: "P-521",
      x: "AHKZLLOsCOzz5cY97ewNUajB957y-C-U88c3v13nmGZx6sYl_oJXu9A5RkTKqjqvjyekWF-7ytDyRXYgCF5cj0Kt",
      y: "AdymlHvOiLxXkEhayXQnNCvDX4h9htZaCJN34kfmC6pV5OhQHiraVySsUdaQkAgDPrwQrJmbnX9cwlGfP-HqHZR1",
    };
    const es = key(p521);
    // The header is {"alg":"ES512","kid":"bilbo.baggins@hobbiton.example"}; the payload is
    // the cookbook's text (§3), not JSON: the signature alone is checked.
    const input =
      "eyJhbGciOiJFUzUxMiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9." +
      "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4";
    const signature =
      "AE_R_YZCChjn4791jSQCrdPZCNYqHXCTZH0-JZGYNlaAjP2kqaluUIIUnC9qvbu9Plon7KRTzoNEuT4Va2cmL1eJAQy3mtPBu_u_sDDyYjnAMDxXPn7XrT0lw-kvAD890jl8e2puQens_IEKBpHABlsbEPX6sFY8OcGDqoRuBomu9xQ2";
    expect(Buffer.from(signature, "base64url")).toHaveLength(132);
    expect(verifyJwsSignature(`${input}.${signature}`, es)).toBe(true);
    expect(verifyJwsSignature(`${input}x.${signature}`, es)).toBe(false);
    // ECDSA signs with a fresh nonce: the private key (d of the same example) cannot reproduce
    // the published bytes, but what it signs verifies under the public key.
    const signer = key({
      ...p521,
      d: "AAhRON2r9cqXX1hg-RoI6R1tX5p2rUAYdmpHZoC1XNM56KtscrX6zbKipQrCW9CGZH3T4ubpnoTKLDYJ_fF3_rJt",
    });
    const ours = signJwsInput(input, signer);
    expect(Buffer.from(ours, "base64url")).toHaveLength(132);
    expect(verifyJwsSignature(`${input}.${ours}`, es)).toBe(true);
  });

  it("RFC 8037 A.4: Ed25519 signing reproduces the published signature", () => {
    const ed = key({
      kty: "OKP",
      alg: "EdDSA",
      crv: "Ed25519",
      d: "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
      x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    });
    const input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
    const signature =
      "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
    expect(signJwsInput(input, ed)).toBe(signature);
    expect(verifyJwsSignature(`${input}.${signature}`, ed)).toBe(true);
  });
});
