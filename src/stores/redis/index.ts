import { createHash, randomBytes } from "node:crypto";
import { configError } from "../../errors.js";
import { encodeBase64url } from "../../tokens/base64url.js";
import { changeOf } from "../change.js";
import { LocalFeed, subscribeFollowing } from "../feed.js";
import { byAge } from "../order.js";
import type { RevocationReason, SessionStore, StoredSession, UpdateResult } from "../types.js";
import { type RedisStoreOptions, redisConnection } from "./connection.js";
import { redisKeys } from "./keys.js";
import { pack, unpack, unpackPairs, userIdOf } from "./record.js";
import * as lua from "./scripts.js";
import { redisSubscriber } from "./subscriber.js";

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
 *
 * @example
 * ```ts
 * import { createClient } from "redis";
 * import { createSessionManager } from "sessionkit";
 * import { redisStore } from "sessionkit/stores/redis";
 *
 * const store = redisStore({ url: "redis://10.0.0.5:6379", commandTimeoutMs: 1000 });
 * // or a node-redis 5 or 6 client (or cluster) of yours, which you close after the store:
 * const client = createClient({ url: "redis://10.0.0.5:6379" });
 * const onMyClient = redisStore({ client, prefix: "myapp:" });
 * const sessions = createSessionManager({
 *   strategy: "id",
 *   store,
 *   csrf: { origins: ["https://app.example"] },
 * });
 * ```
 */
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
      const change = { ...changeOf(r, reason), origin };
      feed.emit(changeOf(r, reason));
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

  const subscriber = redisSubscriber({ client, guard, cluster, feed, channel, log, origin });

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

    subscribe: subscribeFollowing(feed, subscriber),

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
