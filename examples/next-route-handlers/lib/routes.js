import { requireSession, sessionErrorResponse, signIn } from "sessionkit/adapters/fetch";
import { checkPassword } from "../../users.js";

/** The route handlers, made from one manager (lib/sessions.js in the app, another in tests). */
export function createRoutes(sessions) {
  return {
    login: {
      POST: answeringSessionErrors(async (request) => {
        const body = await request.json().catch(() => ({}));
        const userId = checkPassword(body.username, body.password);
        if (!userId) return Response.json({ error: "wrong username or password" }, { status: 401 });
        const { session, headers } = await signIn(sessions, request, { userId });
        return Response.json({ userId: session.userId }, { headers });
      }),
    },
    me: {
      GET: requireSession(sessions, (_request, session) =>
        Response.json({ userId: session.userId }),
      ),
    },
    logout: {
      // Guarded, so that a cross-site request riding the cookie is refused (403).
      POST: requireSession(sessions, async (request) => {
        const { headers } = await sessions.logout(request);
        return new Response(null, { status: 204, headers });
      }),
    },
  };
}

/** 503 for an unreachable store, 403 for a cross-site sign-in; anything else is Next's. */
function answeringSessionErrors(handler) {
  return async (request) => {
    try {
      return await handler(request);
    } catch (error) {
      const response = sessionErrorResponse(error);
      if (response) return response;
      throw error;
    }
  };
}
