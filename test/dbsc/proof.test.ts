import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type ChallengeReplayCache,
  type DbscPublicJwk,
  verifyRefreshProof,
  verifyRegistrationProof,
} from "../../src/dbsc/proof.js";

// Proofs are made with jose, the independent implementation, in the shape Chrome's
// session_binding_utils.cc gives them: header {alg, typ: "dbsc+jwt", jwk (registration
// only)}, payload {jti, authorization (when the registration header had one)}.

type Alg = "ES256" | "RS256";
type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];
interface Signer {
  alg: Alg;
  privateKey: PrivateKey;
  jwk: JWK;
}

async function signer(alg: Alg): Promise<Signer> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { alg, privateKey, jwk: await exportJWK(publicKey) };
}

function proof(
  s: Signer,
  payload: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  return new SignJWT(payload)
    .setProtectedHeader({ alg: s.alg, typ: "dbsc+jwt", ...header })
    .sign(s.privateKey);
}

const registration = (s: Signer, payload: Record<string, unknown>) =>
  proof(s, payload, { jwk: s.jwk });

function memoryReplayCache(): ChallengeReplayCache & { used: Set<string> } {
  const used = new Set<string>();
  return {
    used,
    use(challenge) {
      if (used.has(challenge)) return false;
      used.add(challenge);
      return true;
    },
  };
}

/** Re-encodes one part of a compact JWS, keeping the other two as they were. */
function tamper(token: string, part: 0 | 1, change: (json: Record<string, unknown>) => void) {
  const parts = token.split(".");
  const json = JSON.parse(Buffer.from(parts[part] ?? "", "base64url").toString());
  change(json);
  parts[part] = Buffer.from(JSON.stringify(json)).toString("base64url");
  return parts.join(".");
}

const asStored = (jwk: JWK) => jwk as unknown as DbscPublicJwk;

let es: Signer;
let rs: Signer;
let other: Signer;
beforeAll(async () => {
  [es, rs, other] = await Promise.all([signer("ES256"), signer("RS256"), signer("ES256")]);
});

describe("verifyRegistrationProof", () => {
  for (const name of ["ES256", "RS256"] as const) {
    it(`accepts a ${name} proof of the challenge and returns its key and thumbprint`, async () => {
      const s = name === "ES256" ? es : rs;
      const result = await verifyRegistrationProof(await registration(s, { jti: "c1" }), {
        challenge: "c1",
      });
      expect(result).toMatchObject({ ok: true, algorithm: name, challenge: "c1" });
      if (!result.ok) return;
      expect(result.jkt).toBe(await calculateJwkThumbprint(s.jwk, "sha256"));
      expect(result.jwk).toEqual(s.jwk);
    });
  }

  it("requires the authorization sent, exactly, and refuses one that was not sent", async () => {
    const withIt = await registration(es, { jti: "c", authorization: "ac" });
    const without = await registration(es, { jti: "c" });
    const otherValue = await registration(es, { jti: "c", authorization: "xx" });
    expect(
      (await verifyRegistrationProof(withIt, { challenge: "c", authorization: "ac" })).ok,
    ).toBe(true);
    for (const [token, authorization] of [
      [without, "ac"],
      [otherValue, "ac"],
      [withIt, undefined],
    ] as const) {
      const result = await verifyRegistrationProof(token, { challenge: "c", authorization });
      expect(result).toMatchObject({ ok: false, code: "wrong_authorization" });
    }
  });

  it("refuses a proof of another challenge, or of none", async () => {
    for (const payload of [{ jti: "other" }, {}, { jti: 7 }]) {
      const result = await verifyRegistrationProof(await registration(es, payload), {
        challenge: "c1",
      });
      expect(result).toMatchObject({ ok: false, code: "wrong_challenge" });
    }
    // An unusable expected challenge matches nothing, not even the same empty string.
    const empty = await registration(es, { jti: "" });
    expect(await verifyRegistrationProof(empty, { challenge: "" })).toMatchObject({ ok: false });
  });

  it("refuses a replayed challenge, and a forged proof does not use the challenge up", async () => {
    const replay = memoryReplayCache();
    const good = await registration(es, { jti: "c1" });
    const forged = tamper(good, 1, (p) => {
      p.extra = 1;
    });
    expect((await verifyRegistrationProof(forged, { challenge: "c1", replay })).ok).toBe(false);
    expect(replay.used.size).toBe(0);
    expect((await verifyRegistrationProof(good, { challenge: "c1", replay })).ok).toBe(true);
    expect(await verifyRegistrationProof(good, { challenge: "c1", replay })).toMatchObject({
      ok: false,
      code: "replayed_challenge",
    });
  });

  it("awaits an asynchronous replay cache", async () => {
    const used = new Set<string>();
    const replay: ChallengeReplayCache = {
      async use(c) {
        await new Promise((resolve) => setTimeout(resolve, 1));
        if (used.has(c)) return false;
        used.add(c);
        return true;
      },
    };
    const good = await registration(es, { jti: "c1" });
    expect((await verifyRegistrationProof(good, { challenge: "c1", replay })).ok).toBe(true);
    expect((await verifyRegistrationProof(good, { challenge: "c1", replay })).ok).toBe(false);
  });

  it("refuses a wrong or missing typ", async () => {
    for (const typ of ["jwt", "dpop+jwt", "JWT", undefined]) {
      const token = await proof(es, { jti: "c" }, { jwk: es.jwk, typ });
      expect(await verifyRegistrationProof(token, { challenge: "c" })).toMatchObject({
        ok: false,
        code: "bad_typ",
      });
    }
  });

  it("refuses tampering with the payload, the header or the signature", async () => {
    const good = await registration(es, { jti: "c" });
    const changedPayload = tamper(good, 1, (p) => {
      p.jti = "c";
      p.authorization = "added";
    });
    const changedHeader = tamper(good, 0, (h) => {
      h.jwk = other.jwk;
    });
    const [h, p, sig] = good.split(".");
    const flipped = `${h}.${p}.${sig?.[0] === "A" ? "B" : "A"}${sig?.slice(1)}`;
    for (const token of [changedPayload, changedHeader, flipped]) {
      const result = await verifyRegistrationProof(token, {
        challenge: "c",
        authorization: "added",
      });
      expect(result, token).toMatchObject({ ok: false, code: "bad_signature" });
    }
  });

  it("refuses a proof signed by another key than its jwk, none, HMAC, or a private jwk", async () => {
    const mismatched = await proof(other, { jti: "c" }, { jwk: es.jwk });
    const none = `${Buffer.from('{"alg":"none","typ":"dbsc+jwt"}').toString("base64url")}.${Buffer.from('{"jti":"c"}').toString("base64url")}.`;
    const hmac = await new SignJWT({ jti: "c" })
      .setProtectedHeader({ alg: "HS256", typ: "dbsc+jwt" })
      .sign(new TextEncoder().encode("secret"));
    const { privateKey } = await generateKeyPair("ES256", { extractable: true });
    const privateJwk = await exportJWK(privateKey);
    const withPrivate = await new SignJWT({ jti: "c" })
      .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", jwk: privateJwk })
      .sign(privateKey);
    const cases: [string, string][] = [
      [mismatched, "bad_signature"],
      [none, "bad_alg"],
      [hmac, "bad_alg"],
      [withPrivate, "private_key"],
    ];
    for (const [token, code] of cases) {
      expect(await verifyRegistrationProof(token, { challenge: "c" })).toMatchObject({
        ok: false,
        code,
      });
    }
  });

  it("never throws, whatever it is given", async () => {
    for (const token of [
      undefined,
      null,
      42,
      {},
      "",
      "a.b.c",
      "x".repeat(100_000),
      "..",
      "é.é.é",
    ]) {
      const result = await verifyRegistrationProof(token, { challenge: "c" });
      expect(result.ok).toBe(false);
    }
  });
});

describe("verifyRefreshProof", () => {
  it("accepts a proof signed by the stored key, ES256 and RS256", async () => {
    for (const s of [es, rs]) {
      const result = await verifyRefreshProof(await proof(s, { jti: "r1" }), {
        key: asStored(s.jwk),
        challenge: "r1",
      });
      expect(result).toMatchObject({ ok: true, algorithm: s.alg, challenge: "r1" });
      if (result.ok) expect(result.jkt).toBe(await calculateJwkThumbprint(s.jwk, "sha256"));
    }
  });

  it("refuses a proof signed by any other key (a cookie copied to another machine)", async () => {
    const result = await verifyRefreshProof(await proof(other, { jti: "r1" }), {
      key: asStored(es.jwk),
      challenge: "r1",
    });
    expect(result).toMatchObject({ ok: false, code: "bad_signature" });
  });

  it("refuses a proof whose alg does not fit the stored key", async () => {
    const result = await verifyRefreshProof(await proof(rs, { jti: "r1" }), {
      key: asStored(es.jwk),
      challenge: "r1",
    });
    expect(result).toMatchObject({ ok: false, code: "alg_mismatch" });
  });

  it("refuses a refresh proof that carries a jwk of its own, even the right one", async () => {
    const same = await proof(es, { jti: "r1" }, { jwk: es.jwk });
    expect(
      await verifyRefreshProof(same, { key: asStored(es.jwk), challenge: "r1" }),
    ).toMatchObject({ ok: false, code: "unexpected_jwk" });
    const another = await proof(es, { jti: "r1" }, { jwk: other.jwk });
    expect(
      await verifyRefreshProof(another, { key: asStored(es.jwk), challenge: "r1" }),
    ).toMatchObject({ ok: false, code: "key_mismatch" });
  });

  it("refuses the wrong challenge, and accepts each listed challenge once", async () => {
    const key = asStored(es.jwk);
    const wrong = await verifyRefreshProof(await proof(es, { jti: "old-old" }), {
      key,
      challenge: ["new", "old"],
    });
    expect(wrong).toMatchObject({ ok: false, code: "wrong_challenge" });
    const replay = memoryReplayCache();
    const late = await proof(es, { jti: "old" });
    const fresh = await proof(es, { jti: "new" });
    for (const token of [late, fresh]) {
      const r = await verifyRefreshProof(token, { key, challenge: ["new", "old"], replay });
      expect(r.ok).toBe(true);
    }
    expect(
      await verifyRefreshProof(late, { key, challenge: ["new", "old"], replay }),
    ).toMatchObject({ ok: false, code: "replayed_challenge" });
  });

  it("refuses a wrong typ and a tampered payload", async () => {
    const key = asStored(es.jwk);
    const wrongTyp = await proof(es, { jti: "r" }, { typ: "jwt" });
    const good = await proof(es, { jti: "r" });
    const tampered = tamper(good, 1, (p) => {
      p.jti = "r2";
    });
    expect(await verifyRefreshProof(wrongTyp, { key, challenge: "r" })).toMatchObject({
      ok: false,
      code: "bad_typ",
    });
    expect(await verifyRefreshProof(tampered, { key, challenge: "r2" })).toMatchObject({
      ok: false,
      code: "bad_signature",
    });
  });

  it("never throws, even for a broken stored key", async () => {
    const token = await proof(es, { jti: "r" });
    for (const key of [
      {},
      { kty: "EC" },
      { kty: "oct", k: "AAAA" },
    ] as unknown as DbscPublicJwk[]) {
      expect(await verifyRefreshProof(token, { key, challenge: "r" })).toMatchObject({
        ok: false,
        code: "bad_jwk",
      });
    }
    expect(
      (await verifyRefreshProof(undefined, { key: asStored(es.jwk), challenge: "r" })).ok,
    ).toBe(false);
  });
});
