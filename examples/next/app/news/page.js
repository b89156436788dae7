import { headers } from "next/headers";
import { readSession } from "sessionkit/adapters/next";
import { sessions } from "../../lib/sessions.js";

// A page for everyone that greets a signed-in visitor: a read, never a renewal.
export default async function News() {
  const session = await readSession(sessions, await headers());
  return (
    <>
      <h1 id="news">News</h1>
      <p id="greeting">{session ? `Welcome back, ${session.userId}.` : "Hello, visitor."}</p>
    </>
  );
}
