import {
  createSessionManager,
  type SessionManagerOptions,
  type SessionStore,
} from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";

export const ORIGIN = "https://app.example";
export const T0 = Date.UTC(2027, 0, 1);

/** A clock the test moves by hand. */
export function manualClock(start = T0) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

export function setup(
  overrides: Partial<SessionManagerOptions> = {},
  store: SessionStore = memoryStore(),
) {
  const clock = manualClock();
  const manager = createSessionManager({
    strategy: "id",
    store,
    clock: clock.now,
    csrf: { origins: [ORIGIN] },
    cleanup: false,
    lifetimes: { idle: "30m", absolute: "12h", renewal: "1h", grace: "10s" },
    ...overrides,
  });
  return { manager, store, clock };
}

/** The `name=value` part of each `Set-Cookie`, keyed by name. */
export function cookiesOf(headers: Headers): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const eq = pair.indexOf("=");
    out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

export function requestWith(
  init: {
    cookie?: string;
    bearer?: string;
    method?: string;
    headers?: Record<string, string>;
  } = {},
): Request {
  const headers = new Headers(init.headers);
  if (init.cookie !== undefined) headers.set("cookie", init.cookie);
  if (init.bearer !== undefined) headers.set("authorization", `Bearer ${init.bearer}`);
  return new Request("https://app.example/api/thing", { method: init.method ?? "GET", headers });
}

export const withSid = (token: string, init: Parameters<typeof requestWith>[0] = {}) =>
  requestWith({ ...init, cookie: `__Host-sid=${token}` });
