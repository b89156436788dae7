import type pg from "pg";
import { type LocalFeed, REVOCATION_MARGIN_MS } from "../feed.js";
import type { ChangeRow } from "../rows.js";
import type { RevocationReason, StrategyName } from "../types.js";

interface Change {
  id: string;
  userId: string;
  strategy: StrategyName;
  expiresAt: number;
  reason: RevocationReason;
  origin: string;
}

/**
 * The PostgreSQL change feed: one dedicated connection LISTENs for the revocations other
 * instances NOTIFY. Sequence numbers are taken at insert but notifications come in commit
 * order, so no change is ever judged by its number. On every (re)connection it LISTENs first
 * and then reads the whole revocation log still inside its window: whatever committed before
 * that read is in it, whatever commits after the LISTEN is notified, so nothing said while it
 * was away is lost, whatever the order of commits. The overlap is heard twice; the local feed
 * announces each revocation once. Notifications arriving during the read wait for it. It
 * reconnects by itself, and reports how long it has been without a connection as its lag.
 */
export function createListener(options: {
  connect: () => pg.Client;
  channel: string;
  origin: string;
  changesTable: string;
  feed: LocalFeed;
  ensureSchema: () => Promise<void>;
}) {
  let running = false;
  let client: pg.Client | null = null;
  let connected = false;
  // Since when the feed may have missed revocations: -Infinity until the first replay after
  // `start` has completed, for a revocation made before this instance started may be unheard.
  let disconnectedSince = Number.NEGATIVE_INFINITY;
  let retry: NodeJS.Timeout | null = null;

  const deliver = (change: Change) => {
    if (change.origin === options.origin) return; // announced locally when it was made
    const { id, userId, strategy, expiresAt, reason } = change;
    options.feed.emit({ type: "revoked", id, userId, strategy, expiresAt, reason });
  };
  const fromRow = (r: ChangeRow): Change => ({
    id: r.id,
    userId: r.user_id,
    strategy: r.strategy,
    expiresAt: r.expires_at,
    reason: r.reason,
    origin: r.origin,
  });

  const lost = (c: pg.Client) => {
    if (client !== c) return;
    client = null;
    // The lag counts from the moment the feed was last known good, not from the last failed
    // reconnection attempt.
    if (connected) disconnectedSince = Date.now();
    connected = false;
    c.end().catch(() => {});
    schedule();
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
    const waiting: Change[] = [];
    let replaying = true;
    c.on("error", () => lost(c));
    c.on("end", () => lost(c));
    c.on("notification", (message) => {
      try {
        const change = JSON.parse(message.payload ?? "") as Change;
        if (replaying) waiting.push(change);
        else deliver(change);
      } catch {
        // Not ours: ignore what cannot be parsed.
      }
    });
    try {
      await options.ensureSchema();
      await c.connect();
      await c.query(`LISTEN ${options.channel}`);
      const { rows } = await c.query<ChangeRow>(
        `SELECT * FROM ${options.changesTable} WHERE expires_at > $1 ORDER BY seq`,
        [Date.now() - REVOCATION_MARGIN_MS],
      );
      for (const row of rows) deliver(fromRow(row));
      replaying = false;
      for (const change of waiting) deliver(change);
      connected = true;
    } catch {
      lost(c);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      disconnectedSince = Number.NEGATIVE_INFINITY;
      void open();
    },
    stop() {
      running = false;
      if (retry) clearTimeout(retry);
      retry = null;
      const c = client;
      client = null;
      connected = false;
      c?.end().catch(() => {});
    },
    /**
     * Milliseconds since the feed was last current (0 while connected and replayed, or not
     * running); Infinity until the first replay after `start` has completed.
     */
    lag: () => (!running || connected ? 0 : Date.now() - disconnectedSince),
  };
}
