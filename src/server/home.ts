import type { Hono } from "hono";
import { findAuthCookie } from "../cookies/parse.js";
import type { FailureReason, SessionManager, StrategyName } from "../index.js";
import { type Env, publicUser } from "./http.js";
import { htmlPage, type PageOptions, renderPage, type SignedOutReason } from "./page.js";
import type { UserStore } from "./users.js";

// What a refused cookie says about how this device lost its session. `unknown_session` is an
// `id` cookie whose row is gone: revoked from another device (or removed after it expired,
// which the demo's long lifetimes make the rarer case). `hybrid` access tokens expire every
// few minutes by design: that is the refresh's business, not a reason to show.
const REASONS: Partial<Record<FailureReason, SignedOutReason>> = {
  revoked: "revoked",
  unknown_session: "revoked",
  expired: "expired",
};

/**
 * The home page: the sign-in and sign-up forms, or the signed-in user's devices. It also tells
 * the page's script whether a silent `hybrid` refresh can work (the refresh cookie's binding
 * came with the request and names a live session), so that a signed-out visit sends no request
 * bound to be refused, and why a device that was signed in no longer is.
 */
export function mountHome(
  app: Hono<Env>,
  options: {
    managers: Partial<Record<StrategyName, SessionManager>>;
    users: UserStore;
    accessLifetimeMs: number;
  },
) {
  const { managers, users } = options;
  app.get("/", async (c) => {
    const page: PageOptions = {
      user: null,
      sessions: [],
      strategies: Object.keys(managers),
      strategy: null,
      accessLifetimeMs: options.accessLifetimeMs,
      tryRefresh: false,
      signedOut: null,
    };
    const headers = new Headers();
    // The page shows the first strategy the browser is signed in with.
    for (const [strategy, manager] of Object.entries(managers) as Array<
      [StrategyName, SessionManager]
    >) {
      const result = await manager.authenticate(c.req.raw);
      // A refused cookie is cleared (its failure headers say so) and its reason kept.
      for (const cookie of result.headers.getSetCookie()) headers.append("set-cookie", cookie);
      if (!result.session) {
        const reason = REASONS[result.failure.reason];
        if (reason && !(strategy === "hybrid" && reason === "expired")) page.signedOut ??= reason;
        continue;
      }
      const userId = result.session.userId;
      const user = userId === null ? null : await users.byId(userId);
      if (!user) continue;
      page.user = publicUser(user);
      page.strategy = strategy;
      page.sessions = await manager.list(user.id, { current: result.session.id });
      break;
    }
    const hybrid = managers.hybrid;
    if (!page.user && hybrid) {
      // The refresh cookie goes to the refresh route only; its binding goes everywhere and
      // names the session. Only a binding whose MAC verifies is looked up: the page must not
      // tell a live session id from a dead one to whoever merely knows the id.
      const binding = findAuthCookie(c.req.header("cookie"), hybrid.cookieNames.refreshBinding);
      if (binding.status === "found") {
        const sessionId = hybrid.boundSessionId(c.req.raw);
        if (sessionId !== null && (await hybrid.get(sessionId))) {
          page.tryRefresh = page.signedOut === null;
        } else {
          // A genuine binding of an ended session: this device was signed out elsewhere. A
          // forged or junk one is no session of ours: cleared without a word.
          if (sessionId !== null) page.signedOut ??= "revoked";
          // The manager clears its cookies with the paths and attributes it set them with.
          for (const line of hybrid.clearCookies().getSetCookie()) {
            headers.append("set-cookie", line);
          }
        }
      }
    }
    if (page.user) page.signedOut = null;
    return htmlPage(renderPage(page), headers);
  });
}
