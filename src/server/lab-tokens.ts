import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import {
  type AuthResult,
  createSessionManager,
  generateKeySet,
  type SessionManager,
  type StrategyName,
} from "../index.js";
import { memoryStore } from "../stores/memory/index.js";

const ISSUER = "urn:sessionkit:lab";
const audience = (strategy: StrategyName) => `${ISSUER}:${strategy}`;
const LAB_LIFETIME_MS = 10 * 60_000;

/**
 * The storage lab's tokens: one session manager per strategy, of the same kind as the user's
 * own session (an opaque token for `id`, a JWT for `jwt`, an access JWT for `hybrid`), so that
 * a stolen copy behaves as a stolen token of that strategy would. Each is a session of its own
 * (header transport, this process's memory, its own keys and audience, ten minutes) that
 * only the lab's route accepts. DPoP is on: the bound row's copies prove a key.
 */
export function labManagers(
  strategies: StrategyName[],
  accessLifetimeMs: number,
): Partial<Record<StrategyName, SessionManager>> {
  const keys = generateKeySet();
  const common = {
    transports: ["header" as const],
    lifetimes: {
      idle: LAB_LIFETIME_MS,
      absolute: LAB_LIFETIME_MS,
      renewal: LAB_LIFETIME_MS,
      access: Math.min(accessLifetimeMs, LAB_LIFETIME_MS),
    },
    maxSessionsPerUser: 2,
    cleanup: false as const,
    dpop: {},
  };
  const out: Partial<Record<StrategyName, SessionManager>> = {};
  for (const strategy of strategies) {
    const signed = strategy === "id" ? {} : { keys, issuer: ISSUER, audience: audience(strategy) };
    out[strategy] = createSessionManager({ ...common, ...signed, strategy, store: memoryStore() });
  }
  return out;
}

/** The strategy whose lab token a request presents: a JWT names it in its audience. */
function labStrategyOf(authorization: string | null): StrategyName {
  const token = authorization?.slice(authorization.indexOf(" ") + 1) ?? "";
  const payload = token.split(".")[1];
  if (token.split(".").length !== 3 || !payload) return "id";
  try {
    const aud: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).aud;
    return aud === audience("hybrid") ? "hybrid" : "jwt";
  } catch {
    return "jwt";
  }
}

/** Authenticates a lab token with the lab manager of its strategy. */
export function labAuthenticate(
  labs: Partial<Record<StrategyName, SessionManager>>,
  request: Request,
): Promise<AuthResult> {
  const manager = labs[labStrategyOf(request.headers.get("authorization"))] ?? labs.id;
  // mountLab makes one per strategy the server serves, and never none.
  return (manager ?? (Object.values(labs)[0] as SessionManager)).authenticate(request);
}

/** When a JWT ends (its `exp`), or `null` for an opaque token. */
export function tokenExpiry(token: string): Date | null {
  const payload = token.split(".")[1];
  if (token.split(".").length !== 3 || !payload) return null;
  try {
    const exp: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")).exp;
    return typeof exp === "number" && Number.isFinite(exp) ? new Date(exp * 1000) : null;
  } catch {
    return null;
  }
}

/** A DPoP proof for `url` from a key the attacker made: valid in itself, for another key. */
export function attackerProof(url: string, token: string): string {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "ES256", typ: "dpop+jwt", jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })}.${part(
    {
      jti: randomUUID(),
      htm: "GET",
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: createHash("sha256").update(token).digest("base64url"),
    },
  )}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}
