import { createHash, randomBytes } from "node:crypto";
import { createClient, type RedisClientType } from "redis";
import { configError, SessionError } from "../../errors.js";
import { encodeBase64url } from "../../tokens/base64url.js";
import { LocalFeed } from "../feed.js";
import type {
  RevocationReason,
  SessionStore,
  StoreChange,
  StoredSession,
  UpdateResult,
} from "../types.js";
import { pack, unpack } from "./record.js";
import * as lua from "./scripts.js";

export type { SessionStore } from "../types.js";

export interface RedisStoreOptions {
  /** `redis://host:port`. */
  url: string;
  /** Key prefix. Default `"sk:"`. */
  prefix?: string;
  /** A command that has not answered by then fails with STORE_UNAVAILABLE. Default 2000 ms. */
  commandTimeoutMs?: number;
}

/**
 * Redis store. Keys carry the user's hash tag, so that a session, its user's index and every
 * multi-key change share one Cluster slot, and each change is one atomic script. Session ids
 * start with the same 3-byte tag (from a hash of the user id; the other 13 bytes are random),
 * which lets a lookup by id find the slot in one round trip. Records expire by Redis TTL;
 * index entries of expired records are pruned by the scripts that read the index.
 * Revocations go to a capped stream (replayed by instances that start or reconnect) and to
 * pub/sub (the live feed).
 */
export function redisStore(options: RedisStoreOptions): SessionStore {
  const prefix = options.prefix ?? "sk:";
  if (!/^[\w:.-]{0,32}$/.test(prefix))
    throw configError("redis: prefix may hold letters, digits, _ : . - only");
  const timeout = options.commandTimeoutMs ?? 2000;
  const client: RedisClientType = createClient({
    url: options.url,
    // Fail fast while disconnected instead of queueing requests until the server returns.
    disableOfflineQueue: true,
    commandOptions: { timeout },
    socket: {
      connectTimeout: timeout,
      reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
    },
  });
  client.on("error", () => {}); // reported through failing commands; reconnection is automatic
  let connecting: Promise<unknown> | null = null;
  const feed = new LocalFeed();
  const channel = `${prefix}revocations`;
  const log = `${prefix}{rev}:log`;
  const origin = encodeBase64url(randomBytes(9));

  const tagOfUser = (userId: string) =>
    encodeBase64url(createHash("sha256").update(userId).digest().subarray(0, 3));
  const recordPrefix = (tag: string) => `${prefix}{${tag}}:s:`;
  const recordKey = (id: string) => `${recordPrefix(id.slice(0, 4))}${id}`;
  const indexKey = (userId: string) => `${prefix}{${tagOfUser(userId)}}:u:${userId}`;

  const guard = async <T>(operation: () => Promise<T>): Promise<T> => {
    try {
      if (!client.isOpen) {
        connecting ??= client.connect().catch((error: unknown) => {
          connecting = null;
          throw error;
        });
        await connecting;
      }
      return await operation();
    } catch (error) {
      if (error instanceof SessionError) throw error;
      const name = (error as Error)?.name ?? "";
      if (name === "ErrorReply" || name === "SimpleError") throw error; // a bug, not an outage
      throw new SessionError(
        "STORE_UNAVAILABLE",
        `redis store unavailable: ${(error as Error)?.message}`,
        { cause: error },
      );
    }
  };

  const shas = new Map<string, string>();
  const run = async (script: string, keys: string[], args: Array<string | number>) =>
    guard(async () => {
      const argv = args.map(String);
      let sha = shas.get(script);
      if (!sha) {
        sha = String(await client.scriptLoad(script));
        shas.set(script, sha);
      }
      try {
        return await client.evalSha(sha, { keys, arguments: argv });
      } catch (error) {
        if (!String((error as Error)?.message).startsWith("NOSCRIPT")) throw error;
        return client.eval(script, { keys, arguments: argv });
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
      await guard(() =>
        client.xAdd(
          log,
          "*",
          { c: text },
          { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: 100_000 } },
        ),
      );
      await guard(() => client.publish(channel, text));
    }
  };

  const subscriber = createSubscriber();

  function createSubscriber() {
    let sub: RedisClientType | null = null;
    let lastId: string | null = null;
    let connected = false;
    let lostSince = Date.now();
    const deliver = (text: string, streamId?: string) => {
      if (streamId) lastId = streamId;
      try {
        const c = JSON.parse(text) as Omit<StoreChange, "type"> & { origin: string };
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
    const replay = async () => {
      const entries = await client.xRange(log, lastId ? `(${lastId}` : "-", "+");
      const now = Date.now();
      for (const entry of entries) {
        const text = entry.message.c ?? "";
        if (lastId === null) {
          // First connection: only what can still matter.
          try {
            if ((JSON.parse(text) as { expiresAt: number }).expiresAt <= now) {
              lastId = entry.id;
              continue;
            }
          } catch {
            continue;
          }
        }
        deliver(text, entry.id);
      }
      if (lastId === null) lastId = entries.at(-1)?.id ?? "0-0";
    };
    return {
      async start() {
        if (sub) return;
        const s = client.duplicate();
        sub = s;
        s.on("error", () => {
          if (connected) lostSince = Date.now();
          connected = false;
        });
        s.on("ready", () => {
          guard(replay).then(
            () => {
              connected = true;
            },
            () => {},
          );
        });
        try {
          await guard(async () => {});
          await s.connect();
          await s.subscribe(channel, (message) => deliver(message));
        } catch {
          // node-redis keeps reconnecting; the lag reports the gap meanwhile
        }
      },
      stop() {
        const s = sub;
        sub = null;
        connected = false;
        if (s?.isOpen) s.destroy();
      },
      lag: () => (!sub || connected ? 0 : Date.now() - lostSince),
    };
  }

  return {
    name: "redis",

    newSessionId(userId) {
      return encodeBase64url(
        Buffer.concat([
          createHash("sha256").update(userId).digest().subarray(0, 3),
          randomBytes(13),
        ]),
      );
    },

    async create(record, opts) {
      const prefixOfRecord = recordPrefix(record.id.slice(0, 4));
      const evicted = (await run(
        lua.CREATE,
        [recordKey(record.id), indexKey(record.userId)],
        [
          pack(record),
          record.id,
          record.createdAt,
          record.expiresAt,
          record.absoluteExpiresAt,
          opts.now,
          opts.maxSessionsPerUser ?? -1,
          prefixOfRecord,
        ],
      )) as string[];
      const gone = evicted.map(unpack);
      await publish(gone, "evicted");
      return { evicted: gone };
    },

    async get(id, now) {
      const raw = await guard(() => client.get(recordKey(id)));
      if (!raw) return null;
      const record = unpack(raw);
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
      if (status === "updated" && raw) return { status: "updated", record: unpack(raw) };
      if (status === "conflict" && raw) return { status: "conflict", record: unpack(raw) };
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
        ],
      )) as string | null;
      return raw ? unpack(raw) : null;
    },

    async delete(id, reason) {
      const existing = await guard(() => client.get(recordKey(id)));
      if (!existing) return null;
      const userId = unpack(existing).userId;
      const raw = (await run(lua.DELETE, [recordKey(id), indexKey(userId)], [id])) as string | null;
      if (!raw) return null;
      const record = unpack(raw);
      await publish([record], reason);
      return record;
    },

    async deleteUser(userId, opts) {
      const raws = (await run(
        lua.DELETE_USER,
        [indexKey(userId)],
        [recordPrefix(tagOfUser(userId)), opts.strategy ?? "", opts.except ?? ""],
      )) as string[];
      const gone = raws.map(unpack);
      await publish(gone, opts.reason);
      return gone;
    },

    async listUser(userId, now) {
      const raws = (await run(
        lua.LIST,
        [indexKey(userId)],
        [recordPrefix(tagOfUser(userId))],
      )) as string[];
      return raws
        .map(unpack)
        .filter((r) => r.expiresAt > now)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
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
      await guard(() => client.ping());
    },

    async close() {
      subscriber.stop();
      if (client.isOpen) client.destroy();
    },
  };
}
