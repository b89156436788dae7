import type pg from "pg";
import type { LocalFeed } from "../feed.js";
import type { ChangeRow } from "../rows.js";
import type { RevocationReason, StrategyName } from "../types.js";

interface Change {
  seq: number;
  id: string;
  userId: string;
  strategy: StrategyName;
  expiresAt: number;
  reason: RevocationReason;
  origin: string;
}

/**
 * The PostgreSQL change feed: one dedicated connection LISTENs for the revocations other
 * instances NOTIFY. On every (re)connection it first replays the revocation log from the last
 * sequence number it saw (on the first, every revocation still live), so nothing said while
 * it was away is lost; notifications arriving during the replay wait for it. It reconnects by
 * itself, and reports how long it has been without a connection as its lag.
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
  let lastSeq: number | null = null;
  let connected = false;
  let disconnectedSince = Date.now();
  let retry: NodeJS.Timeout | null = null;

  const deliver = (change: Change) => {
    if (lastSeq !== null && change.seq <= lastSeq) return;
    lastSeq = change.seq;
    if (change.origin === options.origin) return; // announced locally when it was made
    const { id, userId, strategy, expiresAt, reason } = change;
    options.feed.emit({ type: "revoked", id, userId, strategy, expiresAt, reason });
  };
  const fromRow = (r: ChangeRow): Change => ({
    seq: Number(r.seq),
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
      const { rows } =
        lastSeq === null
          ? await c.query<ChangeRow>(
              `SELECT * FROM ${options.changesTable} WHERE expires_at > $1 ORDER BY seq`,
              [Date.now()],
            )
          : await c.query<ChangeRow>(
              `SELECT * FROM ${options.changesTable} WHERE seq > $1 ORDER BY seq`,
              [lastSeq],
            );
      if (lastSeq === null && rows.length === 0) {
        const { rows: top } = await c.query<{ seq: string | null }>(
          `SELECT max(seq) AS seq FROM ${options.changesTable}`,
        );
        lastSeq = Number(top[0]?.seq ?? 0);
      }
      for (const row of rows) deliver(fromRow(row));
      replaying = false;
      for (const change of waiting.sort((a, b) => a.seq - b.seq)) deliver(change);
      connected = true;
    } catch {
      lost(c);
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      disconnectedSince = Date.now();
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
    /** Milliseconds without a live feed connection (0 while connected or not running). */
    lag: () => (!running || connected ? 0 : Date.now() - disconnectedSince),
  };
}
