// JWT sign and verify: sessionkit's codec against jose, fast-jwt (with and without its cache)
// and jsonwebtoken, on the same HS256 key, token and claims checks, in this process. Several
// interleaved rounds (every case once per round, every other round in reverse order): each
// row is the median round, and a speed-up is the median of its per-round ratios, so that one
// noisy moment of the machine does not decide it.
import { createSigner, createVerifier } from "fast-jwt";
import * as jose from "jose";
import jsonwebtoken from "jsonwebtoken";
import {
  cachedVerifier,
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
} from "../dist/tokens/index.js";
import { measure, median, pairedRatio, summary } from "./measure.js";
import { JWT_RATIOS, ratioRow } from "./targets.js";

export async function runJwt({ rounds = 7, ms = 300 } = {}) {
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

  // Without a cache, each verification gets another token of the same key and header (as a
  // server sees them: one per session), so that no library is timed on a token it has just
  // seen; the cached variants get one token, their cache's best case.
  const tokens = Array.from({ length: 1024 }, (_, i) =>
    ours.sign({ ...claims, sub: `u${i}`, sid: `s${i}`, jti: `j${i}` }),
  );
  let n = 0;
  const next = () => tokens[n++ & 1023];
  // sessionkit answers a refusal instead of throwing: a refused token is an error here, so that
  // a fast failure is never timed as a fast verification.
  const ok = (result) => {
    if (!result.ok) throw new Error(`sessionkit refused a benchmark token: ${result.reason}`);
    return result;
  };

  // Each verifier must accept the tokens it is timed on.
  for (const t of [token, ...tokens]) {
    ok(verifier.verify(t));
    await jose.jwtVerify(t, joseKey, { issuer: iss, audience: aud, algorithms: ["HS256"] });
    fastNoCache(t);
    jsonwebtoken.verify(t, secret, { algorithms: ["HS256"], issuer: iss, audience: aud });
  }

  const cases = [
    ["HS256 verify: sessionkit", () => ok(verifier.verify(next()))],
    ["HS256 verify: sessionkit with verified-token cache", () => ok(cached.verify(token))],
    [
      "HS256 verify: jose.jwtVerify",
      () => jose.jwtVerify(next(), joseKey, { issuer: iss, audience: aud, algorithms: ["HS256"] }),
    ],
    ["HS256 verify: fast-jwt (no cache)", () => fastNoCache(next())],
    ["HS256 verify: fast-jwt (cache)", () => fastCache(token)],
    [
      "HS256 verify: jsonwebtoken",
      () =>
        jsonwebtoken.verify(next(), secret, { algorithms: ["HS256"], issuer: iss, audience: aud }),
    ],
    ["HS256 sign: sessionkit", () => ours.sign(claims)],
    ["HS256 sign: fast-jwt", () => fastSigner(claims)],
    ["HS256 sign: jsonwebtoken", () => jsonwebtoken.sign(claims, secret, { algorithm: "HS256" })],
  ];
  for (const alg of ["EdDSA", "ES256", "RS256"]) {
    const s = generateKeySet(alg, `bench-${alg}`);
    const t = createJwtSigner(s).sign(claims);
    const v = createJwtVerifier(s, { issuer: iss, audience: aud });
    const pub = await jose.importJWK({ ...s.keys[0], d: undefined }, alg);
    cases.push([`${alg} verify: sessionkit`, () => ok(v.verify(t))]);
    cases.push([
      `${alg} verify: jose.jwtVerify`,
      () => jose.jwtVerify(t, pub, { issuer: iss, audience: aud }),
    ]);
  }

  const times = Object.fromEntries(cases.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...cases].reverse() : cases;
    // A longer warm-up the first time a case runs; later rounds only settle.
    for (const [name, fn] of order)
      times[name].push((await measure(name, fn, ms, round === 0 ? 250 : 50)).usPerOp);
  }
  const rows = cases.map(([name]) => {
    const us = summary(times[name], 2);
    return {
      name,
      opsPerSec: Math.round(1e6 / median(times[name])),
      usPerOp: us.median,
      min: us.min,
      max: us.max,
      spread: us.spread,
      rounds: times[name],
    };
  });
  const ratios = JWT_RATIOS.map(([name, peer, oursName, target]) =>
    ratioRow(name, pairedRatio(times[peer], times[oursName]), target, {
      peer,
      ours: oursName,
      rounds,
    }),
  );
  return { rows, ratios };
}
