// Guards pages: a signed-out visitor of /account is sent to /login. Next.js runs middleware
// on Node.js when asked (`runtime: "nodejs"`), which sessionkit needs for node:crypto.
import { sessions } from "./lib/sessions.js";

export async function middleware(request) {
  const { session, headers } = await sessions.authenticate(request);
  if (session) return undefined; // carry on; renewal happens in the route handlers
  const login = new URL("/login", request.url);
  login.searchParams.set("next", new URL(request.url).pathname);
  const response = Response.redirect(login, 303);
  return headers.getSetCookie().length ? withCookies(response, headers) : response;
}

function withCookies(response, headers) {
  const out = new Response(null, { status: response.status, headers: response.headers });
  for (const cookie of headers.getSetCookie()) out.headers.append("set-cookie", cookie);
  return out;
}

export const config = { matcher: ["/account/:path*"], runtime: "nodejs" };
