import { describe, expect, it } from "vitest";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  type ImportedKey,
  importKeySet,
  MAX_TOKEN_BYTES,
  publicKeySet,
} from "../../src/tokens/index.js";
import { signJwsInput } from "../../src/tokens/jws.js";

// One test per attack class. Every forged token below is validly signed unless the attack is
// the signature itself, so each refusal proves the rule named, not a bad MAC.
const ISS = "https://app.example";
const AUD = "app";
const NOW = 1_900_000_000;
const clock = () => NOW * 1000;
const hsSet = generateKeySet("HS256", "hs");
const [hs] = importKeySet(hsSet) as [ImportedKey];
const verifier = createJwtVerifier(hsSet, { issuer: ISS, audience: AUD, clock });
const good = { iss: ISS, aud: AUD, sub: "u1", iat: NOW, exp: NOW + 300 };

const b64 = (text: string) => Buffer.from(text).toString("base64url");
/** Signs raw header and payload JSON text with `key`, exactly as written. */
function forge(header: string | object, payload: string | object, key: ImportedKey = hs): string {
  const h = b64(typeof header === "string" ? header : JSON.stringify(header));
  const p = b64(typeof payload === "string" ? payload : JSON.stringify(payload));
  return `${h}.${p}.${signJwsInput(`${h}.${p}`, key)}`;
}
const reason = (token: unknown, v = verifier) => {
  const result = v.verify(token);
  return result.ok ? "ok" : result.reason;
};

describe("JWS attack classes are refused", () => {
  it("accepts the baseline it is compared with", () => {
    expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT" }, good))).toBe("ok");
    expect(reason(createJwtSigner(hsSet).sign(good))).toBe("ok");
  });

  it("alg none in any spelling, with or without a signature", () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      const h = b64(JSON.stringify({ alg, kid: "hs", typ: "JWT" }));
      const p = b64(JSON.stringify(good));
      expect(reason(`${h}.${p}.`), alg).toBe("alg_none");
      expect(reason(`${h}.${p}.${b64("x")}`), alg).toBe("alg_none");
    }
  });

  it("HS256 MACed with an asymmetric key's public PEM or SPKI bytes (key confusion)", () => {
    for (const alg of ["RS256", "ES256", "EdDSA"] as const) {
      const set = generateKeySet(alg, "asym");
      const v = createJwtVerifier(publicKeySet(set), { issuer: ISS, audience: AUD, clock });
      const [pub] = importKeySet(publicKeySet(set)) as [ImportedKey];
      const pem = pub.publicKey?.export({ type: "spki", format: "pem" }).toString() ?? "";
      const der = pub.publicKey?.export({ type: "spki", format: "der" }) ?? Buffer.alloc(0);
      for (const secret of [
        Buffer.from(pem),
        Buffer.from(`\n${pem}`),
        Buffer.from(` ${pem}`),
        der,
      ]) {
        const confused: ImportedKey = {
          kid: "asym",
          alg: "HS256",
          secret,
          privateKey: null,
          publicKey: null,
        };
        expect(
          reason(forge({ alg: "HS256", kid: "asym", typ: "JWT" }, good, confused), v),
          alg,
        ).toBe("alg_mismatch");
      }
    }
  });

  it("embedded jwk, jku, x5u and x5c headers", () => {
    for (const extra of [
      { jwk: { kty: "oct", k: "AAAA" } },
      { jku: "https://evil.example/jwks.json" },
      { x5u: "https://evil.example/cert.pem" },
      { x5c: ["MIIB"] },
    ]) {
      expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT", ...extra }, good))).toBe(
        "forbidden_header",
      );
    }
  });

  it("kid values that are paths, SQL, shell or empty never reach anything but a map lookup", () => {
    for (const kid of [
      "../../dev/null",
      "/dev/null",
      "' OR '1'='1",
      "hs' --",
      "$(touch /tmp/pwned)",
      "`id`",
      "",
      "hs\u0000",
    ]) {
      expect(reason(forge({ alg: "HS256", kid, typ: "JWT" }, good)), JSON.stringify(kid)).toBe(
        "unknown_kid",
      );
    }
    expect(reason(forge({ alg: "HS256", typ: "JWT" }, good))).toBe("unknown_kid");
  });

  it("stripped, empty, all-zero and DER-encoded ECDSA signatures", () => {
    const token = createJwtSigner(hsSet).sign(good);
    const input = token.slice(0, token.lastIndexOf("."));
    expect(reason(input)).toBe("malformed");
    expect(reason(`${input}.`)).toBe("bad_signature");
    expect(reason(`${input}.${Buffer.alloc(32).toString("base64url")}`)).toBe("bad_signature");
    const es = generateKeySet("ES256", "es");
    const esVerifier = createJwtVerifier(publicKeySet(es), { issuer: ISS, audience: AUD, clock });
    const esToken = createJwtSigner(es).sign(good);
    const [head, body, sig] = esToken.split(".") as [string, string, string];
    const raw = Buffer.from(sig, "base64url");
    expect(reason(esToken, esVerifier)).toBe("ok");
    expect(reason(`${head}.${body}.${Buffer.alloc(64).toString("base64url")}`, esVerifier)).toBe(
      "bad_signature",
    );
    expect(reason(`${head}.${body}.${derSignature(raw).toString("base64url")}`, esVerifier)).toBe(
      "bad_signature",
    );
  });

  it("crit and b64:false", () => {
    expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT", crit: ["exp"] }, good))).toBe(
      "forbidden_header",
    );
    expect(
      reason(forge({ alg: "HS256", kid: "hs", typ: "JWT", b64: false, crit: ["b64"] }, good)),
    ).toBe("forbidden_header");
    expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT", b64: false }, good))).toBe(
      "forbidden_header",
    );
  });

  it("non-canonical base64url: padding, the standard alphabet, whitespace, stray trailing bits", () => {
    const token = createJwtSigner(hsSet).sign(good);
    const [head, body, sig] = token.split(".") as [string, string, string];
    // A final character whose unused low bits are set: decodes to the same bytes, so a lax
    // decoder would accept a second spelling of the same token.
    const last = sig[sig.length - 1] ?? "A";
    const stray = "AEIMQUYcgkosw048".includes(last)
      ? String.fromCharCode(last.charCodeAt(0) + 1)
      : "B";
    const variants = [
      `${head}=.${body}.${sig}`,
      `${head}.${body}.${sig}=`,
      `${head}.${body}.+${sig.slice(1)}`, // the standard alphabet's characters
      `${head}.${body}./${sig.slice(1)}`,
      ` ${token}`,
      `${head}.${body}\n.${sig}`,
      `${head}.${body}.${sig.slice(0, -1)}${stray}`,
    ];
    for (const variant of variants)
      expect(reason(variant), JSON.stringify(variant.slice(-12))).toBe("malformed");
  });

  it("duplicate member names in the header or the payload", () => {
    expect(reason(forge('{"alg":"HS256","kid":"hs","typ":"JWT","kid":"other"}', good))).toBe(
      "bad_header",
    );
    expect(reason(forge('{"alg":"HS256","kid":"hs","typ":"JWT","\\u0061lg":"HS256"}', good))).toBe(
      "bad_header",
    );
    const payload = JSON.stringify(good).replace("{", '{"sub":"admin",');
    expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT" }, payload))).toBe("bad_payload");
  });

  it("payloads that are not JSON objects: arrays, null, strings, numbers, bytes", () => {
    for (const payload of ["[1,2]", "null", '"sub"', "42", "\u00ff\u00fe"]) {
      expect(reason(forge({ alg: "HS256", kid: "hs", typ: "JWT" }, payload)), payload).toBe(
        "bad_payload",
      );
    }
  });

  it("five-segment (JWE) tokens and other segment counts", () => {
    expect(reason("a.b.c.d.e")).toBe("jwe");
    expect(reason("a.b.c.d")).toBe("malformed");
    expect(reason("abc")).toBe("malformed");
  });

  it("tokens over 8 KiB, before any decoding", () => {
    const big = forge(
      { alg: "HS256", kid: "hs", typ: "JWT" },
      { ...good, pad: "x".repeat(MAX_TOKEN_BYTES) },
    );
    expect(reason(big)).toBe("too_large");
    expect(reason("x".repeat(MAX_TOKEN_BYTES + 1))).toBe("too_large");
  });

  it("exp, nbf and iat at the skew's edge, as strings, and 1e400", () => {
    const h = { alg: "HS256", kid: "hs", typ: "JWT" };
    const at = (extra: object) => reason(forge(h, { ...good, ...extra }));
    expect(at({ exp: NOW - 29 })).toBe("ok");
    expect(at({ exp: NOW - 31 })).toBe("expired");
    expect(at({ nbf: NOW + 29 })).toBe("ok");
    expect(at({ nbf: NOW + 31 })).toBe("not_yet_valid");
    expect(at({ iat: NOW + 29 })).toBe("ok");
    expect(at({ iat: NOW + 31 })).toBe("issued_in_future");
    expect(at({ exp: String(NOW + 300) })).toBe("bad_time_claim");
    expect(at({ nbf: "0" })).toBe("bad_time_claim");
    expect(
      reason(forge(h, JSON.stringify(good).replace(`"exp":${NOW + 300}`, '"exp":1e400'))),
    ).toBe("bad_time_claim");
    const { exp: _drop, ...noExp } = good;
    expect(reason(forge(h, noExp))).toBe("missing_exp");
  });

  it("iss as an array and look-alike issuers", () => {
    for (const iss of [
      [ISS],
      `${ISS}/`,
      `${ISS}.evil.example`,
      ISS.toUpperCase(),
      ` ${ISS}`,
      null,
    ]) {
      expect(
        reason(forge({ alg: "HS256", kid: "hs", typ: "JWT" }, { ...good, iss })),
        JSON.stringify(iss),
      ).toBe("bad_issuer");
    }
  });

  it("a missing or foreign audience", () => {
    const h = { alg: "HS256", kid: "hs", typ: "JWT" };
    const { aud: _drop, ...noAud } = good;
    expect(reason(forge(h, noAud))).toBe("bad_audience");
    expect(reason(forge(h, { ...good, aud: "other-app" }))).toBe("bad_audience");
    expect(reason(forge(h, { ...good, aud: ["other-app", 7] }))).toBe("bad_audience");
    expect(reason(forge(h, { ...good, aud: ["other-app", AUD] }))).toBe("ok");
  });

  it("a refresh token, a CSRF token, or a token of the other type presented as an access token", () => {
    const access = createJwtVerifier(hsSet, { issuer: ISS, audience: AUD, clock, type: "at+jwt" });
    const refresh = `${"A".repeat(22)}.${"B".repeat(42)}A`;
    const csrf = `${"C".repeat(22)}.${"D".repeat(43)}`;
    expect(reason(refresh, access)).toBe("malformed");
    expect(reason(csrf, access)).toBe("malformed");
    const jwtTyped = createJwtSigner(hsSet).sign(good);
    expect(reason(jwtTyped, access)).toBe("wrong_type");
    const accessTyped = createJwtSigner(hsSet, { type: "at+jwt" }).sign(good);
    expect(reason(accessTyped, access)).toBe("ok");
    expect(reason(accessTyped)).toBe("wrong_type");
    expect(
      reason(forge({ alg: "HS256", kid: "hs", typ: "application/AT+JWT" }, good), access),
    ).toBe("ok");
  });

  it("never throws, whatever it is given", () => {
    for (const input of [
      undefined,
      null,
      42,
      {},
      [],
      "",
      ".",
      "..",
      "...",
      "\u0000.\u0000.\u0000",
      "é.é.é",
    ]) {
      expect(() => verifier.verify(input)).not.toThrow();
      expect(verifier.verify(input).ok).toBe(false);
    }
  });
});

/** The same ECDSA signature in ASN.1 DER, as some libraries wrongly emit it. */
function derSignature(raw: Buffer): Buffer {
  const int = (bytes: Buffer) => {
    let b = bytes;
    while (b.length > 1 && b[0] === 0 && ((b[1] ?? 0) & 0x80) === 0) b = b.subarray(1);
    if (((b[0] ?? 0) & 0x80) !== 0) b = Buffer.concat([Buffer.from([0]), b]);
    return Buffer.concat([Buffer.from([0x02, b.length]), b]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
