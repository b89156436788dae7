// JWT sign and verify: sessionkit's codec against jose, fast-jwt (with and without its cache)
// and jsonwebtoken, on the same HS256 key, token and claims checks, in this process.
import { createSigner, createVerifier } from "fast-jwt";
import * as jose from "jose";
import jsonwebtoken from "jsonwebtoken";
import {
  cachedVerifier,
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
} from "../dist/tokens/index.js";
import { measure } from "./measure.js";

export async function runJwt() {
  const set = generateKeySet("HS256", "bench");
  const secret = Buffer.from(set.keys[0].k, "base64url");
  const iss = "https://app.example";
  const aud = "app";
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss,
    aud,
    sub: "u1",
    sid: "s1",
    jti: "j1",
    iat: now,
    exp: now + 3600,
    auth_time: now,
  };
  const ours = createJwtSigner(set);
  const token = ours.sign(claims);
  const verifier = createJwtVerifier(set, { issuer: iss, audience: aud });
  const cached = cachedVerifier(verifier);
  const joseKey = await jose.importJWK({ kty: "oct", k: set.keys[0].k }, "HS256");
  const fastNoCache = createVerifier({
    key: secret,
    algorithms: ["HS256"],
    allowedIss: iss,
    allowedAud: aud,
    cache: false,
  });
  const fastCache = createVerifier({
    key: secret,
    algorithms: ["HS256"],
    allowedIss: iss,
    allowedAud: aud,
    cache: true,
  });
  const fastSigner = createSigner({ key: secret, algorithm: "HS256", kid: "bench" });

  // Each verifier must accept the token it is timed on.
  if (!verifier.verify(token).ok) throw new Error("sessionkit rejected the token");
  await jose.jwtVerify(token, joseKey, { issuer: iss, audience: aud, algorithms: ["HS256"] });
  fastNoCache(token);
  jsonwebtoken.verify(token, secret, { algorithms: ["HS256"], issuer: iss, audience: aud });

  const rows = [
    await measure("HS256 verify: sessionkit", () => verifier.verify(token)),
    await measure("HS256 verify: sessionkit with verified-token cache", () => cached.verify(token)),
    await measure("HS256 verify: jose.jwtVerify", () =>
      jose.jwtVerify(token, joseKey, { issuer: iss, audience: aud, algorithms: ["HS256"] }),
    ),
    await measure("HS256 verify: fast-jwt (no cache)", () => fastNoCache(token)),
    await measure("HS256 verify: fast-jwt (cache)", () => fastCache(token)),
    await measure("HS256 verify: jsonwebtoken", () =>
      jsonwebtoken.verify(token, secret, { algorithms: ["HS256"], issuer: iss, audience: aud }),
    ),
    await measure("HS256 sign: sessionkit", () => ours.sign(claims)),
    await measure("HS256 sign: fast-jwt", () => fastSigner(claims)),
    await measure("HS256 sign: jsonwebtoken", () =>
      jsonwebtoken.sign(claims, secret, { algorithm: "HS256" }),
    ),
  ];
  for (const alg of ["EdDSA", "ES256", "RS256"]) {
    const s = generateKeySet(alg, `bench-${alg}`);
    const t = createJwtSigner(s).sign(claims);
    const v = createJwtVerifier(s, { issuer: iss, audience: aud });
    const pub = await jose.importJWK({ ...s.keys[0], d: undefined }, alg);
    rows.push(await measure(`${alg} verify: sessionkit`, () => v.verify(t)));
    rows.push(
      await measure(`${alg} verify: jose.jwtVerify`, () =>
        jose.jwtVerify(t, pub, { issuer: iss, audience: aud }),
      ),
    );
  }
  return rows;
}
