import { randomBytes } from "node:crypto";
import type { JsonObject, StoredSession } from "../../stores/types.js";
import { encodeBase64url } from "../../tokens/base64url.js";
import { type Claims, numberClaim, objectClaim, stringClaim } from "../../tokens/claims.js";
import { createJwtSigner, createJwtVerifier } from "../../tokens/jwt.js";
import { cachedVerifier } from "../../tokens/verified-cache.js";
import { boundJkt, deviceBound } from "../binding.js";
import { readCredential } from "../credentials.js";
import { type DpopRefusal, dpopVerdict, NO_KEY, presentedVerdict } from "../dpop.js";
import { publicUserId } from "../guest.js";
import type { RawAuthResult } from "../hot-path.js";
import { asStoreError, type Internals } from "../internals.js";
import type { JwtSettings } from "../options.js";
import { RevocationSet, VERIFIER_SKEW_S } from "../revocations.js";
import { tokenHeaders } from "../token-headers.js";
import type {
  AuthenticateOptions,
  FailureReason,
  RequestLike,
  Session,
  Transport,
} from "../types.js";

const seconds = (ms: number) => Math.floor(ms / 1000);
/** The `cnf.jkt` of a token: `null` without `cnf`, a thumbprint no key has for a bad one. */
const confirmedJkt = (claims: Claims): string | null => {
  if (claims.cnf === undefined) return null;
  const cnf = objectClaim(claims, "cnf");
  const jkt = cnf === undefined ? undefined : stringClaim(cnf, "jkt");
  return jkt === undefined || jkt === "" ? NO_KEY : jkt;
};
/** A time claim this manager always signs as a number; an invalid date for any other. */
const dateClaim = (claims: Claims, name: string) =>
  new Date((numberClaim(claims, name) ?? Number.NaN) * 1000);

/**
 * Signed session tokens verified with no store read: the `jwt` strategy's one token, or the
 * `hybrid` strategy's short-lived access token (`typ: at+jwt`, renewed by the refresh token
 * instead of sliding). The store holds an inventory record per session (so that `list` and
 * `revoke` work), and revocations reach this process through the store's change feed into an
 * in-memory set.
 */
export function createJwtSessions<Data extends JsonObject>(
  ix: Internals<Data>,
  settings: JwtSettings,
) {
  const { o } = ix;
  const { store, clock, cookies, lifetimes } = o;
  const { mode, keys, issuer, audience } = settings;
  const type = mode === "jwt" ? "JWT" : "at+jwt";
  const signer = createJwtSigner(keys, { type });
  const verifier = cachedVerifier(
    createJwtVerifier(keys, {
      issuer,
      audience,
      clock,
      type,
      skew: VERIFIER_SKEW_S,
    }),
    { clock },
  );
  const tokenLifetime = mode === "jwt" ? lifetimes.idle : lifetimes.access;
  const revocations = new RevocationSet();
  revocations.follow(store, clock);
  const cookieName = mode === "jwt" ? cookies.names.jwt : cookies.names.access;

  const sign = (record: StoredSession, now: number) => {
    // A DPoP-bound session's tokens say so themselves (RFC 9449 §6.1), since they are
    // verified with no store read.
    const jkt = boundJkt(record.binding);
    // A guest's token names no subject: another service verifying it (createJwtVerifier) must
    // not take the store's owner name for a user.
    const sub = publicUserId(record.userId);
    return signer.sign({
      iss: issuer,
      aud: audience,
      ...(sub === null ? {} : { sub }),
      sid: record.id,
      jti: encodeBase64url(randomBytes(12)),
      iat: revocations.issuedAt(now),
      // Never past the record's expiry: a revocation is remembered until then (plus the skew).
      exp: seconds(Math.min(now + tokenLifetime, record.expiresAt, record.absoluteExpiresAt)),
      auth_time: seconds(record.authTime),
      created: seconds(record.createdAt),
      aexp: seconds(record.absoluteExpiresAt),
      data: record.data,
      ...(jkt === null ? {} : { cnf: { jkt } }),
      // A hybrid session whose refresh cookie is device-bound (DBSC): said for session.deviceBound.
      ...(deviceBound(record.binding) ? { dbsc: true } : {}),
    });
  };

  const fail = (
    reason: FailureReason,
    transport: Transport | null,
    dpop?: DpopRefusal,
  ): RawAuthResult<Data> => ({
    session: null,
    ...ix.failure(reason, transport, [cookieName], dpop),
    renewedToken: null,
  });

  const headersFor = tokenHeaders(cookies, cookieName);

  /** Synchronous unless the token is due to be re-issued (the one step that reads the store). */
  function authenticate(
    request: RequestLike,
    options?: AuthenticateOptions,
  ): RawAuthResult<Data> | Promise<RawAuthResult<Data>> {
    const now = clock();
    const credential = readCredential(request, cookieName, o.transports, ix.dpop !== null);
    if (!credential.ok) return fail(credential.reason, credential.transport);
    const { transport } = credential;
    const result = verifier.verify(credential.token);
    if (!result.ok)
      return fail(result.reason === "expired" ? "expired" : "invalid_token", transport);
    const c = result.claims;
    const sid = stringClaim(c, "sid");
    const sub = stringClaim(c, "sub");
    const exp = numberClaim(c, "exp");
    const aexp = numberClaim(c, "aexp");
    if (
      sid === undefined ||
      (sub === undefined && c.sub !== undefined) ||
      aexp === undefined ||
      exp === undefined
    ) {
      return fail("invalid_token", transport);
    }
    // Without recent news from the feed, a revocation could be missing here: fail closed.
    if (store.feedLag !== undefined && store.feedLag() > o.maxLag)
      return fail("revocation_stale", transport);
    // No numeric `iat`: when it was signed, and so whether a revocation came after, is unknown.
    const iat = numberClaim(c, "iat");
    if (iat === undefined || revocations.refuses(sid, iat, now)) return fail("revoked", transport);
    const refused = dpopVerdict(ix.dpop, request, credential, confirmedJkt(c));
    if (refused) return fail(refused.reason, transport, refused);
    const issuedAt = iat * 1000;
    const session: Session<Data> = {
      id: sid,
      // No subject: a guest session's token.
      userId: sub === undefined ? null : publicUserId(sub),
      strategy: mode,
      // Only an object is session data: a key shared with another issuer could put anything here.
      data: (objectClaim(c, "data") ?? {}) as Data,
      createdAt: dateClaim(c, "created"),
      lastActiveAt: new Date(issuedAt),
      expiresAt: new Date(exp * 1000),
      absoluteExpiresAt: new Date(aexp * 1000),
      authTime: dateClaim(c, "auth_time"),
      ip: null,
      userAgent: null,
      version: 0,
      transport,
      deviceBound: c.cnf !== undefined || c.dbsc === true,
    };
    if (transport === "cookie" && !ix.csrf(request, sid)) return fail("csrf", transport);
    // Sliding: past half its life, the token is re-issued (never beyond the absolute limit);
    // never for a read-only caller, which could not hand the new token over.
    if (
      options?.readOnly === true ||
      mode === "hybrid" ||
      now - issuedAt < lifetimes.idle / 2 ||
      exp >= aexp
    ) {
      return { session, failure: null, headers: null, renewedToken: null };
    }
    return reissue(session, now);
  }

  /** Re-issue: the one step of `jwt` authentication that reads the store. */
  async function reissue(session: Session<Data>, now: number): Promise<RawAuthResult<Data>> {
    const { transport } = session;
    let record: StoredSession | null;
    try {
      record = await store.get(session.id, now);
      if (record) {
        const expiresAt = Math.min(now + lifetimes.idle, record.absoluteExpiresAt);
        // A revocation that lands between the read and the touch took the record's older
        // expiry with it: a token signed now would outlive what the revocation sets remember.
        const touched = await store.touch(record.id, { now, lastActiveAt: now, expiresAt });
        record = touched ? { ...record, lastActiveAt: now, expiresAt } : null;
      }
    } catch (error) {
      if (o.onStoreError === "fail-closed") throw asStoreError(error, store.name);
      return { session, failure: null, headers: null, renewedToken: null };
    }
    if (!record) return fail("revoked", transport);
    const token = sign(record, now);
    return {
      session: {
        ...session,
        data: record.data as Data,
        expiresAt: new Date(record.expiresAt),
        lastActiveAt: new Date(now),
      },
      failure: null,
      headers: headersFor(token, transport, record.absoluteExpiresAt, now),
      renewedToken: transport === "header" ? token : null,
    };
  }

  // Sign-out must end the session even once the short-lived access token has lapsed: a token
  // with a valid signature, issuer, audience and type still proves which session it belongs to.
  const lapsedVerifier = createJwtVerifier(keys, {
    issuer,
    audience,
    clock,
    type,
    acceptExpired: true,
  });
  // ...but only for one more of its lifetimes. A Bearer sign-out needs no CSRF proof, and the
  // Origin rule binds browsers, not whoever copied a token from a log: unbounded, any token
  // ever issued could end its session until the absolute limit. A client of its own past the
  // bound gets `expired`, refreshes and signs out with the new token; a browser still has its
  // binding cookie.
  const lapseBound = tokenLifetime + VERIFIER_SKEW_S * 1000;

  /** The claims of a token that verifies but for its expiry, and whether it lapsed too long ago. */
  const lapsed = (request: RequestLike, provenJkt: string | null = null) => {
    const credential = readCredential(request, cookieName, o.transports, ix.dpop !== null);
    if (!credential.ok) return null;
    const result = lapsedVerifier.verify(credential.token);
    if (!result.ok) return null;
    const id = stringClaim(result.claims, "sid");
    if (id === undefined) return null;
    // A DPoP-bound token proves its session only with a proof from its key: a copy must not
    // be able to sign its owner out either.
    const jkt = confirmedJkt(result.claims);
    if (presentedVerdict(ix.dpop, request, credential, jkt, provenJkt)) return null;
    const exp = numberClaim(result.claims, "exp");
    const tooOld = exp === undefined || clock() - exp * 1000 > lapseBound;
    return { id, transport: credential.transport, tooOld };
  };

  /**
   * The session id and transport of a token that verifies but for an expiry less than its own
   * lifetime ago, without side effects: which session a request proves it holds (sign-out,
   * sign-in ending the old one).
   */
  function presentedSessionId(
    request: RequestLike,
    provenJkt: string | null = null,
  ): { id: string; transport: Transport } | null {
    const found = lapsed(request, provenJkt);
    return found && !found.tooOld ? { id: found.id, transport: found.transport } : null;
  }

  /** True for a token that would prove its session but lapsed too long ago: `expired`. */
  const lapsedTooLong = (request: RequestLike) => lapsed(request)?.tooOld === true;

  return {
    cookieName,
    authenticate,
    presentedSessionId,
    lapsedTooLong,
    issue: (record: StoredSession, transport: Transport, now: number) => {
      const token = sign(record, now);
      return { token, headers: headersFor(token, transport, record.absoluteExpiresAt, now) };
    },
    close: () => revocations.close(),
  };
}
