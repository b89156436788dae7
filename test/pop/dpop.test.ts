import { randomBytes, randomUUID } from "node:crypto";
import * as jose from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  accessTokenHash,
  createNonces,
  type DpopFailure,
  type DpopOptions,
  dpopChallenge,
  memoryReplayCache,
  PROOF_ALGORITHMS,
  verifyDpopProof,
} from "../../src/pop/index.js";
import { check, claims, NOW, options, outcome, TOKEN, URL_ } from "./dpop-fixture.js";
import { type ClientKey, clientKey, joseProof } from "./keys.js";
import { EXAMPLE_JKT, FIGURE_2, FIGURE_7, FIGURE_8, FIGURE_13 } from "./rfc9449-examples.js";

let key: ClientKey;
let other: ClientKey;
let jkt: string;

beforeAll(async () => {
  key = await clientKey("ES256");
  other = await clientKey("ES256");
  jkt = await jose.calculateJwkThumbprint(key.publicJwk);
});

describe("RFC 9449's examples", () => {
  it("Figures 2 and 7 (token requests) verify at their iat, with the key's jkt", () => {
    for (const example of [FIGURE_2, FIGURE_7]) {
      const result = verifyDpopProof(example.proof, example, options({ now: example.iat * 1000 }));
      expect(result).toEqual({ jkt: EXAMPLE_JKT });
    }
  });

  it("Figure 13 verifies with its access token, bound as Figure 8's cnf.jkt says", () => {
    const tokenClaims = jose.decodeJwt(FIGURE_8) as { cnf: { jkt: string } };
    expect(tokenClaims.cnf.jkt).toBe(EXAMPLE_JKT);
    expect(accessTokenHash(FIGURE_13.accessToken)).toBe(FIGURE_13.ath);
    const result = verifyDpopProof(
      FIGURE_13.proof,
      FIGURE_13,
      options({
        now: FIGURE_13.iat * 1000,
        accessToken: FIGURE_13.accessToken,
        expectedJkt: tokenClaims.cnf.jkt,
      }),
    );
    expect(result).toEqual({ jkt: EXAMPLE_JKT });
  });

  it("refuses them replayed, too old, elsewhere or with another token", () => {
    const at = (iat: number, extra = 0) => options({ now: iat * 1000 + extra });
    const replay = memoryReplayCache({ max: 10 });
    const first = verifyDpopProof(FIGURE_2.proof, FIGURE_2, { ...at(FIGURE_2.iat), replay });
    const again = verifyDpopProof(FIGURE_2.proof, FIGURE_2, { ...at(FIGURE_2.iat), replay });
    expect([outcome(first), outcome(again)]).toEqual(["ok", "replayed"]);
    expect(outcome(verifyDpopProof(FIGURE_2.proof, FIGURE_2, at(FIGURE_2.iat, 60_001)))).toBe(
      "iat_too_old",
    );
    const elsewhere = { method: "POST", url: "https://server.example.com/other" };
    expect(outcome(verifyDpopProof(FIGURE_2.proof, elsewhere, at(FIGURE_2.iat)))).toBe("wrong_uri");
    const withOther = { ...at(FIGURE_13.iat), accessToken: "other", expectedJkt: EXAMPLE_JKT };
    expect(outcome(verifyDpopProof(FIGURE_13.proof, FIGURE_13, withOther))).toBe("bad_ath");
  });
});

describe("verifyDpopProof", () => {
  it("accepts proofs jose makes with every algorithm, and gives the key's thumbprint", async () => {
    for (const alg of PROOF_ALGORITHMS) {
      const client = alg === "ES256" ? key : await clientKey(alg);
      const result = verifyDpopProof(
        await joseProof(client, claims()),
        { method: "GET", url: URL_ },
        options(),
      );
      expect(result, alg).toEqual({ jkt: await jose.calculateJwkThumbprint(client.publicJwk) });
    }
  });

  it("refuses a missing proof, and proofs the JWT checks refuse, as invalid_dpop_proof", async () => {
    for (const proof of [null, ""]) {
      expect(verifyDpopProof(proof, { method: "GET", url: URL_ }, options())).toMatchObject({
        code: "missing_proof",
        error: "invalid_dpop_proof",
      });
    }
    const jwt = await joseProof(key, claims(), {}, "JWT");
    expect(verifyDpopProof(jwt, { method: "GET", url: URL_ }, options())).toMatchObject({
      code: "bad_typ",
      error: "invalid_dpop_proof",
    });
    expect(check(await joseProof(key, claims()), { algorithms: ["RS256"] })).toBe("bad_alg");
  });

  it("refuses a proof without each required claim, or with one of the wrong type", async () => {
    for (const name of ["jti", "htm", "htu", "iat"]) {
      expect(check(await joseProof(key, claims({ [name]: undefined }))), name).toBe("bad_claims");
    }
    for (const bad of [{ jti: "" }, { jti: "j".repeat(257) }, { jti: 7 }, { iat: "1900000000" }]) {
      expect(check(await joseProof(key, claims(bad))), JSON.stringify(bad)).toBe("bad_claims");
    }
    expect(check(await joseProof(key, claims({ jti: "j".repeat(256) })))).toBe("ok");
  });

  it("refuses a proof for another method; methods are case-sensitive", async () => {
    expect(check(await joseProof(key, claims({ htm: "POST" })))).toBe("wrong_method");
    expect(check(await joseProof(key, claims({ htm: "get" })))).toBe("wrong_method");
    expect(check(await joseProof(key, claims({ htm: "DELETE" })), {}, "DELETE")).toBe("ok");
  });

  it("matches htu to the request URI after RFC 3986 normalisation, ignoring query and fragment", async () => {
    const same = [
      "https://app.example/api/items",
      "HTTPS://APP.Example/api/items",
      "https://app.example:443/api/items",
      "https://app.example/api/./items",
      "https://app.example/api/x/../items",
      "https://app.example/api/%69tems",
      "https://app.example/api/items?page=2",
      "https://app.example/api/items#top",
    ];
    for (const htu of same) {
      expect(check(await joseProof(key, claims({ htu }))), htu).toBe("ok");
      const request = `${htu}?q=1`;
      expect(check(await joseProof(key, claims()), {}, "GET", request), request).toBe("ok");
    }
    expect(
      check(
        await joseProof(key, claims({ htu: "https://app.example" })),
        {},
        "GET",
        "https://app.example/",
      ),
    ).toBe("ok");
    const encoded = claims({ htu: "https://app.example/a%2fb" });
    expect(check(await joseProof(key, encoded), {}, "GET", "https://app.example/a%2Fb")).toBe("ok");
  });

  it("refuses an htu that names another target", async () => {
    const different = [
      "https://app.example/api/Items",
      "https://app.example/api/items/",
      "http://app.example/api/items",
      "https://app.example:8443/api/items",
      "https://api.example/api/items",
      "https://app.example/api/items%2F",
      "https://app.example/api/items/x",
      "https://user@app.example/api/items",
      "https://app.example/api/items\n",
      "https://app.example/api\\items",
      "https://app.example/api/ítems",
      "ftp://app.example/api/items",
      "/api/items",
      "not a uri",
    ];
    for (const htu of different) {
      expect(check(await joseProof(key, claims({ htu }))), htu).toBe("wrong_uri");
    }
    expect(check(await joseProof(key, claims()), {}, "GET", "not a url")).toBe("wrong_uri");
  });

  it("accepts iat from maxAge in the past to skew in the future, inclusive, and no further", async () => {
    const at = async (offsetMs: number, over: Partial<DpopOptions> = {}) =>
      check(await joseProof(key, claims({ iat: (NOW + offsetMs) / 1000 })), over);
    expect(await at(-60_000)).toBe("ok");
    expect(await at(-61_000)).toBe("iat_too_old");
    expect(await at(5_000)).toBe("ok");
    expect(await at(6_000)).toBe("iat_in_future");
    expect(await at(-10_000, { maxAgeMs: 10_000 })).toBe("ok");
    expect(await at(-11_000, { maxAgeMs: 10_000 })).toBe("iat_too_old");
    expect(await at(30_000, { skewMs: 30_000 })).toBe("ok");
    expect(await at(31_000, { skewMs: 30_000 })).toBe("iat_in_future");
    // Milliseconds count: the window is [now - maxAge, now + skew] exactly.
    const proof = await joseProof(key, claims({ iat: NOW / 1000 }));
    expect(check(proof, { now: NOW + 60_000 })).toBe("ok");
    expect(check(proof, { now: NOW + 60_001 })).toBe("iat_too_old");
    expect(check(proof, { now: NOW - 5_000 })).toBe("ok");
    expect(check(proof, { now: NOW - 5_001 })).toBe("iat_in_future");
    expect(check(proof, { now: Number.NaN })).not.toBe("ok");
  });

  it("refuses a replayed jti from the same key until the proof's window is over", async () => {
    const replay = memoryReplayCache({ max: 100 });
    const jti = randomUUID();
    const proof = await joseProof(key, claims({ jti }));
    expect(check(proof, { replay })).toBe("ok");
    expect(check(proof, { replay })).toBe("replayed");
    expect(check(proof, { replay, now: NOW + 60_000 })).toBe("replayed");
    expect(check(proof, { replay, now: NOW + 60_001 })).toBe("iat_too_old");
    // The same jti from another key is another proof.
    expect(check(await joseProof(other, claims({ jti })), { replay })).toBe("ok");
  });

  it("does not use up a jti on a proof it refused for another reason", async () => {
    const replay = memoryReplayCache({ max: 100 });
    const proof = await joseProof(key, claims());
    expect(check(proof, { replay }, "POST")).toBe("wrong_method");
    expect(check(proof, { replay }, "GET", "https://app.example/other")).toBe("wrong_uri");
    expect(check(proof, { replay, expectedJkt: "x".repeat(43) })).toBe("wrong_key");
    expect(check(proof, { replay })).toBe("ok");
  });

  it("requires ath to be the hash of the access token presented", async () => {
    const bound = { accessToken: TOKEN, expectedJkt: jkt };
    expect(check(await joseProof(key, claims({ ath: accessTokenHash(TOKEN) })), bound)).toBe("ok");
    expect(check(await joseProof(key, claims()), bound)).toBe("bad_ath");
    expect(check(await joseProof(key, claims({ ath: accessTokenHash("other") })), bound)).toBe(
      "bad_ath",
    );
    expect(check(await joseProof(key, claims({ ath: 42 })), bound)).toBe("bad_ath");
    // Without a token there is nothing to hash: an ath is then ignored.
    expect(check(await joseProof(key, claims({ ath: "whatever" })))).toBe("ok");
  });

  it("refuses a token bound to another key, or bound to none, as invalid_token", async () => {
    const proof = () => joseProof(key, claims({ ath: accessTokenHash(TOKEN) }));
    const otherJkt = await jose.calculateJwkThumbprint(other.publicJwk);
    const wrong = verifyDpopProof(
      await proof(),
      { method: "GET", url: URL_ },
      options({ accessToken: TOKEN, expectedJkt: otherJkt }),
    );
    expect(wrong).toMatchObject({ code: "wrong_key", error: "invalid_token" });
    const unbound = verifyDpopProof(
      await proof(),
      { method: "GET", url: URL_ },
      options({ accessToken: TOKEN }),
    );
    expect(unbound).toMatchObject({ code: "unbound_token", error: "invalid_token" });
    // A binding without a token (a refresh token sent in a cookie or a body) is still checked.
    expect(check(await joseProof(key, claims()), { expectedJkt: otherJkt })).toBe("wrong_key");
    expect(check(await joseProof(key, claims()), { expectedJkt: jkt })).toBe("ok");
  });

  it("with nonces configured, asks for one with use_dpop_nonce and a fresh nonce, then accepts it", async () => {
    let clock = NOW;
    const nonces = createNonces({ key: randomBytes(32), lifetimeMs: 300_000, clock: () => clock });
    const withNonces = { nonces };
    const first = verifyDpopProof(
      await joseProof(key, claims()),
      { method: "GET", url: URL_ },
      options(withNonces),
    );
    expect(first).toMatchObject({ code: "use_dpop_nonce", error: "use_dpop_nonce" });
    const nonce = (first as DpopFailure).nonce ?? "";
    expect(nonces.check(nonce)).toBe(true);
    expect(check(await joseProof(key, claims({ nonce })), withNonces)).toBe("ok");
    const foreign = createNonces({ key: randomBytes(32), lifetimeMs: 300_000 }).issue();
    expect(check(await joseProof(key, claims({ nonce: foreign })), withNonces)).toBe(
      "use_dpop_nonce",
    );
    expect(check(await joseProof(key, claims({ nonce: 42 })), withNonces)).toBe("use_dpop_nonce");
    clock = NOW + 300_001;
    expect(check(await joseProof(key, claims({ nonce })), withNonces)).toBe("use_dpop_nonce");
    const challenge = dpopChallenge(first as DpopFailure, { algorithms: ["ES256"] });
    expect(challenge.headers["dpop-nonce"]).toBe(nonce);
  });
});
