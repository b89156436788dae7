import type { JsonObject, StoredSession } from "../stores/types.js";
import { boundJkt, deviceBound } from "./binding.js";
import { readCredential } from "./credentials.js";
import { deviceRefuses } from "./device-bound.js";
import { type DpopRefusal, dpopVerdict } from "./dpop.js";
import type { RawAuthResult } from "./hot-path.js";
import { asStoreError, type Internals } from "./internals.js";
import { renewOpaqueToken, type VerifiedToken, verifyOpaqueToken } from "./strategies/id.js";
import { tokenHeaders } from "./token-headers.js";
import type { AuthenticateOptions, FailureReason, RequestLike, Transport } from "./types.js";

export function createAuthenticator<Data extends JsonObject>(ix: Internals<Data>) {
  const { o, reader, cache, storeCall, toSession } = ix;
  const { store, clock, cookies, lifetimes } = o;
  const cookieName = cookies.names.session;

  const fail = (reason: FailureReason, transport: Transport | null, dpop?: DpopRefusal) =>
    ({
      session: null,
      // A secret replaced by a renewal comes back late from a request sent before it (a
      // prefetch, a slow tab): the browser already holds the successor, which clearing the
      // cookie in this answer would delete, signing a live session out.
      ...ix.failure(reason, transport, reason === "reused" ? [] : [cookieName], dpop),
      renewedToken: null,
    }) as const;

  const headersFor = tokenHeaders(cookies, cookieName);

  /**
   * Renewal (a new secret after `renewal`) and sliding expiry (a touch at most once per
   * `idle/10`). Returns the record as it now stands and the token to hand back, if any, or
   * the reason the store no longer honours the token.
   */
  const housekeeping = async (
    verified: VerifiedToken,
    now: number,
    device: boolean,
  ): Promise<
    | { record: StoredSession; replacement: string | null; refused: null }
    | { refused: FailureReason }
  > => {
    let record = verified.record;
    let replacement = verified.replacement;
    const slid = Math.min(now + lifetimes.idle, record.absoluteExpiresAt);
    // A device-bound session is renewed by its key's proofs only (`device-bound.ts`).
    const renew = verified.current && !device && now - record.renewedAt >= lifetimes.renewal;
    if (renew) {
      const mark = cache?.mark();
      const renewed = await storeCall(() =>
        renewOpaqueToken(store, reader, verified, now, lifetimes.grace, slid),
      );
      // A lost swap with a secret the store no longer honours: the verified record was a
      // cached copy from before a renewal made elsewhere. Serving or re-caching it would keep
      // the replaced token alive here past its grace.
      if (renewed.refused) return { refused: renewed.refused };
      record = renewed.record;
      replacement = renewed.token;
      // After a lost swap the record was re-read, and cached by that read.
      if (renewed.rotated) cache?.set(record, now, mark);
    }
    if (renew || now - record.lastActiveAt >= o.touchEvery) {
      const id = record.id;
      const live = await storeCall(() =>
        store.touch(id, { now, lastActiveAt: now, expiresAt: slid }),
      );
      if (!live) {
        // Gone from the store (revoked or expired) although a cached copy said otherwise.
        cache?.delete(id);
        return { refused: "unknown_session" };
      }
      record = { ...record, lastActiveAt: now, expiresAt: Math.max(record.expiresAt, slid) };
      cache?.touched(id, now, record.expiresAt);
    }
    return { record, replacement, refused: null };
  };

  async function authenticate(
    request: RequestLike,
    options?: AuthenticateOptions,
  ): Promise<RawAuthResult<Data>> {
    const now = clock();
    const credential = readCredential(request, cookieName, o.transports, ix.dpop !== null);
    if (!credential.ok) return fail(credential.reason, credential.transport);
    const { transport, token } = credential;
    let verified: Awaited<ReturnType<typeof verifyOpaqueToken>>;
    try {
      verified = await verifyOpaqueToken(reader, token, now);
    } catch (error) {
      if (o.onStoreError === "anonymous") return fail("store_unavailable", transport);
      throw asStoreError(error, store.name);
    }
    if (typeof verified === "string") return fail(verified, transport);
    if (verified.record.strategy !== o.strategy) return fail("wrong_strategy", transport);
    const refused = dpopVerdict(ix.dpop, request, credential, boundJkt(verified.record.binding));
    if (refused) return fail(refused.reason, transport, refused);
    // A device-bound cookie lives one refresh interval from the proof that renewed it, and
    // nothing but a proof renews it.
    const device = deviceBound(verified.record.binding);
    if (deviceRefuses(o.deviceBound, lifetimes.grace, verified.record, transport, now)) {
      return fail("device_unproven", transport);
    }
    const read = ix.readData(verified.record);
    const data = read instanceof Promise ? await read : read;
    if (data === null) return fail("invalid_data", transport);
    let session = toSession(verified.record, transport, data);
    if (transport === "cookie" && !ix.csrf(request, session.id)) return fail("csrf", transport);

    let record = verified.record;
    let replacement = verified.replacement;
    // Most requests neither renew nor slide: they skip the housekeeping call altogether, and a
    // read-only one never does (its caller could not hand a renewed token to the client).
    const due =
      options?.readOnly !== true &&
      ((verified.current && !device && now - record.renewedAt >= lifetimes.renewal) ||
        now - record.lastActiveAt >= o.touchEvery);
    if (due) {
      try {
        const kept = await housekeeping(verified, now, device);
        if (kept.refused) return fail(kept.refused, transport);
        ({ record, replacement } = kept);
      } catch (error) {
        // The request itself is authenticated; a failed housekeeping write denies it only
        // when the operator chose to fail closed on store errors.
        if (o.onStoreError === "fail-closed") throw error;
      }
      if (record !== verified.record) session = toSession(record, transport, data);
    }
    return {
      session,
      failure: null,
      headers: replacement
        ? headersFor(replacement, transport, record.absoluteExpiresAt, now)
        : null,
      renewedToken: transport === "header" ? replacement : null,
    };
  }

  return { authenticate, tokenHeaders: headersFor };
}
