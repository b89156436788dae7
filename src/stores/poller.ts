import { type LocalFeed, REVOCATION_MARGIN_MS } from "./feed.js";
import type { ChangeRow } from "./rows.js";
import { changeOfLogRow } from "./rows.js";

/** How many log entries one read returns at most; a full batch is followed by another read. */
export const LOG_BATCH = 1000;

/** How a store's revocation log is read (synchronously: a failed read throws). */
export interface LogSource {
  /** The sequence number just before the first entry whose session can still matter at `since`. */
  replayFrom(since: number): number;
  /** Up to `LOG_BATCH` entries with a sequence number above `seq`, in sequence order. */
  after(seq: number): ChangeRow[];
}

/**
 * Follows a revocation log that other processes append to, for a store whose writers commit one
 * at a time (so that sequence numbers commit in order and a high-water mark is safe). Started,
 * it replays what is still inside its window (the local feed hands that replay to later
 * subscribers too), then reads what was added since, every `intervalMs`, while anyone listens.
 * A failed read (a locked file) is retried on the next tick: the failure shows on the store's
 * requests and ping, and the lag grows meanwhile.
 */
export function logPoller(options: {
  source: LogSource;
  feed: LocalFeed;
  /** This instance's mark in the log: it announced its own entries when it wrote them. */
  origin: string;
  intervalMs: number;
  /** False once the store is closed: nothing more is read. */
  isOpen: () => boolean;
}) {
  const { source, feed, origin } = options;
  let timer: NodeJS.Timeout | null = null;
  let seq = 0;
  // Set by `start`: the next read first finds where the replay of the log begins.
  let replayAt: number | null = null;
  let lastOk = Number.NEGATIVE_INFINITY;

  const poll = () => {
    if (feed.size === 0 || !options.isOpen()) return;
    try {
      if (replayAt !== null) seq = source.replayFrom(replayAt);
      replayAt = null;
      for (;;) {
        const rows = source.after(seq);
        for (const row of rows) {
          seq = Number(row.seq);
          if (row.origin !== origin) feed.emit(changeOfLogRow(row));
        }
        if (rows.length < LOG_BATCH) break;
      }
      lastOk = Date.now();
    } catch {
      // Retried on the next tick; the feed catches up once the log can be read.
    }
  };

  return {
    start() {
      if (timer) return;
      // Until the replay has run (a locked file can delay it), the feed is not current.
      replayAt = Date.now() - REVOCATION_MARGIN_MS;
      lastOk = Number.NEGATIVE_INFINITY;
      poll();
      timer = setInterval(poll, options.intervalMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
    /** Milliseconds since the log was last read through; 0 when stopped. */
    lag: () => (timer ? Date.now() - lastOk : 0),
  };
}
