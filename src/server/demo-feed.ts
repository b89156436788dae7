import type { SessionManager, SessionStore, StoreChange } from "../index.js";

/**
 * The change feed as one manager of the demo hears it: when each revocation reached the
 * manager (to show how long the feed took), and, for the `--lab` experiment only, a switch
 * that holds the feed back so that a revoked `jwt` token can be seen to work until `maxLag`
 * fails it closed. A wrapper of the reference server's; the library's core knows nothing of it.
 */
export interface DemoFeed {
  /** The store as the manager sees it: the same store, with `subscribe` and `feedLag` watched. */
  readonly store: SessionStore;
  /** When (`performance.now()`) the manager heard of this session's revocation, or null. */
  heardAt(sessionId: string): number | null;
  /** Since when (`performance.now()`) the feed is held back, or null when it flows. */
  pausedSince(): number | null;
  /** Revocations held back while paused, not yet heard by the manager. */
  held(): number;
  /** Holds the feed back, or lets it flow and delivers what was held, in order. */
  setPaused(paused: boolean): void;
}

/** Heard revocations remembered, newest kept: enough for a demo, bounded for a server. */
const REMEMBERED = 1000;
/** Revocations held while paused, at most: past it the feed flows again (memory stays bounded). */
const MAX_HELD = 10_000;

export function demoFeed(store: SessionStore, now: () => number = () => performance.now()) {
  const heard = new Map<string, number>();
  const held: Array<{ deliver: () => void; gone: () => boolean }> = [];
  let pausedSince: number | null = null;

  const note = (change: StoreChange) => {
    if (heard.has(change.id)) return; // the first delivery is when the manager learned it
    heard.set(change.id, now());
    if (heard.size > REMEMBERED) heard.delete(heard.keys().next().value as string);
  };

  const subscribe = (listener: (change: StoreChange) => void) => {
    let open = true;
    const unsubscribe = store.subscribe((change) => {
      const deliver = () => {
        if (!open) return;
        note(change);
        listener(change);
      };
      if (pausedSince === null) deliver();
      else {
        held.push({ deliver, gone: () => !open });
        if (held.length >= MAX_HELD) feed.setPaused(false);
      }
    });
    return () => {
      open = false;
      unsubscribe();
    };
  };

  // Paused, the feed is as far behind as the pause is long: past maxLag the verifier fails
  // closed exactly as it would for a feed that went silent.
  const feedLag = () => {
    const inner = store.feedLag?.() ?? 0;
    return pausedSince === null ? inner : Math.max(inner, now() - pausedSince);
  };

  // Methods bound to the store itself: a store's private fields are not the proxy's.
  const bound = new Map<PropertyKey, unknown>();
  const wrapped = new Proxy(store, {
    get(target, property) {
      if (property === "subscribe") return subscribe;
      if (property === "feedLag") return feedLag;
      const value = Reflect.get(target, property, target);
      if (typeof value !== "function") return value;
      let fn = bound.get(property);
      if (fn === undefined) {
        fn = value.bind(target);
        bound.set(property, fn);
      }
      return fn;
    },
  });

  const feed: DemoFeed = {
    store: wrapped,
    heardAt: (id) => heard.get(id) ?? null,
    pausedSince: () => pausedSince,
    held: () => held.filter((h) => !h.gone()).length,
    setPaused(paused) {
      if (paused) {
        pausedSince ??= now();
        return;
      }
      pausedSince = null;
      for (const h of held.splice(0)) h.deliver();
    },
  };
  return feed;
}

const feeds = new WeakMap<SessionManager, DemoFeed>();

/** Records which feed a manager of the demo listens through. */
export function watchFeed(manager: SessionManager, feed: DemoFeed): SessionManager {
  feeds.set(manager, feed);
  return manager;
}

/** The watched feed of a demo manager (`referenceManagers`), if it has one. */
export const feedOf = (manager: SessionManager | undefined): DemoFeed | null =>
  manager ? (feeds.get(manager) ?? null) : null;
