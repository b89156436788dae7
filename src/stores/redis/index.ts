import { createHash, randomBytes } from "node:crypto";
import { configError } from "../../errors.js";
import { encodeBase64url } from "../../tokens/base64url.js";
import { LocalFeed, REVOCATION_MARGIN_MS } from "../feed.js";
import type {
  RevocationReason,
  SessionStore,
  StoreChange,
  StoredSession,
  UpdateResult,
} from "../types.js";
import { type Commands, type RedisStoreOptions, redisConnection } from "./connection.js";
import { redisKeys } from "./keys.js";
import { pack, unpack, unpackPairs, userIdOf } from "./record.js";
import * as lua from "./scripts.js";

export type { SessionStore } from "../types.js";
export type { RedisClientLike, RedisStoreOptions } from "./connection.js";

/**
 * Redis store. Keys carry the user's hash tag, so that a session, its user's index and every
 * multi-key change share one Cluster slot, and each change is one atomic script. Session ids
 * start with the same 3-byte tag (from a hash of the user id; the other 13 bytes are random),
 * which lets a lookup by id find the slot in one round trip. Records expire by Redis TTL;
 * index entries of expired records are pruned by the scripts that read the index.
 * Revocations go to a capped stream (replayed by instances that start or reconnect) and to
 * pub/sub (the live feed).
 */
const byAge = (a: StoredSession, b: StoredSession) =>
  a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);

export function redisStore(options: RedisStoreOptions): SessionStore {
  const prefix = options.prefix ?? "sk:";
  if (!/^[\w:.-]{0,32}$/.test(prefix))
    throw configError("redis: prefix may hold letters, digits, _ : . - only");
  const { client, cluster, guard, ...connection } = redisConnection(options);
  const feed = new LocalFeed();
  // In a Cluster the channel is sharded (SPUBLISH/SSUBSCRIBE): its hash tag pins it to the
  // shard of the revocation log instead of broadcasting every message to every node.
  const channel = `${prefix}{rev}:revocations`;
  const log = `${prefix}{rev}:log`;
  const origin = encodeBase64url(randomBytes(9));

  const keys = redisKeys(prefix);
  const recordKey = keys.record;
  const indexKey = keys.index;

  const shas = new Map<string, string>();
  const run = async (script: string, keys: string[], args: Array<string | number>) =>
    guard(async (c, late) => {
      const argv = args.map(String);
      let sha = shas.get(script);
      if (!sha) {
        // The SHA1 is computed here: a Cluster has no one node to SCRIPT LOAD on. A node that
        // has not seen the script yet answers NOSCRIPT once and gets it with EVAL.
        sha = createHash("sha1").update(script).digest("hex");
        shas.set(script, sha);
      }
      try {
        return await c.evalSha(sha, { keys, arguments: argv });
      } catch (error) {
        if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
        // The caller may have been answered STORE_UNAVAILABLE meanwhile: not sent then.
        if (late()) throw new Error("gave up before the script could be sent again");
        return c.eval(script, { keys, arguments: argv });
      }
    });

  const publish = async (records: StoredSession[], reason: RevocationReason) => {
    for (const r of records) {
      const change = {
        id: r.id,
        userId: r.userId,
        strategy: r.strategy,
        expiresAt: r.expiresAt,
        reason,
        origin,
      };
      feed.emit({
        type: "revoked",
        id: r.id,
        userId: r.userId,
        strategy: r.strategy,
        expiresAt: r.expiresAt,
        reason,
      });
      const text = JSON.stringify(change);
      // The log first: an instance that misses the message finds it there when it reconnects.
      // The live message carries the log entry's id, so that nobody hears it twice.
      const entryId = String(
        await guard((c) =>
          c.xAdd(
            log,
            "*",
            { c: text },
            { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: 100_000 } },
          ),
        ),
      );
      const message = JSON.stringify({ ...change, entryId });
      await guard((c) => (cluster ? c.sPublish(channel, message) : c.publish(channel, message)));
    }
  };

  /** A user's records, index order. */
  const listed = async (userId: string) =>
    unpackPairs((await run(lua.LIST, [indexKey(userId)], [prefix])) as string[]);

  /**
   * Revocations are announced (log, then live) before the records go, so that a crash or an
   * outage between the two leaves sessions announced and kept (refused by jwt and hybrid; the
   * caller got no answer), never deleted unannounced: a lost announcement would leave their
   * tokens valid with no record left for a later revocation to find (found by the Cluster
   * history soak). A record that slid past what was announced while this ran is announced
   * again with its final expiry.
   */
  const revokeThenDelete = async (
    userId: string,
    doomed: StoredSession[],
    reason: RevocationReason,
  ): Promise<StoredSession[]> => {
    const gone: StoredSession[] = [];
    let pending = doomed;
    // A record is deleted only while its expiry is at most the one announced: one that slid
    // meanwhile (a touch elsewhere) stays, is announced again with its new expiry, and goes
    // on the next pass. So its final expiry is in the log before it is gone.
    for (let pass = 0; pending.length > 0; pass++) {
      if (pass >= 8) throw new Error("redis: sessions kept sliding while being revoked");
      await publish(pending, reason);
      const [deleted, slid] = (await run(
        lua.DELETE_IDS,
        [indexKey(userId)],
        [prefix, ...pending.flatMap((r) => [r.id, r.expiresAt])],
      )) as [string[], string[]];
      gone.push(...unpackPairs(deleted));
      pending = unpackPairs(slid);
    }
    return gone;
  };

  const subscriber = createSubscriber();

  function createSubscriber() {
    let sub: Commands | null = null;
    let poller: NodeJS.Timeout | null = null;
    let lastId: string | null = null;
    // When the log was last read through; -Infinity until the first read after `start` has
    // replayed it: before that, a revocation made before this instance started may be unheard.
    let lastOk = Number.NEGATIVE_INFINITY;
    // Whether pub/sub carries news right now (subscribed, connected, and what it missed while
    // away read from the log since), and if not, since when it has not.
    let live = false;
    let downAt = Number.NEGATIVE_INFINITY;
    // When pub/sub came back after a loss: a log read sent after it makes it live again.
    let backAt: number | null = null;
    // Entry ids already announced, whichever way they came (log or live); bounded.
    const heard = new Set<string>();
    const deliver = (text: string, streamId?: string) => {
      if (streamId) lastId = streamId;
      try {
        const c = JSON.parse(text) as Omit<StoreChange, "type"> & {
          origin: string;
          entryId?: string;
        };
        const entryId = streamId ?? c.entryId;
        if (entryId) {
          if (heard.has(entryId)) return;
          if (heard.size >= 10_000) heard.clear();
          heard.add(entryId);
        }
        if (c.origin === origin) return;
        feed.emit({
          type: "revoked",
          id: c.id,
          userId: c.userId,
          strategy: c.strategy,
          expiresAt: c.expiresAt,
          reason: c.reason,
        });
      } catch {
        // not ours
      }
    };
    /** Reads the log from where it left off: the safety net under pub/sub, and the lag meter. */
    const catchUp = async (c: Commands) => {
      // Current as of when the read was sent: what commits during the round trip may be missed.
      const asOf = Date.now();
      const entries = await c.xRange(log, lastId ? `(${lastId}` : "-", "+");
      const now = Date.now();
      for (const entry of entries) {
        const text = entry.message.c ?? "";
        if (lastId === null) {
          // First read: only what can still matter (a token verifies a little past its record).
          let live = false;
          try {
            live =
              (JSON.parse(text) as { expiresAt: number }).expiresAt + REVOCATION_MARGIN_MS > now;
          } catch {
            live = false;
          }
          if (!live) continue;
        }
        deliver(text, entry.id);
      }
      if (lastId === null) lastId = entries.at(-1)?.id ?? "0-0";
      lastOk = Math.max(lastOk, asOf);
      if (!live && backAt !== null && asOf >= backAt && sub?.isReady !== false) {
        live = true;
        backAt = null;
      }
    };
    return {
      start() {
        if (sub) return;
        // Stopped, this instance heard nothing: current again only once the log is read.
        lastOk = Number.NEGATIVE_INFINITY;
        const s = client.duplicate();
        sub = s;
        live = false;
        downAt = Number.NEGATIVE_INFINITY;
        let subscribed = false;
        const lost = () => {
          // node-redis may report an error of a socket it has already replaced: only a
          // connection that is not ready now is lost.
          if (sub !== s || s.isReady === true) return;
          backAt = null;
          if (!live) return;
          live = false;
          downAt = Date.now();
        };
        /** Pub/sub carries news again once a log read sent from now on has arrived. */
        const back = () => {
          backAt = Date.now();
          guard(catchUp).catch(() => {});
        };
        s.on("error", lost);
        s.on("reconnecting", lost);
        s.on("end", lost);
        // A live message may repeat one the log delivered; `deliver` drops repeats.
        const listen = (message: string) => deliver(message);
        let subscribing = false;
        const subscribe = async () => {
          if (subscribing || subscribed) return;
          subscribing = true;
          try {
            await (cluster ? s.sSubscribe(channel, listen) : s.subscribe(channel, listen));
            subscribed = true;
            if (sub === s) back();
          } finally {
            subscribing = false;
          }
        };
        // On every (re)connection: node-redis subscribes again by itself once a subscription
        // was made; one that never was (the connection dropped as it was being made) is made
        // now. What was published meanwhile is in the log, read through before pub/sub counts
        // as live again.
        s.on("ready", () => {
          if (sub !== s || live) return;
          if (subscribed) back();
          else subscribe().catch(() => {});
        });
        // The first replay, and pub/sub, each on their own: an outage during one must not
        // keep the other from starting (the poller retries the log, node-redis the connection).
        guard(catchUp).catch(() => {});
        s.connect()
          .then(() => {
            if (sub !== s) s.destroy();
            else return subscribe();
          })
          .catch(() => {});
        poller = setInterval(() => {
          guard(catchUp).catch(() => {});
        }, 1000);
        poller.unref();
      },
      stop() {
        if (poller) clearInterval(poller);
        poller = null;
        const s = sub;
        sub = null;
        live = false;
        if (s?.isOpen) s.destroy();
      },
      /**
       * Infinity until the first read after `start` has replayed the log. While pub/sub is
       * live, the time since the log was last read through beyond its 1 s reading interval (the
       * log is the safety net); while it is not, the time since news last certainly arrived,
       * from either.
       */
      lag: () => {
        if (!sub) return 0;
        const now = Date.now();
        if (live) return Math.max(0, now - lastOk - 1000);
        return Math.max(0, now - Math.max(lastOk, downAt));
      },
    };
  }

  return {
    name: "redis",

    newSessionId: keys.newSessionId,

    async create(record, opts) {
      const cap = opts.maxSessionsPerUser;
      const args = [
        pack(record),
        record.id,
        record.createdAt,
        record.expiresAt,
        record.absoluteExpiresAt,
      ];
      const snapshot = (await run(
        lua.CREATE,
        [recordKey(record.id), indexKey(record.userId)],
        cap === undefined ? args : [...args, prefix],
      )) as string[];
      if (cap === undefined) return { evicted: [] };
      // The oldest live sessions of the strategy beyond the cap, announced, then deleted. The
      // new record is never a candidate: on a createdAt tie it would be ordered by its id.
      const others = unpackPairs(snapshot)
        .filter((r) => r.strategy === record.strategy && r.expiresAt > opts.now)
        .filter((r) => r.id !== record.id)
        .sort(byAge);
      const doomed = others.slice(0, Math.max(0, others.length - (cap - 1)));
      return { evicted: await revokeThenDelete(record.userId, doomed, "evicted") };
    },

    async get(id, now) {
      const raw = await guard((c) => c.get(recordKey(id)));
      if (!raw) return null;
      const record = unpack(id, raw);
      return record.expiresAt > now ? record : null;
    },

    async touch(id, input) {
      return (
        (await run(
          lua.TOUCH,
          [recordKey(id)],
          [input.now, input.lastActiveAt, input.expiresAt],
        )) === 1
      );
    },

    async update(id, input): Promise<UpdateResult> {
      const [status, raw] = (await run(
        lua.UPDATE,
        [recordKey(id)],
        [input.now, input.expectedVersion, JSON.stringify(input.data)],
      )) as [string, string | null];
      if (status === "updated" && raw) return { status: "updated", record: unpack(id, raw) };
      if (status === "conflict" && raw) return { status: "conflict", record: unpack(id, raw) };
      return { status: "missing" };
    },

    async rotate(id, input) {
      const raw = (await run(
        lua.ROTATE,
        [recordKey(id)],
        [
          input.now,
          input.expectedSecretHash,
          input.secretHash,
          input.successor,
          input.graceUntil,
          input.expiresAt ?? "",
          input.previousSecretHash,
        ],
      )) as string | null;
      return raw ? unpack(id, raw) : null;
    },

    async bind(id, binding, now) {
      const status = await run(lua.BIND, [recordKey(id)], [now, binding]);
      if (status === "bound" || status === "conflict") return status;
      return "missing";
    },

    async delete(id, reason) {
      const existing = await guard((c) => c.get(recordKey(id)));
      if (!existing) return null;
      const [gone] = await revokeThenDelete(userIdOf(existing), [unpack(id, existing)], reason);
      return gone ?? null;
    },

    async deleteUser(userId, opts) {
      const doomed = (await listed(userId)).filter(
        (r) =>
          r.id !== opts.except && (opts.strategy === undefined || r.strategy === opts.strategy),
      );
      return revokeThenDelete(userId, doomed, opts.reason);
    },

    async listUser(userId, now) {
      return (await listed(userId)).filter((r) => r.expiresAt > now).sort(byAge);
    },

    // Redis deletes expired records itself (TTL); index entries are pruned as they are read.
    async deleteExpired() {
      return [];
    },

    subscribe(listener) {
      const unsubscribe = feed.subscribe(listener);
      void subscriber.start();
      return () => {
        unsubscribe();
        if (feed.size === 0) subscriber.stop();
      };
    },

    feedLag: () => subscriber.lag(),

    async ping() {
      await guard((c) => (cluster ? c.sendCommand(undefined, true, ["PING"]) : c.ping()));
    },

    async close() {
      subscriber.stop();
      connection.close();
    },
  };
}
