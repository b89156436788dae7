import { findAuthCookie } from "../cookies/parse.js";
import type { JsonObject } from "../stores/types.js";
import { boundJkt, deviceBound } from "./binding.js";
import { readCredential } from "./credentials.js";
import { deviceRefuses } from "./device-bound.js";
import { presentedVerdict } from "./dpop.js";
import type { Parts } from "./parts.js";
import { verifyOpaqueToken } from "./strategies/id.js";
import type { RequestLike, Transport } from "./types.js";

/** A session a request proves it holds, and how it came. */
export interface Presented {
  id: string;
  transport: Transport;
}

/**
 * What sign-in and sign-out end: the session a request proves it holds, and whether the
 * request may end it.
 */
export function createPresented<Data extends JsonObject>({
  ix,
  jwt,
  refresher,
  cookieName,
}: Parts<Data>) {
  const { o, reader, storeCall } = ix;
  const { cookies, lifetimes } = o;

  /**
   * The session a request proves it holds, and how, verified without `authenticate`'s side
   * effects. An access token lapsed less than its lifetime ago still counts: this only ever
   * ends a session.
   */
  const presented = async (
    request: RequestLike,
    now: number,
    provenJkt: string | null = null,
  ): Promise<Presented | null> => {
    if (jwt) {
      const found = jwt.presentedSessionId(request, provenJkt);
      if (found || !refresher) return found;
      // hybrid: the access cookie may be gone (a 401 clears it); the binding cookie goes to
      // every path, and a client may present its refresh cookie.
      // The binding cookie names its session for the whole absolute lifetime: it proves a
      // device-bound session on its own no more than a lapsed refresh cookie would.
      const bound = refresher.boundSessionId(request);
      const named = bound ? await storeCall(() => reader.fresh(bound, now)) : null;
      if (bound && !(named && deviceBound(named.binding)))
        return { id: bound, transport: "cookie" };
      const rt = findAuthCookie(request.headers.get("cookie"), cookies.names.refresh);
      if (rt.status !== "found") return null;
      const verified = await storeCall(() => verifyOpaqueToken(reader, rt.value, now));
      // A token of another strategy's session in the refresh cookie proves nothing here.
      if (typeof verified === "string" || verified.record.strategy !== o.strategy) return null;
      // A DPoP-bound refresh token, copied into a cookie, proves nothing without its key.
      const credential = { transport: "header" as const, scheme: "dpop" as const, token: rt.value };
      const jkt = boundJkt(verified.record.binding);
      if (jkt !== null && presentedVerdict(ix.dpop, request, credential, jkt, provenJkt, false)) {
        return null;
      }
      if (deviceRefuses(o.deviceBound, lifetimes.grace, verified.record, "cookie", now)) {
        return null;
      }
      return { id: verified.record.id, transport: "cookie" };
    }
    const credential = readCredential(request, cookieName, o.transports, ix.dpop !== null);
    if (!credential.ok) return null;
    const found = await storeCall(() => verifyOpaqueToken(reader, credential.token, now));
    if (typeof found === "string" || found.record.strategy !== o.strategy) return null;
    const { record } = found;
    // A bound token proves its session only as it would authenticate: DPoP with a proof
    // from its key, a device-bound cookie within its interval.
    const jkt = boundJkt(record.binding);
    if (presentedVerdict(ix.dpop, request, credential, jkt, provenJkt)) return null;
    if (deviceRefuses(o.deviceBound, lifetimes.grace, record, credential.transport, now)) {
      return null;
    }
    return { id: record.id, transport: credential.transport };
  };

  /**
   * Whether a request may end the session it proves: over a header, yes; over a cookie, only
   * a safe method or with same-origin proof for that session (the CSRF rule).
   */
  const endsByRequest = (request: RequestLike, found: Presented) =>
    found.transport !== "cookie" || ix.csrf(request, found.id);

  return { presented, endsByRequest };
}

export type PresentedCheck = ReturnType<typeof createPresented>;
