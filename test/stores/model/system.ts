import { join } from "node:path";
import {
  createSessionManager,
  type SessionManager,
  type SessionStore,
  type StrategyName,
} from "../../../src/index.js";
import { memoryStore } from "../../../src/stores/memory/index.js";
import { postgresStore } from "../../../src/stores/postgres/index.js";
import { redisStore } from "../../../src/stores/redis/index.js";
import { sqliteStore } from "../../../src/stores/sqlite/index.js";
import { generateKeySet } from "../../../src/tokens/keys.js";
import { deleteRedisKeys, dropPostgresTables } from "../../helpers/backends.js";
import { manualClock, ORIGIN } from "../../helpers/manager.js";
import { tcpProxy } from "../../helpers/proxy.js";
import { tempDir } from "../../helpers/tmp.js";

export type Backend = "memory" | "sqlite" | "postgres" | "redis" | "cluster";

/** The lifetimes every model run uses; the model reasons with the same numbers. */
export const LIFETIMES = {
  idle: 30 * 60_000,
  absolute: 2 * 3600_000,
  renewal: 10 * 60_000,
  access: 5 * 60_000,
  grace: 10_000,
} as const;
/** The verifier's clock tolerance for `exp` (jwt, hybrid access tokens). */
export const SKEW = 30_000;
/** `revocation.maxLag`, in real time. */
export const MAX_LAG = 1000;
/** The local cache's `maxAge` (manager clock) when the cache is on. */
export const CACHE_MAX_AGE = 5000;

export interface Variant {
  backend: Backend;
  strategy: StrategyName;
  cache: boolean;
}

interface Instance {
  manager: SessionManager;
  store: SessionStore;
  cut: boolean;
}

/**
 * Several managers ("instances") sharing one real backend, each through its own store object
 * (its own connections, feed subscription and cache), as separate processes would. Instances
 * of PostgreSQL and Redis reach the server through their own TCP proxy, so that one of them
 * can lose the network while the others go on.
 */
export async function createSystem(variant: Variant, size: number, clusterUrl?: string) {
  const clock = manualClock();
  const keys = generateKeySet("HS256");
  const tag = `m${process.pid}${Math.random().toString(36).slice(2, 8)}_`;
  const dir = variant.backend === "sqlite" ? tempDir() : "";
  const shared = variant.backend === "memory" ? memoryStore() : null;
  const proxies =
    variant.backend === "postgres" || variant.backend === "redis"
      ? await Promise.all(
          Array.from({ length: size }, () => tcpProxy(variant.backend === "redis" ? 6379 : 5432)),
        )
      : [];

  const openStore = (i: number): SessionStore => {
    const port = proxies[i]?.port;
    switch (variant.backend) {
      case "memory":
        return shared as SessionStore;
      case "sqlite":
        return sqliteStore({ path: join(dir, "model.sqlite"), pollIntervalMs: 10 });
      case "postgres":
        return postgresStore({
          connectionString: `postgres://postgres@127.0.0.1:${port}/test`,
          tablePrefix: tag,
          connectTimeoutMs: 500,
        });
      case "redis":
        return redisStore({ url: `redis://127.0.0.1:${port}`, prefix: tag, commandTimeoutMs: 500 });
      case "cluster":
        return redisStore({ url: clusterUrl ?? "", prefix: tag, commandTimeoutMs: 1000 });
    }
  };
  const openManager = (store: SessionStore) =>
    createSessionManager({
      strategy: variant.strategy,
      store,
      keys,
      issuer: ORIGIN,
      audience: `model-${variant.strategy}`,
      clock: clock.now,
      csrf: { origins: [ORIGIN] },
      cleanup: false,
      lifetimes: LIFETIMES,
      revocation: { maxLag: MAX_LAG },
      ...(variant.cache ? { cache: { maxAge: CACHE_MAX_AGE } } : {}),
    });

  /**
   * A new instance serves once its feed has replayed (as the reference server waits before it
   * listens); until then jwt/hybrid verification fails closed. Without network it cannot.
   */
  const ready = async (store: SessionStore, within = 5000) => {
    const deadline = Date.now() + within;
    while ((store.feedLag?.() ?? 0) > MAX_LAG / 2) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  };

  const instances: Instance[] = [];
  for (let i = 0; i < size; i++) {
    const store = openStore(i);
    instances.push({ store, manager: openManager(store), cut: false });
    // The first store creates the schema; the others open it once it exists.
    if (i === 0) await store.ping();
  }
  for (const x of instances) {
    if (!(await ready(x.store))) throw new Error(`a ${variant.backend} feed did not start in 5 s`);
  }

  const at = (i: number) => instances[i % instances.length] as Instance;
  return {
    variant,
    clock,
    size,
    cuttable: proxies.length > 0,
    manager: (i: number) => at(i).manager,
    isCut: (i: number) => at(i).cut,
    anyCut: () => instances.some((x) => x.cut),
    /** A restart: the instance's manager and store are replaced by new ones on the same backend. */
    async restart(i: number) {
      const old = at(i);
      old.manager.close();
      if (!shared) await old.store.close().catch(() => {});
      const store = openStore(i % size);
      instances[i % size] = { store, manager: openManager(store), cut: old.cut };
      return old.cut || (await ready(store));
    },
    cut(i: number) {
      const proxy = proxies[i % size];
      if (!proxy) return;
      proxy.cut();
      at(i).cut = true;
    },
    /** Restores the network and waits until the instance's store and feed are current again. */
    async restore(i: number, within = 5000): Promise<boolean> {
      const proxy = proxies[i % size];
      if (!proxy) return true;
      proxy.restore();
      at(i).cut = false;
      const deadline = Date.now() + within;
      while (Date.now() < deadline) {
        const store = at(i).store;
        const ok = await store.ping().then(
          () => true,
          () => false,
        );
        if (ok && (store.feedLag?.() ?? 0) === 0) return true;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return false;
    },
    async close() {
      for (const proxy of proxies) proxy.restore();
      for (const x of instances) x.manager.close();
      if (shared) await shared.close();
      else for (const x of instances) await x.store.close().catch(() => {});
      for (const proxy of proxies) await proxy.close();
      if (variant.backend === "postgres") await dropPostgresTables(tag);
      if (variant.backend === "redis") await deleteRedisKeys(tag);
      if (variant.backend === "cluster") {
        for (const node of (clusterUrl ?? "").replace("redis-cluster://", "").split(",")) {
          await deleteRedisKeys(tag, `redis://${node}`).catch(() => {});
        }
      }
    },
  };
}

export type System = Awaited<ReturnType<typeof createSystem>>;
