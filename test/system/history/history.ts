import { createHash } from "node:crypto";

/**
 * The history of a run: every client operation with its start and end on one monotonic clock
 * (the runner process's `performance.now()`: every client lives in that process, so times of
 * different clients compare exactly), its outcome, and the faults the runner injected. The
 * checker reads nothing else.
 */

export type Strategy = "id" | "jwt" | "hybrid";
export const STRATEGIES: readonly Strategy[] = ["id", "jwt", "hybrid"];

export type OpKind =
  /** POST /api/{s}/login; `created` is the new session on 200. */
  | "login"
  /** GET /api/{s}/me with the session's current token. */
  | "me"
  /** POST /api/hybrid/refresh with the session's current refresh token. */
  | "refresh"
  /** POST /api/hybrid/refresh with a refresh token already replaced longer ago than the grace. */
  | "reuse"
  /** POST /api/{s}/logout: revokes `session`. */
  | "logout"
  /** DELETE /api/{s}/sessions/{target}, authenticated by `session`. */
  | "delete"
  /** POST /api/{s}/sessions/revoke-all, authenticated by `session`. */
  | "revoke-all"
  /** GET /api/{s}/me with a token of a session the client saw revoked: must be refused. */
  | "probe";

export interface Op {
  type: "op";
  client: number;
  user: string;
  kind: OpKind;
  strategy: Strategy;
  /** Index of the server instance asked. */
  instance: number;
  /** The session whose credential the request presents; null for login. */
  session: string | null;
  /** delete: the session to revoke. */
  target?: string;
  /** revoke-all: whether the caller's own session is spared. */
  exceptCurrent?: boolean;
  /** refresh/reuse: short fingerprints of the refresh token presented and (on 200) received. */
  refreshIn?: string;
  refreshOut?: string;
  /** refresh: a repeat of a refresh whose outcome the client did not learn (same token). */
  retry?: boolean;
  /** Monotonic ms of the runner process. */
  start: number;
  end: number;
  /** Wall-clock ms at start, to compare with token expiry (which is wall-clock). */
  wallStart: number;
  /** Wall-clock ms at which the presented token or session expires, when known. */
  tokenExp?: number;
  /** HTTP status, or null when no answer came (connection refused or reset, timeout). */
  status: number | null;
  /** The problem `code` of an error answer, or the network error. */
  code?: string;
  /** login 200: the new session's id. */
  created?: string;
}

export interface Fault {
  type: "fault";
  /** cut: every store connection of every instance dropped, new ones refused. kill: SIGKILL. */
  kind: "cut" | "kill";
  /** kill: the instance. */
  instance?: number;
  /** cut: when the cut began; kill: when the signal was sent. */
  start: number;
  /** cut: when the store was reachable again; kill: when the new process listened. */
  end: number;
}

export type Entry = Op | Fault;

export interface HistoryMeta {
  backend: string;
  instances: number;
  /** The servers' `--max-lag`. */
  maxLagMs: number;
  /** The servers' `--refresh-grace`. */
  graceMs: number;
  /** How long the store's feed may go unread before its lag starts counting (see backend). */
  feedSlackMs: number;
  /** The servers' `--id-cache` (0: off). Absent in histories made before it existed: off. */
  idCacheMs?: number;
  durationMs: number;
  clients: number;
}

export interface History {
  meta: HistoryMeta;
  entries: Entry[];
}

/** The one clock of a run. */
export const now = () => performance.now();

/** A short, stable fingerprint of a token: enough to tell tokens apart in a history. */
export function fingerprint(token: string): string {
  return createHash("sha256").update(token).digest("base64url").slice(0, 10);
}
