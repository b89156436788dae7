import { SessionError } from "../errors.js";
import type { JsonObject, RevocationReason, StoredSession } from "../stores/types.js";
import { RecordCache } from "./cache.js";
import { type CsrfCheck, csrfCheck } from "./csrf.js";
import { createDpopGate, type DpopGate, type DpopRefusal } from "./dpop.js";
import { publicUserId } from "./guest.js";
import type { NormalizedOptions } from "./options.js";
import type { RecordReader } from "./strategies/id.js";
import type { AuthFailure, FailureReason, Session, SessionEvents, Transport } from "./types.js";

/** What the manager's parts share, built once from the normalised options. */
export interface Internals<Data extends JsonObject> {
  o: NormalizedOptions<Data>;
  reader: RecordReader;
  cache: RecordCache | null;
  emit<K extends keyof SessionEvents<Data>>(
    name: K,
    payload: Parameters<NonNullable<SessionEvents<Data>[K]>>[0],
  ): void;
  /** Runs a store operation; anything it throws that is not ours becomes STORE_UNAVAILABLE. */
  storeCall<T>(operation: () => Promise<T>): Promise<T>;
  toSession(record: StoredSession, transport: Transport, data: Data): Session<Data>;
  /**
   * The record's data, validated by the schema if there is one; `null` when invalid. Without
   * a schema the answer is synchronous, which spares the hot path a microtask.
   */
  readData(record: StoredSession): Data | null | Promise<Data | null>;
  revoked(record: StoredSession, reason: RevocationReason): void;
  /**
   * A failure as every strategy reports it: the status that goes with the reason, the
   * `onAuthFailure` event, and, for a cookie that cannot authenticate, headers clearing the
   * named cookies so that the browser stops sending them.
   */
  failure(
    reason: FailureReason,
    transport: Transport | null,
    clear: string[],
    dpop?: DpopRefusal,
  ): { failure: AuthFailure; headers: Headers };
  /** DPoP, when configured. */
  dpop: DpopGate | null;
  /** The CSRF rule of every cookie-borne request, tokens accepted (`csrf.ts`). */
  csrf: CsrfCheck;
  close(): void;
}

export function createInternals<Data extends JsonObject>(
  o: NormalizedOptions<Data>,
): Internals<Data> {
  const { store, clock } = o;

  const emit: Internals<Data>["emit"] = (name, payload) => {
    const handler = o.events[name] as ((value: typeof payload) => void) | undefined;
    if (!handler) return;
    try {
      handler(payload);
    } catch {
      // Audit hooks are observers; a failing one must not break the request that fired it.
    }
  };

  const cache = o.cache ? new RecordCache(o.cache) : null;
  const dpop = o.dpop ? createDpopGate(o.dpop, clock) : null;
  const fresh = async (id: string, now: number) => {
    const mark = cache?.mark();
    const record = await store.get(id, now);
    if (cache) {
      if (record) cache.set(record, now, mark);
      else cache.delete(id);
    }
    return record;
  };
  const direct = (id: string, now: number) => store.get(id, now);
  const reader: RecordReader = cache
    ? { get: async (id, now) => cache.get(id, now) ?? fresh(id, now), fresh }
    : { get: direct, fresh: direct };
  const unsubscribe = cache ? store.subscribe((change) => cache.delete(change.id)) : () => {};

  let timer: NodeJS.Timeout | null = null;
  if (o.cleanup) {
    const { batch } = o.cleanup;
    timer = setInterval(() => {
      store.deleteExpired(clock(), batch).then(
        (gone) => {
          for (const r of gone) {
            emit("onExpire", { sessionId: r.id, userId: publicUserId(r.userId) });
          }
        },
        () => {}, // an outage shows on requests and /healthz; cleanup retries next tick
      );
    }, o.cleanup.interval);
    timer.unref();
  }

  return {
    o,
    reader,
    cache,
    dpop,
    csrf: csrfCheck({ origins: o.origins, tokenKey: o.csrfKey }),
    emit,
    async storeCall(operation) {
      try {
        return await operation();
      } catch (error) {
        throw asStoreError(error, store.name);
      }
    },
    toSession: (record, transport, data) => ({
      id: record.id,
      userId: publicUserId(record.userId),
      strategy: record.strategy,
      data,
      createdAt: new Date(record.createdAt),
      lastActiveAt: new Date(record.lastActiveAt),
      expiresAt: new Date(record.expiresAt),
      absoluteExpiresAt: new Date(record.absoluteExpiresAt),
      authTime: new Date(record.authTime),
      ip: record.ip,
      userAgent: record.userAgent,
      version: record.version,
      transport,
      deviceBound: (record.binding ?? null) !== null,
    }),
    readData(record) {
      if (!o.schema) return record.data as Data;
      const validated = o.schema["~standard"].validate(record.data);
      const settle = (result: Awaited<typeof validated>) =>
        result.issues ? null : (result.value as Data);
      return validated instanceof Promise ? validated.then(settle) : settle(validated);
    },
    failure(reason, transport, clear, refusal) {
      const status =
        reason === "csrf"
          ? 403
          : reason === "store_unavailable" || reason === "revocation_stale"
            ? 503
            : 401;
      const failure: AuthFailure = { reason, status, transport };
      // With DPoP on, every 401 of the header transport says so (RFC 9449 §7.1).
      if (dpop && transport === "header" && status === 401) {
        failure.challenge = refusal?.challenge ?? dpop.challenge();
      }
      if (refusal) failure.detail = refusal.detail;
      emit("onAuthFailure", failure);
      const headers = new Headers();
      if (refusal?.nonce) headers.set("dpop-nonce", refusal.nonce);
      if (transport === "cookie" && status === 401) {
        for (const name of clear) headers.append("set-cookie", o.cookies.clear(name));
      }
      return { failure, headers };
    },
    revoked(record, reason) {
      cache?.delete(record.id);
      emit("onRevoke", { sessionId: record.id, userId: publicUserId(record.userId), reason });
    },
    close() {
      if (timer) clearInterval(timer);
      timer = null;
      unsubscribe();
    },
  };
}

/** What a store throws is ours already, or it becomes STORE_UNAVAILABLE. */
export function asStoreError(error: unknown, storeName: string): SessionError {
  if (error instanceof SessionError) return error;
  return new SessionError("STORE_UNAVAILABLE", `${storeName} store failed`, { cause: error });
}
