import { randomBytes } from "node:crypto";
import { findAuthCookie } from "../cookies/parse.js";
import {
  CHALLENGE_HEADER,
  challengeHeader,
  type DbscAlgorithm,
  REGISTRATION_HEADER,
  readProof,
  readSessionIdentifier,
  registrationHeader,
} from "../dbsc/headers.js";
import { sessionInstructions } from "../dbsc/instructions.js";
import { verifyRefreshProof, verifyRegistrationProof } from "../dbsc/proof.js";
import { createNonces } from "../pop/nonce.js";
import type { JsonObject, StoredSession } from "../stores/types.js";
import { deviceBound, readBinding, writeBinding } from "./binding.js";
import type { Internals } from "./internals.js";
import { swapSecret, verifyOpaqueToken } from "./strategies/id.js";
import type { RequestLike } from "./types.js";

/** DBSC settings after validation (`options.deviceBound`). */
export interface DeviceBoundSettings {
  registrationPath: string;
  refreshPath: string;
  /** How long a bound session cookie lives before the browser must prove its key again. */
  refreshInterval: number;
  algorithms: readonly DbscAlgorithm[];
  /** Key of the challenges (shared by instances that share the keys). */
  challengeKey: Buffer;
}

/**
 * Whether a DBSC-bound record's cookie must be refused: presented other than as a cookie,
 * with device binding off (a binding never stops counting), or older than its refresh
 * interval (plus the grace) since the proof that renewed it. One rule for `authenticate` and
 * for what a request proves at sign-out and sign-in.
 */
export function deviceRefuses(
  settings: DeviceBoundSettings | null,
  graceMs: number,
  record: StoredSession,
  transport: "cookie" | "header",
  now: number,
): boolean {
  if (!deviceBound(record.binding)) return false;
  if (transport !== "cookie" || !settings) return true;
  return now - record.renewedAt > settings.refreshInterval + graceMs;
}

/** How long a challenge verifies: a registration must follow its sign-in within it. */
const CHALLENGE_LIFETIME = 5 * 60_000;

/** What the registration and refresh endpoints answer; the adapters send it as it is. */
export interface DeviceAnswer {
  status: 200 | 400 | 401 | 403 | 404;
  headers: Headers;
  /** JSON text (session instructions or a problem), or `null` for an empty body. */
  body: string | null;
}

/** Why a device binding failed, for `onDeviceBindingFailure` (logs; never sent). */
export interface DeviceBindingFailure {
  stage: "registration" | "refresh";
  sessionId: string | null;
  reason: string;
}

const json = (
  status: DeviceAnswer["status"],
  body: unknown,
  headers = new Headers(),
  type = "application/json",
) => {
  headers.set("content-type", type);
  headers.set("cache-control", "no-store");
  return { status, headers, body: JSON.stringify(body) };
};

/** An RFC 9457 problem answer, as every other refusal (a DBSC client reads only the headers). */
export const problemAnswer = (
  status: DeviceAnswer["status"],
  title: string,
  code: string,
  headers = new Headers(),
): DeviceAnswer =>
  json(status, { type: "about:blank", title, status, code }, headers, "application/problem+json");

/**
 * Device Bound Session Credentials (W3C webappsec-dbsc) for the `id` session cookie or the
 * `hybrid` refresh cookie: at sign-in the browser is asked to make a key it cannot export and
 * register it; from then on that cookie lives `refreshInterval` only, and the browser renews
 * it by signing a challenge with that key. A copied cookie dies with its short life and cannot be renewed
 * elsewhere; a session whose browser does not register works as before.
 */
export function createDeviceBinding<Data extends JsonObject>(
  ix: Internals<Data>,
  settings: DeviceBoundSettings,
  /**
   * `hybrid`: the session a registration request's cookies prove (its access or binding
   * cookie: the refresh cookie goes to the refresh route only), or null.
   */
  hybridSession: ((request: RequestLike, now: number) => Promise<string | null>) | null = null,
) {
  const { o, reader } = ix;
  const { store, clock, cookies, lifetimes } = o;
  // The bound cookie: `id`'s session cookie, or `hybrid`'s refresh cookie (the long-lived
  // credential; its access tokens live minutes by themselves).
  const hybrid = o.strategy === "hybrid";
  const cookieName = hybrid ? cookies.names.refresh : cookies.names.session;
  const instructionsFor = sessionInstructions({
    refreshUrl: settings.refreshPath,
    cookies: [{ name: cookieName, attributes: hybrid ? cookies.refresh : cookies.auth }],
  });

  /** The record a registration request proves, with its current secret checked for `id`. */
  const registering = async (request: RequestLike, now: number) => {
    if (hybridSession) {
      const id = await hybridSession(request, now);
      const record = id ? await ix.storeCall(() => reader.fresh(id, now)) : null;
      return record ?? "no session";
    }
    const cookie = findAuthCookie(request.headers.get("cookie"), cookieName);
    if (cookie.status !== "found") return "no session cookie";
    const verified = await ix.storeCall(() => verifyOpaqueToken(reader, cookie.value, now));
    if (typeof verified === "string" || !verified.current) {
      return `session cookie refused: ${String(verified)}`;
    }
    return verified.record;
  };

  /**
   * Challenges are bound to one session and one use of it: their MAC covers the session id
   * and whether they are for its registration or its refresh, so a challenge issued to one
   * session (a thief's own sign-in) proves nothing for another.
   */
  const challenges = (stage: "register" | "refresh", sessionId: string, ahead = 0) =>
    createNonces({
      key: settings.challengeKey,
      lifetimeMs: CHALLENGE_LIFETIME,
      clock: ahead ? () => clock() + ahead : clock,
      purpose: `dbsc-${stage}:${sessionId}`,
    });
  /** When a challenge was issued for this session and stage, or null if it was not. */
  const issuedAt = (challenge: string, stage: "register" | "refresh", sessionId: string) => {
    const expires = challenges(stage, sessionId).expiresAt(challenge);
    return expires === null ? null : expires - CHALLENGE_LIFETIME;
  };

  const failed = (
    stage: DeviceBindingFailure["stage"],
    sessionId: string | null,
    reason: string,
    status: 400 | 401,
  ): DeviceAnswer => {
    const handler = o.events.onDeviceBindingFailure;
    if (handler) {
      try {
        handler({ stage, sessionId, reason });
      } catch {
        // an observer must not break the answer
      }
    }
    return problemAnswer(status, "Device binding refused", "device_binding_failed");
  };

  /**
   * A new secret for a record, swapped on its current one. The successor is sealed under a
   * secret nobody holds: a request still carrying the old cookie works for the grace (a tab's
   * request in flight) but cannot learn the new cookie, which goes only to whoever proved the
   * key (or, at registration, registered it).
   */
  const rotate = async (record: StoredSession, now: number) => {
    const current = record.secretHash;
    if (current === null) return null;
    const nobody = randomBytes(32).toString("base64url");
    const swap = {
      now,
      graceUntil: now + lifetimes.grace,
      expiresAt: Math.min(now + lifetimes.idle, record.absoluteExpiresAt),
      keepRetired: 0,
    };
    const rotated = await ix.storeCall(() => swapSecret(store, record, current, nobody, swap));
    ix.cache?.delete(record.id);
    return rotated;
  };

  /**
   * A successful answer: the fresh cookie, the instructions, and the challenge for the next
   * refresh (the browser signs it then without asking first: one round trip fewer).
   */
  const renewedAnswer = (token: string, record: StoredSession, now: number) => {
    const headers = new Headers({
      "set-cookie": boundCookie(token, record, now),
      // Stamped past the renewal it follows, so that it counts as issued after it.
      [CHALLENGE_HEADER]: challengeHeader(
        challenges("refresh", record.id, Math.max(1, record.renewedAt + 1 - clock())).issue(),
        record.id,
      ),
    });
    return json(200, instructionsFor(record.id), headers);
  };

  /** The bound cookie, living one refresh interval (never past the session). */
  const boundCookie = (token: string, record: StoredSession, now: number) =>
    cookies.set(
      cookieName,
      token,
      Math.min(settings.refreshInterval, record.absoluteExpiresAt - now),
    );

  return {
    settings,

    /** The `Secure-Session-Registration` header a cookie sign-in answers with. */
    registrationHeaders(headers: Headers, sessionId: string): void {
      headers.set(
        REGISTRATION_HEADER,
        registrationHeader({
          algorithms: settings.algorithms,
          path: settings.registrationPath,
          challenge: challenges("register", sessionId).issue(),
        }),
      );
    },

    /** Whether a record is bound to a device, and its cookie must be renewed by proof only. */
    isBound: (record: StoredSession) => readBinding(record.binding)?.kind === "dbsc",

    boundCookie,

    /**
     * The registration endpoint: the browser posts the proof of its new key with the session
     * cookie; the session is bound to the key (once, for good) and gets a fresh short-lived
     * cookie and the session instructions.
     */
    async register(request: RequestLike): Promise<DeviceAnswer> {
      const now = clock();
      const record = await registering(request, now);
      if (typeof record === "string") return failed("registration", null, record, 401);
      if (record.strategy !== o.strategy) {
        return failed("registration", record.id, "another strategy's session", 400);
      }
      if (record.binding !== null) return failed("registration", record.id, "already bound", 400);
      const proof = readProof(request);
      if (proof === null) return failed("registration", record.id, "no proof", 400);
      // Only with the challenge of this session's own sign-in, within its life: a cookie
      // copied later cannot be registered to someone else's key. Single use: bind is once.
      if (now - record.createdAt > CHALLENGE_LIFETIME) {
        return failed("registration", record.id, "registration window over", 400);
      }
      const checked = await verifyRegistrationProof(proof, {
        challenge: (jti) => issuedAt(jti, "register", record.id) !== null,
        algorithms: settings.algorithms,
      });
      if (!checked.ok) return failed("registration", record.id, checked.code, 400);
      const binding = writeBinding({ kind: "dbsc", jkt: checked.jkt, jwk: checked.jwk });
      const bound = await ix.storeCall(() =>
        store.bind ? store.bind(record.id, binding, now) : Promise.resolve("missing" as const),
      );
      if (bound !== "bound") return failed("registration", record.id, `bind: ${bound}`, 400);
      // A new secret, so that the cookie that went with the unbound session stops counting
      // once its grace ends: from here on only cookies renewed by proof do.
      const renewed = await rotate({ ...record, binding }, now);
      if (!renewed) return failed("registration", record.id, "renewal lost a race", 400);
      return renewedAnswer(renewed.token, renewed.record, now);
    },

    /**
     * The refresh endpoint: without a proof, a challenge (403); with a proof from the bound
     * key answering it, a fresh short-lived cookie. Nothing else renews a bound cookie.
     */
    async refresh(request: RequestLike): Promise<DeviceAnswer> {
      const now = clock();
      const sessionId = readSessionIdentifier(request);
      if (sessionId === null) return failed("refresh", null, "no session identifier", 400);
      const record = await ix.storeCall(() => reader.fresh(sessionId, now));
      const binding = record ? readBinding(record.binding) : null;
      if (!record || binding?.kind !== "dbsc" || record.strategy !== o.strategy) {
        return failed("refresh", sessionId, "no device-bound session", 401);
      }
      const proof = readProof(request);
      // The challenge (the header is what the browser reads; the body, problem details as
      // every refusal, is for anyone else).
      const challenge = (): DeviceAnswer =>
        problemAnswer(
          403,
          "Device proof required",
          "device_proof_required",
          new Headers({
            [CHALLENGE_HEADER]: challengeHeader(
              challenges("refresh", sessionId).issue(),
              sessionId,
            ),
          }),
        );
      if (proof === null) return challenge();
      // A challenge of this session's refresh, issued after its last renewal: each renews
      // once (the renewal moves renewedAt past it), with no cache that others could fill.
      const fresh = (jti: string) => {
        const at = issuedAt(jti, "refresh", sessionId);
        return at !== null && at > record.renewedAt;
      };
      const checked = await verifyRefreshProof(proof, {
        key: binding.jwk,
        challenge: fresh,
        algorithms: settings.algorithms,
      });
      // Chrome refreshing ahead of time re-sends a proof it already used, and deletes its
      // session on any 4xx but a challenge: a spent or expired challenge gets a fresh one.
      if (
        !checked.ok &&
        (checked.code === "wrong_challenge" || checked.code === "replayed_challenge")
      ) {
        return challenge();
      }
      if (!checked.ok) return failed("refresh", sessionId, checked.code, 401);
      // renewedAt moves past the answered challenge's stamp and never back, whatever the
      // clocks of the instances that issued and renew: a challenge stamped by a faster peer
      // would otherwise stay "after the last renewal" and renew again.
      const issued = issuedAt(checked.challenge, "refresh", sessionId) ?? now;
      const stamp = Math.max(now, issued + 1, record.renewedAt + 1);
      const rotated = await rotate(record, stamp);
      if (!rotated) return failed("refresh", sessionId, "rotation lost a race", 401);
      return renewedAnswer(rotated.token, rotated.record, now);
    },
  };
}

export type DeviceBinding = ReturnType<typeof createDeviceBinding>;
