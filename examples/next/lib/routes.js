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
            ? // A relative Location: behind a proxy, request.url is Next's own address.
              new Response(null, { status: 303, headers: { location: localPath(body.next) } })
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

/**
 * Only a path of this site, or /account: `?next=//evil.example` must not make an open redirect,
 * nor "/\\evil.example" or "/\t/evil.example", which a URL parser reads as "//evil.example".
 */
function localPath(value) {
  if (typeof value !== "string" || !value.startsWith("/")) return "/account";
  const base = "http://this.invalid";
  const url = new URL(value, base);
  return url.origin === base ? `${url.pathname}${url.search}${url.hash}` : "/account";
}
