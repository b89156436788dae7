import { describe, expect, it } from "vitest";
import type { SessionStore, StoreChange } from "../../src/index.js";
import { demoFeed } from "../../src/server/demo-feed.js";

// The --lab pause wraps the store's change feed: paused and resumed in any interleaving, every
// revocation reaches the manager once and in order, and nothing stays held for a listener gone.
function fakeStore() {
  const listeners = new Set<(change: StoreChange) => void>();
  const store = {
    subscribe(listener: (change: StoreChange) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    get: () => Promise.resolve(null),
  } as unknown as SessionStore;
  const emit = (id: string) => {
    const change: StoreChange = {
      type: "revoked",
      id,
      userId: "u",
      strategy: "jwt",
      expiresAt: 0,
      reason: "revoked",
    };
    for (const l of [...listeners]) l(change);
  };
  return { store, emit };
}

describe("the demo feed's pause", () => {
  it("delivers every revocation once and in order across random pause/resume interleavings", () => {
    const { store, emit } = fakeStore();
    let t = 0;
    const feed = demoFeed(store, () => t++);
    const heard: string[] = [];
    feed.store.subscribe((c) => heard.push(c.id));
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const sent: string[] = [];
    for (let i = 0; i < 5000; i++) {
      if (random() < 0.1) feed.setPaused(random() < 0.5);
      const id = `s${i}`;
      sent.push(id);
      emit(id);
    }
    feed.setPaused(false);
    expect(heard).toEqual(sent);
    expect(feed.held()).toBe(0);
  });

  it("fails closed while paused: the lag grows with the pause, and a listener gone holds nothing", () => {
    const { store, emit } = fakeStore();
    let now = 1000;
    const feed = demoFeed(store, () => now);
    const heard: string[] = [];
    const stop = feed.store.subscribe((c) => heard.push(c.id));
    feed.setPaused(true);
    for (let i = 0; i < 100; i++) emit(`s${i}`);
    now += 6000;
    expect(feed.store.feedLag?.()).toBe(6000);
    expect(feed.held()).toBe(100);
    stop();
    expect(feed.held()).toBe(0);
    feed.setPaused(false);
    expect(heard).toEqual([]);
    expect(feed.store.feedLag?.()).toBe(0);
  });
});
