/** Strategies side by side: sign in with every strategy, then revoke and retry each. */
import { createSessionClient } from "./client/index.js";
import { jsonRequest, onClick, onSubmit, pageConfig, setText } from "./shared.js";

/** Rendered by the `/strategies` route (src/server/side-by-side.ts). */
interface Config {
  strategies: string[];
}

/** One strategy's column, as `/api/strategies/state` answers it. */
interface StrategyState {
  signedIn: boolean;
  deviceBound: boolean;
  micros: number;
  stored: string;
  cookies: Array<{ name: string; flags: string; size: number | null }>;
}

const { strategies } = pageConfig<Config>();
const client = createSessionClient();

const signedIn = (s: StrategyState) =>
  !s.signedIn ? "no" : s.deviceBound ? "yes, device-bound (DBSC)" : "yes";

function cookieItem(c: StrategyState["cookies"][number]) {
  const li = document.createElement("li");
  const size = c.size === null ? "not sent to this page" : `${c.size} bytes`;
  li.textContent = `${c.name}: ${size} (${c.flags})`;
  return li;
}

async function refresh() {
  const r = await fetch("/api/strategies/state", { credentials: "same-origin" });
  const state = (await r.json()) as Record<string, StrategyState>;
  for (const [strategy, s] of Object.entries(state)) {
    setText(`${strategy}-state`, signedIn(s));
    setText(`${strategy}-micros`, String(s.micros));
    setText(`${strategy}-stored`, s.stored);
    document.getElementById(`${strategy}-cookies`)?.replaceChildren(...s.cookies.map(cookieItem));
  }
}

onSubmit("all-form", async (d) => {
  const credentials = { username: d.username, password: d.password };
  for (const strategy of strategies) {
    await client.fetch(`/api/${strategy}/login`, jsonRequest("POST", credentials));
  }
  await refresh();
});
onClick("[data-revoke-strategy]", async (button) => {
  const strategy = button.dataset.revokeStrategy ?? "";
  await client.fetch("/api/strategies/revoke", jsonRequest("POST", { strategy }));
  setText(`${strategy}-check`, "revoked; send a request");
});
onClick("[data-check]", async (button) => {
  const strategy = button.dataset.check ?? "";
  const r = await fetch(`/api/${strategy}/me`, { credentials: "same-origin" });
  setText(`${strategy}-check`, `HTTP ${r.status}`);
  await refresh();
});
refresh();
