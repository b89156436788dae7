/** Strategies side by side: sign in with every strategy, then revoke and retry each. */
import { createSessionClient } from "./client/index.js";
import { jsonRequest, onClick, onSubmit, pageConfig, setText } from "./shared.js";

/** Rendered by the `/strategies` route (src/server/side-by-side.ts). */
interface Config {
  strategies: string[];
  lab: boolean;
  maxLagMs: number;
}

/** One strategy's column, as `/api/strategies/state` answers it. */
interface StrategyState {
  signedIn: boolean;
  deviceBound: boolean;
  firstMicros: number;
  medianMicros: number | null;
  stored: string;
  cookies: Array<{ name: string; flags: string; size: number | null }>;
}

/** What the feed did with a revocation this page made (src/server/side-by-side-api.ts). */
type FeedNote = { heardAfterMs: number } | { heardAfterMs: null; held: boolean } | null;

interface Check {
  status: number;
  accepted: boolean;
  reason?: string;
  explanation?: string;
  feed: FeedNote;
  family?: { gone: boolean } | null;
}

interface FeedState {
  paused: boolean;
  pausedForMs: number | null;
  failsClosedAt: number | null;
  failedClosed: boolean;
  held: number;
  maxLagMs: number;
}

const { strategies, lab } = pageConfig<Config>();
const client = createSessionClient();
// The first state this page asked for: its verification is the cold one.
let first = true;

const signedIn = (s: StrategyState) =>
  !s.signedIn ? "no" : s.deviceBound ? "yes, device-bound (DBSC)" : "yes";

function cookieItem(c: StrategyState["cookies"][number]) {
  const li = document.createElement("li");
  const size = c.size === null ? "not sent to this page" : `${c.size} bytes`;
  li.textContent = `${c.name}: ${size} (${c.flags})`;
  return li;
}

// Whether any column is signed in: the feed switch needs a session, and asking without one
// would only earn a 401.
let anySignedIn = false;

async function refresh() {
  const r = await fetch("/api/strategies/state", { credentials: "same-origin" });
  const state = (await r.json()) as Record<string, StrategyState>;
  anySignedIn = Object.values(state).some((s) => s.signedIn);
  for (const [strategy, s] of Object.entries(state)) {
    setText(`${strategy}-state`, signedIn(s));
    setText(`${strategy}-median`, s.medianMicros === null ? "—" : String(s.medianMicros));
    if (first || s.medianMicros === null) setText(`${strategy}-first`, String(s.firstMicros));
    setText(`${strategy}-stored`, s.stored);
    document.getElementById(`${strategy}-cookies`)?.replaceChildren(...s.cookies.map(cookieItem));
  }
  first = false;
}

const time = (ms: number) => (ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);

/** How the feed reached the manager, in words. */
function feedWords(feed: FeedNote): string {
  if (!feed) return "";
  if (feed.heardAfterMs !== null) {
    // This instance made the revocation, so its own store hands it over at once; another
    // instance would hear it through the store's change feed, within maxLag.
    return ` This instance's manager heard it ${time(feed.heardAfterMs)} after the revocation (it made it; another instance hears it through the store's change feed, within maxLag).`;
  }
  return feed.held
    ? " The change feed is paused: this instance has not heard of the revocation."
    : " The change feed has not reached this instance yet.";
}

function describe(strategy: string, c: Check): string {
  if (c.accepted) {
    const held = c.feed && c.feed.heardAfterMs === null;
    return held
      ? `HTTP 200: still accepted although revoked.${feedWords(c.feed)} The token verifies with no I/O, so nothing tells the verifier, until the feed's silence passes maxLag.`
      : "HTTP 200: accepted.";
  }
  let text = `HTTP ${c.status}, refused (${c.reason ?? "invalid"}): ${c.explanation ?? "the token is not valid here"}.`;
  if (c.reason === "revoked") text += feedWords(c.feed);
  if (strategy === "hybrid" && c.family) {
    text += c.family.gone
      ? " Refresh family: gone from the store, so the refresh token is refused too and no new access token can be minted."
      : " Refresh family: still in the store.";
  }
  return text;
}

async function check(strategy: string) {
  const r = await fetch(`/api/strategies/check?strategy=${encodeURIComponent(strategy)}`, {
    credentials: "same-origin",
  });
  setText(`${strategy}-check`, describe(strategy, (await r.json()) as Check));
}

onSubmit("all-form", async (d) => {
  setText("all-error", "");
  const credentials = { username: d.username, password: d.password };
  for (const strategy of strategies) {
    const r = await client.fetch(`/api/${strategy}/login`, jsonRequest("POST", credentials));
    if (!r.ok) {
      // One failure is enough: the same credentials would fail for every strategy, and each
      // try counts against the sign-in limit.
      const problem = (await r.json().catch(() => ({}))) as { title?: string; code?: string };
      const text = `Sign-in failed (HTTP ${r.status}${problem.code ? ` ${problem.code}` : ""}): ${problem.title ?? r.statusText}`;
      setText("all-error", text);
      break;
    }
  }
  await refresh();
});
onClick("[data-revoke-strategy]", async (button) => {
  const strategy = button.dataset.revokeStrategy ?? "";
  const r = await client.fetch("/api/strategies/revoke", jsonRequest("POST", { strategy }));
  if (!r.ok) {
    const problem = (await r.json().catch(() => ({}))) as { title?: string };
    setText(
      `${strategy}-check`,
      r.status === 401
        ? `Nothing to revoke: not signed in with ${strategy}.`
        : `Not revoked (HTTP ${r.status}): ${problem.title ?? r.statusText}`,
    );
    return;
  }
  const answer = (await r.json()) as { feed: FeedNote; family: { gone: boolean } | null };
  const family = answer.family?.gone ? " Its refresh family is deleted from the store." : "";
  setText(`${strategy}-check`, `revoked.${feedWords(answer.feed)}${family} Send a request.`);
  await refresh();
  if (lab) await feedStatus();
});
onClick("[data-check]", async (button) => {
  await check(button.dataset.check ?? "");
  await refresh();
});

// The --lab experiment: the jwt manager's feed held back, and the moment maxLag fails it closed.
let watching: ReturnType<typeof setInterval> | null = null;
async function feedStatus() {
  const r = await fetch("/api/strategies/feed", { credentials: "same-origin" });
  const f = (await r.json()) as FeedState;
  if (!f.paused || f.failsClosedAt === null) {
    setText("feed-state", "The change feed flows: revocations reach the jwt manager at once.");
    if (watching) clearInterval(watching);
    watching = null;
    return;
  }
  const at = new Date(f.failsClosedAt).toLocaleTimeString(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    fractionalSecondDigits: 3,
  });
  const held = `${f.held} revocation(s) held`;
  setText(
    "feed-state",
    f.failedClosed
      ? `Failed closed at ${at}: the feed has been paused ${time(f.pausedForMs ?? 0)}, past maxLag (${time(f.maxLagMs)}); every jwt token is refused (503) until it resumes. ${held}.`
      : `Paused for ${time(f.pausedForMs ?? 0)}: a revoked jwt still works until maxLag (${time(f.maxLagMs)}) fails it closed at ${at}. ${held}.`,
  );
  watching ??= setInterval(() => void feedStatus(), 250);
}
const setPaused = async (paused: boolean) => {
  if (paused && !anySignedIn) {
    setText(
      "feed-state",
      "Sign in above first: the switch stops revocations for everyone on this server, so it takes a signed-in session.",
    );
    return;
  }
  const r = await client.fetch("/api/strategies/feed", jsonRequest("POST", { paused }));
  if (!r.ok) {
    const problem = (await r.json().catch(() => ({}))) as { title?: string };
    setText(
      "feed-state",
      `The switch refused (HTTP ${r.status}): ${problem.title ?? r.statusText}`,
    );
    return;
  }
  await feedStatus();
};
onClick("#feed-pause", () => setPaused(true));
onClick("#feed-resume", () => setPaused(false));

refresh();
if (lab) void feedStatus();
