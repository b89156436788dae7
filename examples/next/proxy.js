// Next.js 16 runs proxy.js (formerly middleware.js) on the Node.js runtime. Every page
// request passes here: this is where the session is renewed, since a Server Component
// cannot set a cookie. Route handlers renew for themselves (requireSession).
import { NextResponse } from "next/server";
import { sessionProxy } from "sessionkit/adapters/next";
import { sessions } from "./lib/sessions.js";

export const proxy = sessionProxy(sessions, NextResponse, {
  protect: ["/account"],
  signInPath: "/login",
});

export const config = {
  // Pages only: not the route handlers (they authenticate themselves) nor static files.
  matcher: ["/((?!api/|_next/static|_next/image|favicon.ico).*)"],
};
