import { createHash, generateKeyPairSync, randomUUID, sign } from "node:crypto";
import type { Hono } from "hono";
import { html } from "hono/html";
import { failureResponse, problem } from "../adapters/fetch.js";
import { isSessionError } from "../errors.js";
import { createSessionManager, type SessionManager } from "../index.js";
import { memoryStore } from "../stores/memory/index.js";
import { type Env, readTokenBody } from "./http.js";
import { htmlPage, layout } from "./page.js";

const NO_STORE = { "cache-control": "no-store" };

const OFF = html`<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2>
<p>The storage lab is off on this server. It hands a copy of a token to the page's own
scripts to show what an injected script could take, which is what no real site should do, so
it only runs where someone asked for it: start the server with <code>--lab</code> (or
<code>SESSIONKIT_LAB=1</code>) to try it.</p>
<p>What it shows is written up in <code>docs/browser-storage.md</code>: a script can read
<code>localStorage</code> and <code>sessionStorage</code>, never an <code>HttpOnly</code>
cookie.</p></section>`;

/**
 * The storage lab: a session token in an `HttpOnly` cookie, in `localStorage` and in
 * `sessionStorage`, and a simulated injected script that shows what it can read and do with
 * each. Off unless `enabled` (`--lab`): then the copies are of a lab token, not of the
 * session cookie, so that the one route that hands a token to scripts gives a real XSS
 * nothing to leave with. A lab token is a session of its own (header transport, this
 * process's memory, one per user, ten minutes) that `/api/lab/me` accepts and nothing else.
 */
export function mountLab(app: Hono<Env>, manager: SessionManager, options: { enabled: boolean }) {
  if (!options.enabled) {
    app.get("/lab", () => htmlPage(layout({ title: "Storage lab", body: OFF, script: "lab" })));
    return;
  }
  const labSessions = createSessionManager({
    strategy: "id",
    store: memoryStore(),
    transports: ["header"],
    lifetimes: { idle: "10m", absolute: "10m", renewal: "10m" },
    maxSessionsPerUser: 2,
    cleanup: false,
    // The bound row's lab token is DPoP-bound to a key the page holds and cannot export.
    dpop: {},
  });

  app.get("/lab", async (c) => {
    const result = await manager.authenticate(c.req.raw);
    const signedIn = result.session !== null;
    const deviceBound = result.session?.deviceBound === true;
    const body = signedIn
      ? html`<section aria-labelledby="lab"><h2 id="lab">Storage lab</h2>
<p>Your session token lives in an <code>HttpOnly</code> cookie. Put a token in
<code>localStorage</code> and <code>sessionStorage</code>, then run a script as an attacker's
injected script (XSS) would, and see what it gets.</p>
<p>The copies are of a lab token: it stands for your session at this lab's own route
(<code>/api/lab/me</code>) and is refused everywhere else, so that the lab itself gives a real
injected script nothing to take.</p>
<p><button type="button" id="lab-copy">Put a token in localStorage and sessionStorage</button>
<button type="button" id="lab-run">Run the injected script</button>
<button type="button" id="lab-clear">Remove the copies</button></p>
<table><caption>Where the token is, as this tab sees it now</caption>
<thead><tr><th scope="col">Kept in</th><th scope="col">Present</th><th scope="col">Script can read it</th><th scope="col">Works from the attacker's machine</th><th scope="col">Survives closing the tab</th></tr></thead>
<tbody>
<tr><th scope="row">HttpOnly cookie</th><td id="present-cookie">yes</td><td id="read-cookie">?</td><td id="use-cookie">?</td><td>yes, until it expires or you sign out</td></tr>
<tr><th scope="row">localStorage</th><td id="present-local">?</td><td id="read-local">?</td><td id="use-local">?</td><td>yes, and across browser restarts</td></tr>
<tr><th scope="row">sessionStorage</th><td id="present-session">?</td><td id="read-session">?</td><td id="use-session">?</td><td>no: one tab only</td></tr>
<tr><th scope="row">localStorage, bound with DPoP</th><td id="present-bound">?</td><td id="read-bound">?</td><td id="use-bound">?</td><td>yes, with the key in IndexedDB</td></tr>
<tr><th scope="row">HttpOnly cookie, bound with DBSC</th><td id="present-dbsc">${deviceBound ? "yes: this session is bound" : "no: this browser did not register a key"}</td><td>no</td><td id="use-dbsc">${deviceBound ? "only until it lapses (minutes), never renewed" : "yes, until it expires"}</td><td>yes, renewed by the browser's key</td></tr>
</tbody></table>
<p>The DPoP row's token is bound to a key this page made with WebCrypto and cannot export: an
injected script can read the token and can still <em>use</em> the key inside this tab while it
runs, but what it sends away is worthless. The "attacker's machine" column for that row is the
server trying the stolen token itself, as Bearer and with a proof from another key. The DBSC row
is for a copy of the cookie taken from the browser's files (malware, not a script): in browsers
that support DBSC the cookie lives a few minutes and only this browser's key renews it.</p>
<p id="lab-note">The script can still send requests that carry the cookie while the page is open
(it runs as the page); what <code>HttpOnly</code> prevents is taking the token away.</p></section>`
      : html`<section><h2>Storage lab</h2><p>Sign in with the <code>id</code> strategy on <a href="/">the main page</a> first.</p></section>`;
    // The script reads the session cookie's name as an injected script would know it.
    const config = { sessionCookie: manager.cookieNames.session };
    return htmlPage(layout({ title: "Storage lab", body, script: "lab", config }));
  });

  // A lab token for the signed-in user, to put where scripts can read it.
  app.post("/api/lab/copy", async (c) => {
    const result = await manager.authenticate(c.req.raw);
    if (!result.session) return failureResponse(result.failure, result.headers);
    if (result.session.transport !== "cookie" || result.session.userId === null) {
      return problem(401, "unauthorized", "Sign in with the id strategy first");
    }
    const issued = await labSessions.create({ userId: result.session.userId, transport: "header" });
    return Response.json({ token: issued.token }, { headers: NO_STORE });
  });

  // The same, bound with DPoP to the key the page proves in its request.
  app.post("/api/lab/copy-bound", async (c) => {
    const result = await manager.authenticate(c.req.raw);
    if (!result.session) return failureResponse(result.failure, result.headers);
    if (result.session.transport !== "cookie") {
      return problem(401, "unauthorized", "Sign in with the id strategy first");
    }
    try {
      const issued = await labSessions.create({
        userId: result.session.userId,
        transport: "header",
        request: c.req.raw,
      });
      if (!issued.session.deviceBound) return problem(400, "no_proof", "Send a DPoP proof");
      return Response.json({ token: issued.token }, { headers: NO_STORE });
    } catch (error) {
      if (isSessionError(error, "DPOP_REFUSED"))
        return problem(401, "invalid_dpop_proof", "DPoP proof refused");
      throw error;
    }
  });

  // The attacker's machine for a bound token: the token alone, and with a proof from a key of
  // the attacker's own. Both must be refused; the answer says how each was.
  app.post("/api/lab/attacker", async (c) => {
    const body = await readTokenBody(c.req.raw, 4096, {
      code: "invalid_token",
      title: "token: the stolen copy",
    });
    if (!body.ok) return body.response;
    const token = body.token;
    const target = new URL("/api/lab/me", c.req.url).href;
    const asBearer = await labSessions.authenticate(
      new Request(target, { headers: { authorization: `Bearer ${token}` } }),
    );
    const ownKey = await labSessions.authenticate(
      new Request(target, {
        headers: { authorization: `DPoP ${token}`, dpop: attackerProof(target, token) },
      }),
    );
    const verdict = (r: typeof asBearer) =>
      r.session ? "accepted" : `refused: ${r.failure.reason}`;
    return Response.json(
      { bearer: verdict(asBearer), ownKey: verdict(ownKey) },
      { headers: NO_STORE },
    );
  });

  // What the stolen copy opens: this route alone.
  app.get("/api/lab/me", async (c) => {
    const result = await labSessions.authenticate(c.req.raw);
    if (!result.session) return failureResponse(result.failure, result.headers);
    return Response.json({ userId: result.session.userId, lab: true }, { headers: NO_STORE });
  });
}

/** A DPoP proof for `url` from a key the attacker made: valid in itself, for another key. */
function attackerProof(url: string, token: string): string {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = publicKey.export({ format: "jwk" });
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const input = `${part({ alg: "ES256", typ: "dpop+jwt", jwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } })}.${part(
    {
      jti: randomUUID(),
      htm: "GET",
      htu: url,
      iat: Math.floor(Date.now() / 1000),
      ath: createHash("sha256").update(token).digest("base64url"),
    },
  )}`;
  const signature = sign("sha256", Buffer.from(input), {
    key: privateKey,
    dsaEncoding: "ieee-p1363",
  });
  return `${input}.${signature.toString("base64url")}`;
}
