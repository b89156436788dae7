import { createSessionManager, type SessionManager, type SessionManagerOptions } from "../index.js";
import { demoFeed, watchFeed } from "./demo-feed.js";

/** What the three managers of the reference server share. */
export type CommonOptions = Omit<SessionManagerOptions, "strategy" | "audience"> & {
  issuer: string;
};

/**
 * The reference server's three managers, one per strategy, built in one place for the server
 * and its tests: DPoP for header-transport clients that prove a key (optional: a client
 * without one signs in as before), and DBSC for the `id` session cookie and the `hybrid` refresh
 * cookie (browsers without it are unaffected). One audience per strategy: a token of one never passes for another's.
 * The `jwt` and `hybrid` managers listen to the change feed through a watch of the demo's
 * (`demoFeed`): the side-by-side page shows how long a revocation took to reach them.
 */
export function referenceManagers(
  common: CommonOptions,
  options: { idCacheMs?: number; publicOrigin?: string } = {},
): Record<"id" | "jwt" | "hybrid", SessionManager> {
  // Behind a proxy or TLS terminator the server sees another URL than the one clients sign
  // in their DPoP proofs: the configured public origin is that one.
  const dpop = options.publicOrigin ? { origin: options.publicOrigin } : {};
  const shared = { ...common, dpop };
  return {
    id: createSessionManager({
      ...shared,
      strategy: "id",
      deviceBound: {
        registrationPath: "/api/id/dbsc/register",
        refreshPath: "/api/id/dbsc/refresh",
      },
      ...(options.idCacheMs ? { cache: { maxAge: options.idCacheMs } } : {}),
    }),
    jwt: watched(common.store, (store) =>
      createSessionManager({
        ...shared,
        store,
        strategy: "jwt",
        audience: `${common.issuer}/api/jwt`,
      }),
    ),
    hybrid: watched(common.store, (store) =>
      createSessionManager({
        ...shared,
        store,
        strategy: "hybrid",
        audience: `${common.issuer}/api/hybrid`,
        deviceBound: {
          registrationPath: "/api/hybrid/dbsc/register",
          refreshPath: "/api/hybrid/dbsc/refresh",
        },
      }),
    ),
  };
}

/** A manager made over a watched feed of `store`, and registered with it (`feedOf`). */
function watched(
  store: CommonOptions["store"],
  make: (store: CommonOptions["store"]) => SessionManager,
): SessionManager {
  const feed = demoFeed(store);
  return watchFeed(make(feed.store), feed);
}
