import fc from "fast-check";
import { CookieJar } from "./jar.js";
import {
  active,
  call,
  checkRevoked,
  expectAuth,
  expectStored,
  fail,
  type Model,
  type ModelSession,
  refusedWithin,
  request,
  tokenCookie,
} from "./model.js";
import { LIFETIMES, type System } from "./system.js";

type Command = fc.AsyncCommand<Model, System>;

/** SESSIONKIT_MODEL_TRACE=1 logs each command as it starts (to see where a run hangs). */
const TRACE = Boolean(process.env.SESSIONKIT_MODEL_TRACE);
/** Longer than any bounded wait a command makes (recovery 5 s, revocation bounds 1.5 s each). */
const HANG_MS = 20_000;

/** A command from its parts: fast-check prints `label` in a counterexample. */
const command = (
  label: string,
  run: (m: Model, sys: System) => Promise<void>,
  check: (m: Model) => boolean = () => true,
  scheduler?: fc.Scheduler,
): Command => ({
  check,
  async run(m, sys) {
    if (TRACE) console.log(`${new Date().toISOString()} ${label}`);
    // Liveness: an operation that never answers is a failure, not a stuck suite.
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`liveness: ${label} still running after ${HANG_MS} ms`)),
        HANG_MS,
      );
    });
    try {
      await Promise.race([run(m, sys), hung]);
    } finally {
      clearTimeout(timer);
    }
  },
  toString: () => (scheduler ? `${label} ${String(scheduler)}` : label),
});

const USERS = ["ada", "bob", "cy"];
const pick = (m: Model, n: number): ModelSession | undefined => m.sessions[n % m.sessions.length];
const hasSessions = (m: Model) => m.sessions.length > 0;

/** Applies a response's cookies; a new session token means the old one was replaced. */
function received(sys: System, s: ModelSession, headers: Headers, now: number): void {
  const name = tokenCookie(sys);
  const before = s.jar.clone();
  const previous = s.jar.get(name);
  s.jar.apply(headers);
  const next = s.jar.get(name);
  if (sys.variant.strategy === "id" && next !== undefined && next !== previous) {
    s.old = { jar: before, replacedAt: now };
  }
}

function revokedNow(s: ModelSession, sys: System, how: string) {
  s.status = "revoked";
  return checkRevoked(sys, s, how);
}

const signIn = (user: string, i: number) =>
  command(`signIn(${user}, @${i})`, async (m, sys) => {
    const now = sys.clock.now();
    const out = await call(sys, i, "create", () =>
      sys.manager(i).create({ userId: user, request: new Request("https://app.example/") }),
    );
    if (!out.ok) return;
    const jar = new CookieJar();
    jar.apply(out.value.headers);
    const end = Math.min(now + LIFETIMES.idle, now + LIFETIMES.absolute);
    m.sessions.push({
      user,
      id: out.value.session.id,
      jar,
      status: "live",
      createdAt: now,
      lo: end,
      hi: end,
      old: null,
      lenient: new Set(),
      fields: {},
    });
  });

const authenticate = (n: number, i: number) =>
  command(
    `authenticate(#${n}, @${i})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      const expected = expectAuth(sys, s, i);
      const now = sys.clock.now();
      const out = await call(sys, i, "authenticate", () =>
        sys.manager(i).authenticate(request(s.jar, "/api/thing")),
      );
      const ok = out.ok && out.value.session !== null;
      if (expected === false && ok) fail("I1", `${s.status} session ${s.id} accepted on @${i}`);
      if (expected === true && !ok) {
        fail("I2", `live session ${s.id} refused on @${i}: ${JSON.stringify(out)}`);
      }
      if (out.ok && out.value.session) {
        if (out.value.session.id !== s.id) fail("I1", `token of ${s.id} authenticated another`);
        const wrote = out.value.headers.getSetCookie().length > 0;
        received(sys, s, out.value.headers, now);
        if (s.status === "live") active(sys, s, now, wrote);
      }
    },
    hasSessions,
  );

/** A replaced credential: honoured only within the grace, and never a second successor. */
const replay = (n: number, i: number) =>
  command(
    `replayReplaced(#${n}, @${i})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      if (!s.old || s.status !== "live") return;
      const now = sys.clock.now();
      const age = now - s.old.replacedAt;
      const inGrace = age < LIFETIMES.grace - 1000;
      const pastGrace = age > LIFETIMES.grace + 1000;
      const expected = expectStored(sys, s);
      if (sys.variant.strategy === "hybrid") {
        const out = await call(sys, i, "refresh(replaced)", () =>
          sys.manager(i).refresh(request(s.old?.jar ?? s.jar, "/api/hybrid/refresh", "POST")),
        );
        if (!out.ok) return;
        const rt = sys.manager(i).cookieNames.refresh;
        if (out.value.session) {
          if (pastGrace) fail("I3", `refresh token of ${s.id} replaced ${age} ms ago accepted`);
          const successor = new CookieJar();
          successor.apply(out.value.headers);
          if (successor.get(rt) !== s.jar.get(rt)) {
            fail("I3", `replaced refresh token of ${s.id} got a second successor`);
          }
          return;
        }
        if (inGrace && expected === true && !sys.isCut(i)) {
          fail("I3", `replaced refresh token of ${s.id} refused within the grace`);
        }
        // Reuse after the grace ends the whole family: the current tokens die too.
        if (pastGrace && expected !== false) await revokedNow(s, sys, "reuse");
        return;
      }
      if (sys.variant.strategy !== "id") return;
      const out = await call(sys, i, "authenticate(replaced)", () =>
        sys.manager(i).authenticate(request(s.old?.jar ?? s.jar, "/api/thing")),
      );
      const ok = out.ok && out.value.session !== null;
      if (ok && pastGrace) fail("I3", `token of ${s.id} replaced ${age} ms ago accepted on @${i}`);
      if (out.ok && out.value.session) {
        const fresh = new CookieJar();
        fresh.apply(out.value.headers);
        const name = tokenCookie(sys);
        const handed = fresh.get(name);
        if (handed !== undefined && handed !== s.jar.get(name)) {
          fail("I3", `replaced token of ${s.id} got a second successor`);
        }
      }
    },
    hasSessions,
  );

const refresh = (n: number, i: number) =>
  command(
    `refresh(#${n}, @${i})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      if (sys.variant.strategy !== "hybrid") return;
      const expected = expectStored(sys, s);
      const now = sys.clock.now();
      const before = s.jar.clone();
      const out = await call(sys, i, "refresh", () =>
        sys.manager(i).refresh(request(s.jar, "/api/hybrid/refresh", "POST")),
      );
      const ok = out.ok && out.value.session !== null;
      if (ok && expected === false) fail("I1", `${s.status} session ${s.id} refreshed on @${i}`);
      if (!ok && expected === true && !sys.isCut(i)) {
        fail("I2", `live session ${s.id} not refreshed on @${i}: ${JSON.stringify(out)}`);
      }
      if (out.ok && out.value.session) {
        s.jar.apply(out.value.headers);
        s.old = { jar: before, replacedAt: now };
        if (s.status === "live") active(sys, s, now, true);
      }
    },
    hasSessions,
  );

/** I3: two instances rotate the same refresh token at once; both get one and the same successor. */
const refreshRace = (n: number, i: number, j: number, s: fc.Scheduler) =>
  command(
    `refreshRace(#${n}, @${i}, @${j})`,
    async (m, sys) => {
      const session = pick(m, n) as ModelSession;
      if (sys.variant.strategy !== "hybrid") return;
      const expected = expectStored(sys, session);
      const now = sys.clock.now();
      const before = session.jar.clone();
      const go = (k: number) =>
        s
          .schedule(Promise.resolve(k))
          .then(() =>
            call(sys, k, "refresh", () =>
              sys.manager(k).refresh(request(before, "/api/hybrid/refresh", "POST")),
            ),
          );
      const both = Promise.all([go(i), go(j)]);
      await s.waitAll();
      const outs = await both;
      const rt = sys.manager(i).cookieNames.refresh;
      const successors = new Set<string>();
      for (const out of outs) {
        const ok = out.ok && out.value.session !== null;
        if (ok && expected === false) fail("I1", `${session.status} ${session.id} refreshed`);
        if (!ok && expected === true && !sys.anyCut()) {
          fail("I3", `a racing refresh of live ${session.id} was refused: ${JSON.stringify(out)}`);
        }
        if (out.ok && out.value.session) {
          const jar = new CookieJar();
          jar.apply(out.value.headers);
          successors.add(jar.get(rt) ?? "");
          session.jar.apply(out.value.headers);
        }
      }
      if (successors.size > 1) fail("I3", `one rotation of ${session.id} made two successors`);
      if (successors.size === 1) {
        session.old = { jar: before, replacedAt: now };
        if (session.status === "live") active(sys, session, now, true);
      }
    },
    hasSessions,
    s,
  );

/** I4: two instances change different fields of one session at once; both changes survive. */
const updateRace = (n: number, i: number, j: number, value: number, s: fc.Scheduler) =>
  command(
    `updateRace(#${n}, @${i}, @${j}, ${value})`,
    async (m, sys) => {
      const session = pick(m, n) as ModelSession;
      const expected = expectStored(sys, session);
      const update = (k: number, field: string) =>
        s
          .schedule(Promise.resolve(k))
          .then(() =>
            call(sys, k, "update", () => sys.manager(k).update(session.id, { [field]: value + k })),
          );
      const both = Promise.all([update(i, `f${i}`), update(j, `g${j}`)]);
      await s.waitAll();
      const [a, b] = await both;
      if (expected === false && (a?.ok || b?.ok)) {
        fail("I4", `update of ${session.status} session ${session.id} succeeded`);
      }
      if (!a?.ok || !b?.ok) {
        if (expected === true && !sys.anyCut()) {
          fail("I4", `update of live ${session.id} failed: ${JSON.stringify([a, b])}`);
        }
        return;
      }
      session.fields[`f${i}`] = value + i;
      session.fields[`g${j}`] = value + j;
      const read = await call(sys, i, "get", () => sys.manager(i).get(session.id));
      if (!read.ok || !read.value) return;
      for (const [field, v] of Object.entries(session.fields)) {
        if (read.value.data[field] !== v) {
          fail("I4", `${session.id}.${field} is ${String(read.value.data[field])}, not ${v}`);
        }
      }
    },
    hasSessions,
    s,
  );

const revoke = (n: number, i: number) =>
  command(
    `revoke(#${n}, @${i})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      const expected = expectStored(sys, s);
      const out = await call(sys, i, "revoke", () => sys.manager(i).revoke(s.id));
      if (!out.ok) {
        if (s.status === "live") s.status = "unknown"; // the delete may or may not have landed
        return;
      }
      if (out.value === false && expected === true) fail("I5", `live ${s.id} not found to revoke`);
      // An expired record may still be there to delete; a revoked one must not.
      if (out.value === true && s.status === "revoked") fail("I1", `revoked ${s.id} found again`);
      if (s.status !== "unknown") await revokedNow(s, sys, "revoke");
    },
    hasSessions,
  );

const revokeUser = (user: string, i: number) =>
  command(`revokeUser(${user}, @${i})`, async (m, sys) => {
    const out = await call(sys, i, "revokeUser", () => sys.manager(i).revokeUser(user));
    const mine = m.sessions.filter((s) => s.user === user);
    if (!out.ok) {
      for (const s of mine) if (s.status === "live") s.status = "unknown";
      return;
    }
    for (const s of mine) {
      if (expectStored(sys, s) === true && !out.value.includes(s.id)) {
        fail("I5", `revokeUser(${user}) missed live ${s.id}`);
      }
      if (s.status !== "unknown") await revokedNow(s, sys, "revokeUser");
    }
  });

/** Sign-out with the browser's cookies: revokes the session and clears its cookies. */
const logout = (n: number, i: number) =>
  command(
    `logout(#${n}, @${i})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      const expected = expectAuth(sys, s, i);
      const path = `/api/${sys.variant.strategy}/logout`;
      const out = await call(sys, i, "logout", () =>
        sys.manager(i).logout(request(s.jar, path, "POST")),
      );
      if (!out.ok) {
        if (s.status === "live") s.status = "unknown";
        return;
      }
      const cleared = new Set(
        out.value.headers
          .getSetCookie()
          .filter((line) => /max-age=0/i.test(line))
          .map((line) => line.slice(0, line.indexOf("="))),
      );
      if (!cleared.has(tokenCookie(sys))) fail("I1", `logout left ${tokenCookie(sys)} set`);
      if (sys.variant.strategy === "hybrid" && !cleared.has(sys.manager(i).cookieNames.refresh)) {
        fail("I1", "logout left the refresh cookie set");
      }
      if (expected === true && !out.value.revoked)
        fail("I1", `logout of live ${s.id} revoked nothing`);
      // The copy in the model's jar plays the attacker's stolen cookies: they must die too.
      if (out.value.revoked && s.status !== "unknown") await revokedNow(s, sys, "logout");
    },
    hasSessions,
  );

/** I5: the list shows every live session of the user and no revoked or expired one. */
const list = (user: string, i: number) =>
  command(`list(${user}, @${i})`, async (m, sys) => {
    const out = await call(sys, i, "list", () => sys.manager(i).list(user));
    if (!out.ok) return;
    const ids = new Set(out.value.map((x) => x.id));
    for (const s of m.sessions.filter((x) => x.user === user)) {
      const expected = expectStored(sys, s);
      if (expected === true && !ids.has(s.id)) fail("I5", `list(${user}) misses live ${s.id}`);
      if (expected === false && ids.has(s.id))
        fail("I5", `list(${user}) shows ${s.status} ${s.id}`);
    }
  });

/** A mutated credential never authenticates, and nothing throws (I6). */
const forge = (n: number, i: number, at: number, char: string) =>
  command(
    `forge(#${n}, @${i}, ${at}, ${JSON.stringify(char)})`,
    async (m, sys) => {
      const s = pick(m, n) as ModelSession;
      const name = tokenCookie(sys);
      const token = s.jar.get(name);
      if (!token) return;
      const k = at % token.length;
      if (token[k] === char) return;
      const jar = s.jar.clone();
      jar.set(name, token.slice(0, k) + char + token.slice(k + 1));
      const out = await call(sys, i, "authenticate(forged)", () =>
        sys.manager(i).authenticate(request(jar, "/api/thing")),
      );
      if (out.ok && out.value.session) fail("I1", `a forged token authenticated ${s.id}`);
    },
    hasSessions,
  );

const advance = (ms: number) =>
  command(`advance(${ms})`, async (_m, sys) => {
    sys.clock.advance(ms);
  });

/** I2 across a restart: a new manager and store on the same backend. */
const restart = (i: number) =>
  command(`restart(@${i})`, async (_m, sys) => {
    if (!(await sys.restart(i))) fail("recovery", `restarted @${i} never caught up its feed`);
  });

const cut = (i: number) =>
  command(
    `cut(@${i})`,
    async (_m, sys) => {
      if (!sys.cuttable || sys.anyCut()) return;
      sys.cut(i);
    },
    () => true,
  );

/** The network returns: the instance recovers by itself, and hears what it missed (I1). */
const restore = () =>
  command("restore()", async (m, sys) => {
    for (let i = 0; i < sys.size; i++) {
      if (!sys.isCut(i)) continue;
      if (!(await sys.restore(i))) fail("recovery", `instance ${i} did not recover in 5 s`);
      for (const s of m.sessions) {
        if (!s.lenient.delete(i)) continue;
        const jars = s.old ? [s.jar, s.old.jar] : [s.jar];
        await refusedWithin(sys, i, jars, 1500, `revocation of ${s.id} missed while cut`);
      }
    }
  });

/** Every command, weighted: mostly traffic, some revocations, few restarts and cuts. */
export function commandArbitraries(size: number) {
  const inst = fc.nat({ max: size - 1 });
  const n = fc.nat({ max: 30 });
  const user = fc.constantFrom(...USERS);
  const signIns = fc.tuple(user, inst).map(([u, i]) => signIn(u, i));
  return [
    signIns,
    signIns,
    signIns,
    fc.tuple(n, inst).map(([a, i]) => authenticate(a, i)),
    fc.tuple(n, inst).map(([a, i]) => authenticate(a, i)),
    fc.tuple(n, inst).map(([a, i]) => replay(a, i)),
    fc.tuple(n, inst).map(([a, i]) => refresh(a, i)),
    fc.tuple(n, inst, inst, fc.scheduler()).map(([a, i, j, s]) => refreshRace(a, i, j, s)),
    fc
      .tuple(n, inst, inst, fc.nat({ max: 99 }), fc.scheduler())
      .map(([a, i, j, v, s]) => updateRace(a, i, j, v, s)),
    fc.tuple(n, inst).map(([a, i]) => revoke(a, i)),
    fc.tuple(user, inst).map(([u, i]) => revokeUser(u, i)),
    fc.tuple(n, inst).map(([a, i]) => logout(a, i)),
    fc.tuple(user, inst).map(([u, i]) => list(u, i)),
    fc
      .tuple(n, inst, fc.nat(), fc.constantFrom("A", "_", "-", ".", "0"))
      .map(([a, i, at, c]) => forge(a, i, at, c)),
    fc
      .constantFrom(1000, 9000, 20_000, 4 * 60_000, 8 * 60_000, 40 * 60_000, 3 * 3600_000)
      .map(advance),
    inst.map(restart),
    inst.map(cut),
    fc.constant(restore()),
  ];
}
