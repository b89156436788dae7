import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { readSession } from "sessionkit/adapters/next";
import { signOutNow } from "../../lib/actions.js";
import { sessions } from "../../lib/sessions.js";

// A Server Component cannot set cookies: it reads the session read-only. proxy.js renewed it
// (when due) before this ran, and handed this request the renewed cookie.
export default async function Account() {
  const session = await readSession(sessions, await headers());
  // proxy.js sends signed-out visitors to /login already; this covers a session that ended
  // between the two.
  if (!session) redirect("/login?next=/account");
  return (
    <>
      <h1 id="account">Account</h1>
      <p>
        Signed in as <b id="user">{session.userId}</b>, session{" "}
        <code id="session-id">{session.id}</code>, until{" "}
        <time>{session.expiresAt.toISOString()}</time>.
      </p>
      <form action={signOutNow}>
        <button id="sign-out" type="submit">
          Sign out
        </button>
      </form>
    </>
  );
}
