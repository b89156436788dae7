import type { SessionManager } from "../../core/manager.js";
import { isSessionError } from "../../errors.js";
import type { JsonObject } from "../../stores/types.js";
import { authenticateOutcome } from "../outcome.js";
import type { Backend } from "./backend.js";

/**
 * Sessions kept by a sessionkit manager (`id` strategy): its store, cookie, renewal, sliding
 * expiry, CSRF check, revocation and device lists. The manager names a session as it creates
 * it, so a new session's id is known once it is saved.
 */
export function managerBackend(manager: SessionManager<JsonObject>): Backend {
  return {
    online: () => true,
    sameSite: (request) => manager.checkCsrf(request, null),
    fresh: () => null,
    async load(_req, request) {
      const outcome = await authenticateOutcome(manager, request);
      if (outcome.error) throw outcome.error;
      const refusal = outcome.refusal?.status === 403 ? outcome.refusal : null;
      const session = outcome.session
        ? { id: outcome.session.id, token: null, data: outcome.session.data, cookie: null }
        : null;
      return { session, headers: outcome.headers, refusal };
    },
    async write({ id, data, userId, req, request }) {
      if (id === null) {
        const issued = await manager.create({
          // Nobody signed in yet: a guest session (`userId: null`), in nobody's list.
          userId,
          data,
          request,
          ip: req.ip ?? null,
        });
        return { id: issued.session.id, headers: issued.headers, gone: false };
      }
      try {
        const updated = await manager.update(id, () => data);
        return { id: updated.id, headers: null, gone: false };
      } catch (error) {
        if (!isSessionError(error, "SESSION_NOT_FOUND")) throw error;
        // Ended meanwhile (signed out elsewhere, revoked): not brought back by a write.
        const { headers } = await manager.logout(request);
        return { id, headers, gone: true };
      }
    },
    // The manager slides the expiry as it authenticates.
    touch: async () => {},
    async destroy(id, request) {
      await manager.revoke(id);
      // Clears the cookies when the request carried this session (the usual case).
      const { headers } = await manager.logout(request);
      return headers;
    },
    async reread(id) {
      const session = await manager.get(id);
      return session ? { data: session.data, cookie: null } : null;
    },
    pairOf(_token, headers) {
      const prefix = `${manager.cookieNames.session}=`;
      const cookie = headers?.getSetCookie().find((c) => c.startsWith(prefix));
      return cookie?.split(";")[0] ?? null;
    },
    cookieHeader: () => null,
  };
}
