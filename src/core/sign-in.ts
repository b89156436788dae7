import { SessionError } from "../errors.js";
import type { JsonObject, StoredSession } from "../stores/types.js";
import { generateOpaqueToken } from "../tokens/opaque.js";
import { writeBinding } from "./binding.js";
import type { DpopGate } from "./dpop.js";
import { checkUserId, guestOwner } from "./guest.js";
import type { Parts } from "./parts.js";
import type { PresentedCheck } from "./presented.js";
import type { CreateInput, IssuedSession, RequestLike } from "./types.js";

/**
 * The key a DPoP sign-in proves it holds (the new session is bound to it), or `null` without
 * a proof where none is required. A bad proof, or none where required, is refused before
 * anything changes: a sign-in must never quietly issue an unbound token to a client that
 * asked for a bound one.
 */
function provenKey(gate: DpopGate, request: RequestLike | undefined): string | null {
  const proven = request ? gate.signIn(request) : gate.settings.required ? null : { jkt: null };
  if (proven && "jkt" in proven) return proven.jkt;
  const headers: Record<string, string> = {
    "www-authenticate": proven?.challenge ?? gate.challenge(),
    "cache-control": "no-store",
  };
  if (proven?.nonce) headers["dpop-nonce"] = proven.nonce;
  throw new SessionError(
    "DPOP_REFUSED",
    `DPoP sign-in refused: ${proven?.detail ?? "no request"}`,
    {
      headers,
    },
  );
}

/** `create`: signs a user in with a new session, ending the one the request carried. */
export function createSignIn<Data extends JsonObject>(
  { ix, opaque, jwt, refresher, device }: Parts<Data>,
  { presented, endsByRequest }: PresentedCheck,
) {
  const { o, storeCall, toSession, emit, revoked } = ix;
  const { store, clock, events, lifetimes } = o;

  return async function create(input: CreateInput<Data>): Promise<IssuedSession<Data>> {
    const now = clock();
    // `userId: null` starts a guest session: owned by a name of its own in the store.
    const guest = input?.userId === null;
    const owner = guest ? guestOwner() : checkUserId(input?.userId, "create");
    const transport = input.transport ?? "cookie";
    const jkt = ix.dpop && transport === "header" ? provenKey(ix.dpop, input.request) : null;
    const previous = input.request ? await presented(input.request, now, jkt) : null;
    // The session the request carried ends only under sign-out's own rule: a cookie-borne one
    // with same-origin proof for that session (a sign-in form's token, bound to no session,
    // proves the sign-in, not a right to end whatever cookie rode along).
    const ending = previous && input.request && endsByRequest(input.request, previous);
    const ended = ending ? await storeCall(() => store.delete(previous.id, "logout")) : null;
    if (ended) revoked(ended, "logout");
    const userAgent = input.userAgent ?? input.request?.headers.get("user-agent") ?? null;
    const secret = generateOpaqueToken(store.newSessionId?.(owner));
    const record: StoredSession = {
      id: secret.id,
      userId: owner,
      strategy: o.strategy,
      // A jwt session has no opaque secret: its inventory record only names it. A hybrid
      // session's secret is its refresh token's.
      secretHash: o.strategy === "jwt" ? null : secret.secretHash,
      previousSecretHash: null,
      previousValidUntil: null,
      successor: null,
      createdAt: now,
      lastActiveAt: now,
      renewedAt: now,
      authTime: input.authTime === undefined ? now : Number(input.authTime),
      expiresAt: Math.min(now + lifetimes.idle, now + lifetimes.absolute),
      absoluteExpiresAt: now + lifetimes.absolute,
      ip: input.ip ?? null,
      userAgent: userAgent === null ? null : userAgent.slice(0, 512),
      data: input.data ?? {},
      version: 0,
      binding: jkt === null ? null : writeBinding({ kind: "dpop", jkt }),
    };
    // Only pay for the lookup when someone listens for new devices.
    const newDevice =
      events.onNewDevice && !guest
        ? !(await storeCall(() => store.listUser(owner, now))).some(
            (r) => r.userAgent === record.userAgent,
          )
        : false;
    const { evicted } = await storeCall(() =>
      store.create(record, { now, maxSessionsPerUser: o.maxSessionsPerUser }),
    );
    for (const old of evicted) revoked(old, "evicted");
    const session = toSession(record, transport, record.data as Data);
    emit("onCreate", session);
    if (newDevice) emit("onNewDevice", session);
    if (refresher) {
      const pair = refresher.start(record, secret, transport, now);
      // A browser that speaks DBSC registers a key for this session right away.
      if (device && transport === "cookie") device.registrationHeaders(pair.headers, record.id);
      return {
        session,
        headers: pair.headers,
        token: pair.accessToken,
        refreshToken: pair.refreshToken,
      };
    }
    if (jwt) return { session, ...jwt.issue(record, transport, now) };
    const headers = opaque.tokenHeaders(secret.token, transport, record.absoluteExpiresAt, now);
    // A browser that speaks DBSC registers a key for this session right away.
    if (device && transport === "cookie") device.registrationHeaders(headers, record.id);
    return { session, headers, token: secret.token };
  };
}
