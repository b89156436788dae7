import { createHmac, timingSafeEqual } from "node:crypto";
import { findAuthCookie } from "../../cookies/parse.js";
import type { JsonObject, StoredSession } from "../../stores/types.js";
import { encodeBase64url } from "../../tokens/base64url.js";
import { type generateOpaqueToken, isSessionId } from "../../tokens/opaque.js";
import { boundJkt, deviceBound } from "../binding.js";
import { deviceRefuses } from "../device-bound.js";
import { type DpopRefusal, dpopVerdict } from "../dpop.js";
import { publicUserId } from "../guest.js";
import type { Internals } from "../internals.js";
import type { FailureReason, RefreshResult, RequestLike, Transport } from "../types.js";
import { renewOpaqueToken, verifyOpaqueToken } from "./id.js";
import type { createJwtSessions } from "./jwt-session.js";
import { RETIRED_KEPT } from "./retired.js";

/**
 * The `hybrid` strategy's refresh: the opaque refresh token is rotated on every use in one
 * compare-and-swap; callers that lost the race within the grace get the same successor; a
 * replaced token presented after its grace, the last one or any of the `RETIRED_KEPT` before
 * it, is reuse, and revokes the whole session.
 */
export function createRefresher<Data extends JsonObject>(
  ix: Internals<Data>,
  access: ReturnType<typeof createJwtSessions<Data>>,
) {
  const { o, storeCall, toSession, emit, revoked } = ix;
  const { store, clock, cookies, lifetimes } = o;
  // Refresh reads the store itself, never a cache: rotation must see the current secret.
  const read = store.get.bind(store);
  const reader = { get: read, fresh: read };

  /**
   * The binding cookie's value: the session id and a MAC of it (the CSRF key, its own label).
   * It is the same for the whole session, so that tabs never race over it, and only this
   * server can make one; a sibling host cannot set a `__Host-` cookie at all.
   */
  const bindingMac = (sessionId: string) =>
    createHmac("sha256", o.csrfKey)
      .update("sessionkit-refresh-binding\0")
      .update(sessionId)
      .digest();
  const bindingFor = (sessionId: string) =>
    `${sessionId}.${encodeBase64url(bindingMac(sessionId))}`;

  /** The session a binding cookie value was issued for, or `null`. Never throws. */
  const boundSession = (value: string): string | null => {
    const dot = value.indexOf(".");
    const sessionId = value.slice(0, dot);
    if (dot < 0 || value.length > 128 || !isSessionId(sessionId)) return null;
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(encodeBase64url(bindingMac(sessionId)));
    return given.length === expected.length && timingSafeEqual(given, expected) ? sessionId : null;
  };

  /** The session the request's binding cookie names, verified, for sign-out. */
  const boundSessionId = (request: RequestLike): string | null => {
    const found = findAuthCookie(request.headers.get("cookie"), cookies.names.refreshBinding);
    return found.status === "found" ? boundSession(found.value) : null;
  };

  const fail = (
    reason: FailureReason,
    transport: Transport | null,
    dpop?: DpopRefusal,
  ): RefreshResult<Data> => {
    // The binding goes with the refresh cookie: kept, it would go on naming the session to
    // every path (sign-out accepts it) for the rest of its absolute lifetime.
    const { failure, headers } = ix.failure(
      reason,
      transport,
      [cookies.names.refresh, cookies.names.access, cookies.names.refreshBinding],
      dpop,
    );
    headers.set("cache-control", "no-store");
    return { session: null, failure, headers, accessToken: null, refreshToken: null };
  };

  /** Both tokens of a session as response headers (cookies) and strings (bodies). */
  const issue = (
    record: StoredSession,
    refreshToken: string,
    transport: Transport,
    now: number,
    refreshCookie = true,
  ) => {
    const { token, headers } = access.issue(record, transport, now);
    // A device-bound refresh cookie keeps the short life its proof gave it: not set again.
    if (transport === "cookie" && refreshCookie) {
      const maxAge = record.absoluteExpiresAt - now;
      headers.append("set-cookie", cookies.set(cookies.names.refresh, refreshToken, maxAge));
      headers.append(
        "set-cookie",
        cookies.set(cookies.names.refreshBinding, bindingFor(record.id), maxAge),
      );
    }
    return { accessToken: token, refreshToken, headers };
  };

  async function refresh(
    request: RequestLike,
    input: { refreshToken?: string } = {},
  ): Promise<RefreshResult<Data>> {
    const now = clock();
    const fromBody = typeof input.refreshToken === "string";
    const transport: Transport = fromBody ? "header" : "cookie";
    const cookie = fromBody
      ? null
      : findAuthCookie(request.headers.get("cookie"), cookies.names.refresh);
    if (cookie?.status === "ambiguous") return fail("ambiguous_cookie", transport);
    const token = fromBody
      ? input.refreshToken
      : cookie?.status === "found"
        ? cookie.value
        : undefined;
    if (token === undefined) return fail("missing", null);
    if (!fromBody) {
      // A refresh cookie planted by a sibling host comes without the __Host- binding of the
      // browser it was issued to: refused before the store sees it, so that it neither signs
      // this browser in nor rotates anything.
      const binding = findAuthCookie(request.headers.get("cookie"), cookies.names.refreshBinding);
      if (binding.status === "ambiguous") return fail("ambiguous_cookie", transport);
      const bound = binding.status === "found" ? boundSession(binding.value) : null;
      if (bound === null || bound !== token.slice(0, token.indexOf(".")))
        return fail("unbound_refresh", transport);
    }
    const verified = await storeCall(() => verifyOpaqueToken(reader, token, now));
    if (verified === "reused") {
      // A replaced refresh token came back after its grace, however many rotations ago (up to
      // RETIRED_KEPT + 1): someone holds a copy. End it all, if it is a refresh token: an `id`
      // session remembers its renewed-away secret too, and its old token must not end it here.
      const id = token.slice(0, token.indexOf("."));
      const owner = await storeCall(() => read(id, now));
      if (owner && owner.strategy !== "hybrid") return fail("wrong_strategy", transport);
      // A copy of a DPoP-bound refresh token could never have been used: without a proof from
      // its key it revokes nothing (or anyone holding a stale copy could end the session).
      // A stale copy of a device-bound refresh token is as harmless: it can renew nothing.
      if (owner && deviceBound(owner.binding)) return fail("device_unproven", transport);
      const ownerJkt = owner ? boundJkt(owner.binding) : null;
      if (ownerJkt !== null) {
        const credential = { transport, scheme: "dpop" as const, token };
        const refused = dpopVerdict(ix.dpop, request, credential, ownerJkt, false);
        if (refused) return fail(refused.reason, transport, refused);
      }
      const gone = await storeCall(() => store.delete(id, "reuse"));
      if (gone) {
        revoked(gone, "reuse");
        emit("onRefreshReuse", { sessionId: gone.id, userId: publicUserId(gone.userId) });
      }
      return fail("reused", transport);
    }
    if (typeof verified === "string") return fail(verified, transport);
    if (verified.record.strategy !== "hybrid") return fail("wrong_strategy", transport);
    // A DPoP-bound refresh token rotates only with a proof from its key (RFC 9449 §5: no
    // `ath`, the token travels in the body); where DPoP is required, unbound ones not at all.
    const jkt = boundJkt(verified.record.binding);
    if (jkt !== null || (ix.dpop?.settings.required && transport === "header")) {
      const credential = { transport, scheme: "dpop" as const, token };
      const refused = dpopVerdict(ix.dpop, request, credential, jkt, false);
      if (refused) return fail(refused.reason, transport, refused);
    }
    // DBSC: the refresh cookie is the bound one; it counts for one refresh interval from the
    // proof that renewed it, and only a proof renews it (device-bound.ts): no rotation here.
    const device = deviceBound(verified.record.binding);
    if (device && deviceRefuses(o.deviceBound, lifetimes.grace, verified.record, transport, now)) {
      return fail("device_unproven", transport);
    }
    if (transport === "cookie" && !ix.csrf(request, verified.record.id)) {
      return fail("csrf", transport);
    }
    const slid = Math.min(now + lifetimes.idle, verified.record.absoluteExpiresAt);
    let record = verified.record;
    let next = device ? token : verified.replacement;
    if (verified.current && !device) {
      const renewed = await storeCall(() =>
        renewOpaqueToken(store, reader, verified, now, lifetimes.grace, slid, RETIRED_KEPT),
      );
      record = renewed.record;
      next = renewed.token;
    }
    if (!next) return fail("bad_secret", transport);
    // Revoked since it was read: its revocation carries the older expiry, which a new access
    // token could outlive.
    const touch = { now, lastActiveAt: now, expiresAt: slid };
    if (!(await storeCall(() => store.touch(record.id, touch)))) return fail("revoked", transport);
    record = { ...record, lastActiveAt: now, expiresAt: Math.max(record.expiresAt, slid) };
    // Bound meanwhile (a registration racing this refresh): no long-lived refresh cookie.
    const issued = issue(record, next, transport, now, !device && !deviceBound(record.binding));
    return { session: toSession(record, transport, record.data as Data), failure: null, ...issued };
  }

  /** The first pair of a new hybrid session. */
  function start(
    record: StoredSession,
    secret: ReturnType<typeof generateOpaqueToken>,
    transport: Transport,
    now: number,
  ) {
    return issue(record, secret.token, transport, now);
  }

  return { refresh, start, boundSessionId };
}
