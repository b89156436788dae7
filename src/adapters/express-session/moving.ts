import type { Request, Response } from "express";
import type { LegacySession, legacyReader } from "./legacy.js";
import type { RequestSession } from "./request-session.js";

const MOVED_GRACE_MS = 10_000;
const MOVED_KEPT = 10_000;

type Legacy = ReturnType<typeof legacyReader>;

/** Ends a move: the cookie (`name=value`) the session moved to, or `null` when it did not. */
export type Release = (pair: string | null) => void;

/**
 * Old express-session cookies being moved in this process: a second request with the same one
 * (a page's parallel requests, or a replay) waits for the first and then reads what it became.
 */
export class LegacyMoves {
  readonly #moving = new Map<string, Promise<string | null>>();
  // And for a short while after (as a renewed token's grace): requests a page sent together
  // with the first arrive after it finished, still carrying the old cookie.
  readonly #moved = new Map<string, { pair: string; until: number }>();

  /** The move of `sid` running now or just finished, if any: the cookie it moved to. */
  find(sid: string): Promise<string | null> | undefined {
    return this.#moving.get(sid) ?? this.#recently(sid);
  }

  /** Starts moving `sid`; synchronous, so that a concurrent request finds it. */
  begin(sid: string): Release {
    let done: Release = () => {};
    const pending = new Promise<string | null>((resolve) => {
      done = resolve;
    });
    this.#moving.set(sid, pending);
    return (pair) => {
      if (this.#moving.get(sid) === pending) this.#moving.delete(sid);
      if (pair) this.#moved.set(sid, { pair, until: Date.now() + MOVED_GRACE_MS });
      done(pair);
    };
  }

  #recently(sid: string): Promise<string | null> | undefined {
    const now = Date.now();
    for (const [key, entry] of this.#moved) {
      if (entry.until > now && this.#moved.size <= MOVED_KEPT) break;
      this.#moved.delete(key);
    }
    const entry = this.#moved.get(sid);
    return entry && entry.until > now ? Promise.resolve<string | null>(entry.pair) : undefined;
  }
}

/** A session read from the old store, and how to end its move. */
export interface Move {
  old: LegacySession;
  release: Release;
}

/**
 * Reads the old session of `sid`, registered as moving first. `null` when there is none (the
 * move ends at once); `"cross-site"` when the request may not ride it, as it may not ride a
 * session cookie.
 */
export async function startMove(
  legacy: Legacy,
  moves: LegacyMoves,
  sid: string,
  sameSite: boolean,
): Promise<Move | null | "cross-site"> {
  const release = moves.begin(sid);
  let old: LegacySession | null = null;
  try {
    old = await legacy.read(sid);
  } finally {
    if (!old) release(null);
  }
  if (!old) return null;
  if (!sameSite) {
    release(null);
    return "cross-site";
  }
  return { old, release };
}

/**
 * Once the moved session is saved under its new id, or ended (destroy, regenerate): the old
 * record goes and the old cookie is cleared, so that it signs nobody in again.
 */
export function finishMove(legacy: Legacy, move: Move, state: RequestSession, res: Response) {
  state.markUnsaved();
  state.onSettled = async (pair) => {
    state.out(new Headers({ "set-cookie": legacy.clear }));
    await legacy.forget(move.old.sid);
    move.release(pair);
  };
  res.on("close", () => move.release(null));
}

/** The request's cookies with the old one replaced by `pair` (`name=value`), as if sent so. */
export function replaceCookie(req: Request, old: string, pair: string): void {
  const kept = (req.headers.cookie ?? "")
    .split(";")
    .map((part) => part.trim())
    .filter((part) => part !== "" && !part.startsWith(`${old}=`));
  req.headers.cookie = [...kept, pair].join("; ");
}
