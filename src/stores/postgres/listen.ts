import type pg from "pg";
import { changeOf } from "../change.js";
import { type LocalFeed, REVOCATION_MARGIN_MS } from "../feed.js";
import { type ChangeRow, changeOfLogRow } from "../rows.js";
import type { StoreChange } from "../types.js";
import { destroyConnection, within } from "./deadline.js";

/** How often the LISTEN connection proves it is alive while nothing else crosses it. */
export const HEARTBEAT_MS = 1000;

/** What a NOTIFY carries: the revocation, its place in the log, and who made it. */
export type Notice = StoreChange & { seq: number; origin: string };

/**
 * The PostgreSQL change feed: one dedicated connection LISTENs for the revocations other
 * instances NOTIFY. Sequence numbers are taken at insert but notifications come in commit
 * order, so no change is ever judged by its number. On every (re)connection it LISTENs first
 * and then reads the whole revocation log still inside its window: whatever committed before
 * that read is in it, whatever commits after the LISTEN is notified, so nothing said while it
 * was away is lost, whatever the order of commits. The overlap is heard twice; the local feed
 * announces each revocation once. Notifications arriving during the read wait for it. It
 * reconnects by itself. A link that drops packets without closing looks connected for good,
 * so a heartbeat (`SELECT 1`, after which the server has sent every notification committed
 * before it) confirms the feed each second; one that misses its deadline destroys the
 * connection. The lag counts from the last confirmed moment.
 */
export function createListener(options: {
  connect: () => pg.Client;
  channel: string;
  changesTable: string;
  feed: LocalFeed;
  ensureSchema: () => Promise<void>;
  /** Deadline of each step of a (re)connection, and of each heartbeat. */
  timeoutMs: number;
}) {
  let running = false;
  let client: pg.Client | null = null;
  let connected = false;
  // When the feed was last confirmed current (the sending of the last replay or heartbeat that
  // succeeded): -Infinity until the first replay after `start` has completed, for a revocation
  // made before this instance started may be unheard.
  let lastOk = Number.NEGATIVE_INFINITY;
  let retry: NodeJS.Timeout | null = null;
  let heartbeat: NodeJS.Timeout | null = null;

  // This instance's own revocations too: it announced them when they committed, and the
  // local feed drops the repeat, but one whose COMMIT answer was lost to a deadline (and that
  // committed all the same) is announced only here.
  const deliver = (change: StoreChange) => options.feed.emit(change);

  const stopHeartbeat = () => {
    if (heartbeat) clearInterval(heartbeat);
    heartbeat = null;
  };
  const lost = (c: pg.Client) => {
    if (client !== c) return;
    client = null;
    connected = false;
    stopHeartbeat();
    // Not `end()`: it waits for the server's goodbye, which a silent link never delivers.
    destroyConnection(c);
    schedule();
  };
  const beat = (c: pg.Client) => {
    let busy = false;
    heartbeat = setInterval(() => {
      if (busy || client !== c) return;
      busy = true;
      const asOf = Date.now();
      within(c.query("SELECT 1"), options.timeoutMs)
        .then(
          () => {
            if (client === c) lastOk = Math.max(lastOk, asOf);
          },
          () => lost(c),
        )
        .finally(() => {
          busy = false;
        });
    }, HEARTBEAT_MS);
    heartbeat.unref();
  };
  const schedule = () => {
    if (!running || retry) return;
    retry = setTimeout(() => {
      retry = null;
      void open();
    }, 250);
    retry.unref();
  };

  async function open(): Promise<void> {
    if (!running || client) return;
    const c = options.connect();
    client = c;
    const waiting: StoreChange[] = [];
    let replaying = true;
    c.on("error", () => lost(c));
    c.on("end", () => lost(c));
    c.on("notification", (message) => {
      try {
        const notice = JSON.parse(message.payload ?? "") as Notice;
        const change = changeOf(notice, notice.reason);
        if (replaying) waiting.push(change);
        else deliver(change);
      } catch {
        // Not ours: ignore what cannot be parsed.
      }
    });
    try {
      await options.ensureSchema();
      await within(c.connect(), options.timeoutMs);
      await within(c.query(`LISTEN ${options.channel}`), options.timeoutMs);
      const asOf = Date.now();
      const { rows } = await within(
        c.query<ChangeRow>(
          `SELECT * FROM ${options.changesTable} WHERE expires_at > $1 ORDER BY seq`,
          [asOf - REVOCATION_MARGIN_MS],
        ),
        options.timeoutMs,
      );
      if (client !== c) return; // lost or stopped meanwhile
      for (const row of rows) deliver(changeOfLogRow(row));
      replaying = false;
      for (const change of waiting) deliver(change);
      connected = true;
      lastOk = Math.max(lastOk, asOf);
      beat(c);
    } catch {
      lost(c);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      lastOk = Number.NEGATIVE_INFINITY;
      void open();
    },
    stop() {
      running = false;
      if (retry) clearTimeout(retry);
      retry = null;
      stopHeartbeat();
      const c = client;
      client = null;
      connected = false;
      if (c) destroyConnection(c);
    },
    /**
     * Milliseconds since the feed was last confirmed current: while connected, beyond one
     * heartbeat interval (the next heartbeat is due by then); without a connection, all of it,
     * from the last confirmation, not from when the loss was noticed. 0 when not running;
     * Infinity until the first replay after `start` has completed.
     */
    lag: () => {
      if (!running) return 0;
      const since = Date.now() - lastOk;
      return connected ? Math.max(0, since - HEARTBEAT_MS) : since;
    },
  };
}
