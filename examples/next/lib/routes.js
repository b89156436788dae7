import { requireSession, signIn, signOut } from "sessionkit/adapters/next";
import { checkPassword } from "../../users.js";

/**
 * The route handlers, by route and method (`app/api/login/route.js` exports `login.post` as
 * `POST`), made from one manager: lib/sessions.js in the app, another in tests. Each renews
 * the session itself when due: a route handler can set cookies.
 */
export function createRoutes(sessions) {
  return {
    login: {
      // JSON from scripts, or the /login page's plain HTML form (then a 303 to the next page).
      post: async (request) => {
        const form = !request.headers.get("content-type")?.includes("application/json");
        const body = form
          ? Object.fromEntries(await request.formData().catch(() => new FormData()))
          : await request.json().catch(() => ({}));
        const userId = checkPassword(body.username, body.password);
        if (!userId) {
          if (form) return Response.redirect(new URL("/login?failed=1", request.url), 303);
          return Response.json({ error: "wrong username or password" }, { status: 401 });
        }
        // A cross-site sign-in (login CSRF) answers 403 problem+json here, never a 500.
        return signIn(sessions, request, { userId }, (session) =>
          form
            ? Response.redirect(new URL(localPath(body.next), request.url), 303)
            : Response.json({ userId: session.userId }),
        );
      },
    },
    me: {
      get: requireSession(sessions, (_request, session) =>
        Response.json({ userId: session.userId }),
      ),
    },
    logout: {
      // A cross-site sign-out riding the cookie answers 403 and changes nothing.
      post: (request) => signOut(sessions, request),
    },
  };
}

/** Only a path of this site: `?next=//evil.example` must not make an open redirect. */
function localPath(value) {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//")
    ? value
    : "/account";
}
