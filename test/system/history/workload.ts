import { type Entry, fingerprint, now, type Op, type OpKind, type Strategy } from "./history.js";
import type { Answer, Endpoint } from "./http.js";

export const PASSWORD = "correct horse battery";

/** A session the client holds and believes alive. */
interface Held {
  id: string;
  strategy: Strategy;
  /** The token presented on requests (the id token, the JWT, or the hybrid access token). */
  token: string;
  tokenExp: number | undefined;
  /** hybrid: the current refresh token; null once the client lost track of it. */
  refresh: string | null;
  /** hybrid: refresh tokens this session replaced, with when the rotation was answered. */
  replaced: Array<{ token: string; at: number }>;
  /** Every token presented so far: after a revocation, each must be refused. */
  tokens: string[];
}

/** A session the client saw revoked (acknowledged), with every token it ever presented. */
interface Dead {
  id: string;
  strategy: Strategy;
  tokens: string[];
}

export interface WorkloadSettings {
  graceMs: number;
  /** How long after a revocation the client keeps probing for a refusal on every instance. */
  probeForMs: number;
  /** Pause between two operations of one client. */
  pauseMs: number;
}

/** A small seeded generator (mulberry32), so that a run's choices can be told by its seed. */
export function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const expOf = (token: string): number | undefined => {
  try {
    const claims = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString());
    return typeof claims.exp === "number" ? claims.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One client: signs in with every strategy on random instances, uses its sessions everywhere,
 * refreshes, logs out, revokes one session through another instance, revokes all, replays
 * replaced refresh tokens, and probes the tokens of sessions it saw revoked. Every request is
 * one operation in the history, whatever its outcome. Two clients share each user, so one's
 * revoke-all ends the other's sessions too.
 */
export class Client {
  readonly live: Held[] = [];
  readonly dead: Dead[] = [];
  readonly #random: () => number;

  constructor(
    readonly index: number,
    readonly user: string,
    readonly endpoints: Endpoint[],
    readonly history: Entry[],
    readonly settings: WorkloadSettings,
    seed: number,
  ) {
    this.#random = seeded(seed);
  }

  #pick<T>(items: readonly T[]): T | undefined {
    return items[Math.floor(this.#random() * items.length)];
  }
  #instance(): number {
    return Math.floor(this.#random() * this.endpoints.length);
  }

  async #op(
    fields: Omit<Op, "type" | "client" | "user" | "start" | "end" | "wallStart" | "status">,
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<Answer & { op: Op }> {
    const endpoint = this.endpoints[fields.instance];
    if (!endpoint) throw new Error(`no instance ${fields.instance}`);
    const wallStart = Date.now();
    const start = now();
    const answer = await endpoint.send(method, path, options);
    const op: Op = {
      type: "op",
      client: this.index,
      user: this.user,
      ...fields,
      start,
      end: now(),
      wallStart,
      status: answer.status,
    };
    if (answer.code) op.code = answer.code;
    this.history.push(op);
    return { ...answer, op };
  }

  /** Runs operations until `stop()` says so. */
  async run(stop: () => boolean): Promise<void> {
    while (!stop()) {
      await this.step();
      await sleep(this.settings.pauseMs);
    }
  }

  async step(): Promise<void> {
    const r = this.#random();
    const held = this.#pick(this.live);
    if (!held || (r < 0.12 && this.live.length < 6))
      return this.login(this.#pick(["id", "jwt", "hybrid"] as const) ?? "id");
    if (r < 0.55) return this.me(held, this.#instance());
    if (r < 0.7) {
      const hybrid = this.#pick(this.live.filter((h) => h.refresh));
      if (hybrid) return this.refresh(hybrid);
    }
    if (r < 0.75) return this.logout(held);
    if (r < 0.8) {
      const other = this.live.find((h) => h.strategy === held.strategy && h.id !== held.id);
      if (other) return this.revokeThrough(held, other);
    }
    if (r < 0.815) return this.revokeAll(held, this.#random() < 0.5);
    if (r < 0.86) {
      // Any session with a refresh token replaced longer ago than the grace will do.
      const pastGrace = now() - this.settings.graceMs - 500;
      // The one just replaced, or an older one: both are reuse.
      const newest = this.#random() < 0.5;
      for (const h of this.live) {
        const stale = h.replaced.filter((t) => t.at < pastGrace);
        const token = newest ? stale.at(-1) : stale[0];
        if (token) return this.reuse(h, token.token);
      }
      // Sessions rarely live long enough here for that: make one that does, now and then.
      if (r < 0.82) return this.reuseScenario(newest ? 1 : 2);
    }
    const dead = this.#pick(this.dead);
    if (dead) await this.probe(dead, this.#instance());
  }

  async login(strategy: Strategy, instance = this.#instance()): Promise<void> {
    const a = await this.#op(
      { kind: "login", strategy, instance, session: null },
      "POST",
      `/api/${strategy}/login`,
      {
        body: { username: this.user, password: PASSWORD, transport: "header" },
      },
    );
    const session = a.json?.session as { id?: string; expiresAt?: string } | undefined;
    const token = a.json?.accessToken;
    if (a.status !== 200 || typeof session?.id !== "string" || typeof token !== "string") return;
    a.op.created = session.id;
    const refresh = typeof a.json?.refreshToken === "string" ? a.json.refreshToken : null;
    this.live.push({
      id: session.id,
      strategy,
      token,
      tokenExp: strategy === "id" ? Date.parse(session.expiresAt ?? "") : expOf(token),
      refresh,
      replaced: [],
      tokens: [token],
    });
  }

  /** Sends a request with the session's token and follows a renewed token. */
  async #authed(
    held: Held,
    kind: OpKind,
    instance: number,
    method: string,
    path: string,
    extra: Partial<Op> = {},
    body?: unknown,
  ) {
    const a = await this.#op(
      {
        kind,
        strategy: held.strategy,
        instance,
        session: held.id,
        ...(held.tokenExp ? { tokenExp: held.tokenExp } : {}),
        ...extra,
      },
      method,
      path,
      { token: held.token, ...(body === undefined ? {} : { body }) },
    );
    const renewed = a.headers["x-session-token"];
    if (typeof renewed === "string" && renewed !== "") {
      held.token = renewed;
      held.tokens.push(renewed);
      held.tokenExp = held.strategy === "id" ? held.tokenExp : expOf(renewed);
    }
    // Refused: whoever revoked it, the client stops using it (the checker judges the refusal).
    if (a.status === 401) this.#forget(held, false);
    return a;
  }

  me(held: Held, instance: number) {
    return this.#authed(held, "me", instance, "GET", `/api/${held.strategy}/me`).then(() => {});
  }

  async refresh(held: Held): Promise<void> {
    const token = held.refresh;
    if (!token) return;
    const first = now();
    // A refresh without an answer may have rotated on the server: the same token again,
    // within the grace window, gets the same successor. Past it, the client gives the token up
    // (presenting it again would rightly be taken for theft).
    for (let attempt = 0; now() - first < this.settings.graceMs - 500; attempt++) {
      const a = await this.#op(
        {
          kind: "refresh",
          strategy: "hybrid",
          instance: this.#instance(),
          session: held.id,
          refreshIn: fingerprint(token),
          ...(attempt > 0 ? { retry: true } : {}),
        },
        "POST",
        "/api/hybrid/refresh",
        { body: { refreshToken: token } },
      );
      const access = a.json?.accessToken;
      const next = a.json?.refreshToken;
      if (a.status === 200 && typeof access === "string" && typeof next === "string") {
        a.op.refreshOut = fingerprint(next);
        held.replaced.push({ token, at: now() });
        if (held.replaced.length > 50) held.replaced.shift();
        held.refresh = next;
        held.token = access;
        held.tokens.push(access);
        held.tokenExp = expOf(access);
        return;
      }
      if (a.status === 401) {
        this.#forget(held, false);
        return;
      }
      await sleep(100);
    }
    held.refresh = null;
  }

  async logout(held: Held): Promise<void> {
    const a = await this.#authed(
      held,
      "logout",
      this.#instance(),
      "POST",
      `/api/${held.strategy}/logout`,
    );
    if (a.status === 204) await this.#revoked([held]);
    else this.#forget(held, false);
  }

  /** Revokes `target` with another session of the same user, on an instance of its own. */
  async revokeThrough(caller: Held, target: Held): Promise<void> {
    const a = await this.#authed(
      caller,
      "delete",
      this.#instance(),
      "DELETE",
      `/api/${caller.strategy}/sessions/${target.id}`,
      { target: target.id },
    );
    if (a.status === 204) await this.#revoked([target]);
    else if (a.status !== 401) this.#forget(target, false);
  }

  async revokeAll(caller: Held, exceptCurrent: boolean): Promise<void> {
    const mine = this.live.filter(
      (h) => h.strategy === caller.strategy && (!exceptCurrent || h !== caller),
    );
    const a = await this.#authed(
      caller,
      "revoke-all",
      this.#instance(),
      "POST",
      `/api/${caller.strategy}/sessions/revoke-all`,
      { exceptCurrent },
      { exceptCurrent },
    );
    if (a.status === 200) await this.#revoked(mine);
    else for (const h of mine) this.#forget(h, false);
  }

  /** Presents a refresh token replaced longer ago than the grace: must revoke the session. */
  async reuse(held: Held, token: string): Promise<void> {
    const a = await this.#op(
      {
        kind: "reuse",
        strategy: "hybrid",
        instance: this.#instance(),
        session: held.id,
        refreshIn: fingerprint(token),
      },
      "POST",
      "/api/hybrid/refresh",
      { body: { refreshToken: token } },
    );
    if (a.status === 401) await this.#revoked([held]);
    else this.#forget(held, false);
  }

  /**
   * A hybrid session refreshed `generations` times, left alone past the grace, then its refresh
   * token from `generations` rotations back presented again: reuse, which ends the session.
   */
  async reuseScenario(generations: number): Promise<void> {
    await this.login("hybrid");
    const held = this.live.at(-1);
    if (held?.strategy !== "hybrid") return;
    for (let i = 0; i < generations; i++) await this.refresh(held);
    await sleep(this.settings.graceMs + 600);
    const token = held.replaced.at(-generations);
    if (token && this.live.includes(held)) await this.reuse(held, token.token);
  }

  async probe(dead: Dead, instance: number): Promise<number | null> {
    const token = this.#pick(dead.tokens) ?? "";
    const a = await this.#op(
      { kind: "probe", strategy: dead.strategy, instance, session: dead.id },
      "GET",
      `/api/${dead.strategy}/me`,
      { token },
    );
    return a.status;
  }

  /** Right after an acknowledged revocation: every instance, until each refuses. */
  async #revoked(sessions: Held[]): Promise<void> {
    const dead = sessions.map((h) => this.#forget(h, true)).filter((d): d is Dead => d !== null);
    const until = now() + this.settings.probeForMs;
    for (const d of dead) {
      const pending = new Set(this.endpoints.keys());
      while (pending.size > 0 && now() < until) {
        const statuses = await Promise.all(
          [...pending].map((i) => this.probe(d, i).then((s) => [i, s] as const)),
        );
        // Refused, or down (a stopped instance accepts nothing): this instance is done.
        for (const [i, s] of statuses) if (s === 401 || s === null) pending.delete(i);
        if (pending.size > 0) await sleep(20);
      }
    }
  }

  #forget(held: Held, keep: boolean): Dead | null {
    const at = this.live.indexOf(held);
    if (at >= 0) this.live.splice(at, 1);
    if (!keep) return null;
    const dead: Dead = { id: held.id, strategy: held.strategy, tokens: held.tokens.slice(-4) };
    this.dead.push(dead);
    if (this.dead.length > 8) this.dead.shift();
    return dead;
  }

  /** Probes the tokens of revoked sessions on one instance (just restarted, say). */
  async probeAll(instance: number): Promise<void> {
    for (const d of [...this.dead]) await this.probe(d, instance);
  }

  /** The final reads: every live session and every revoked one, on every instance. */
  async finalReads(): Promise<void> {
    for (const i of this.endpoints.keys()) {
      for (const held of [...this.live]) await this.me(held, i);
      await this.probeAll(i);
    }
  }
}
