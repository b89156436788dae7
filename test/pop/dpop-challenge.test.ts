import { describe, expect, it } from "vitest";
import { type DpopFailure, dpopChallenge, type PROOF_ALGORITHMS } from "../../src/pop/index.js";

describe("dpopChallenge (RFC 9449 §7.1, §9)", () => {
  it("answers with the challenges of Figures 15, 16 and 24", () => {
    expect(dpopChallenge(null, { algorithms: ["ES256", "PS256"] }).headers).toEqual({
      "www-authenticate": 'DPoP algs="ES256 PS256"',
    });
    const binding: DpopFailure = { code: "wrong_key", detail: "", error: "invalid_token" };
    expect(dpopChallenge(binding, { algorithms: ["ES256"] })).toEqual({
      status: 401,
      headers: {
        "www-authenticate":
          'DPoP error="invalid_token", error_description="Invalid DPoP key binding", algs="ES256"',
      },
    });
    const nonce: DpopFailure = {
      code: "use_dpop_nonce",
      detail: "",
      error: "use_dpop_nonce",
      nonce: "eyJ7S_zG.eyJH0-Z.HX4w-7v",
    };
    expect(dpopChallenge(nonce, { algorithms: [] }).headers).toEqual({
      "www-authenticate":
        'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
      "dpop-nonce": "eyJ7S_zG.eyJH0-Z.HX4w-7v",
    });
  });

  it("carries the realm, never the failure's detail, and refuses a realm it cannot quote", () => {
    const failure: DpopFailure = {
      code: "wrong_uri",
      detail: 'htu "https://evil.example/\r\nSet-Cookie: a=b"',
      error: "invalid_dpop_proof",
    };
    const { headers } = dpopChallenge(failure, { algorithms: ["ES256", "EdDSA"], realm: "api" });
    expect(headers["www-authenticate"]).toBe(
      'DPoP realm="api", error="invalid_dpop_proof", error_description="Invalid DPoP proof", algs="ES256 EdDSA"',
    );
    expect(new Headers(headers).get("www-authenticate")).toBe(headers["www-authenticate"]);
    for (const realm of ['a"b', "a\\b", "a\nb"]) {
      expect(() => dpopChallenge(null, { algorithms: ["ES256"], realm })).toThrow(TypeError);
    }
  });

  it("lists only the asymmetric algorithms it can check", () => {
    const algorithms = ["ES256", "HS256", "none"] as unknown as typeof PROOF_ALGORITHMS;
    expect(dpopChallenge(null, { algorithms }).headers["www-authenticate"]).toBe(
      'DPoP algs="ES256"',
    );
  });
});
