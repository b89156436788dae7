import { changeOf } from "../change.js";
import { type LocalFeed, REVOCATION_MARGIN_MS } from "../feed.js";
import type { StoreChange } from "../types.js";
import type { Commands, Guard } from "./connection.js";

/** What the feed shares with the rest of the store. */
interface Context {
  client: Commands;
  guard: Guard;
  cluster: boolean;
  /** Where this instance's listeners hear revocations. */
  feed: LocalFeed;
  /** The pub/sub channel, sharded in a Cluster. */
  channel: string;
  /** The capped stream of revocations. */
  log: string;
  /** This instance's mark on what it publishes, so that it does not hear it twice. */
  origin: string;
}

/**
 * The Redis store's change feed: revocations from other instances, live through pub/sub on a
 * connection of its own (`duplicate()`), and from the capped log, read on every (re)connection
 * and each second, which is the safety net under pub/sub and what its lag is measured by.
 */
export function redisSubscriber({ client, guard, cluster, feed, channel, log, origin }: Context) {
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
      feed.emit(changeOf(c, c.reason));
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
          live = (JSON.parse(text) as { expiresAt: number }).expiresAt + REVOCATION_MARGIN_MS > now;
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
