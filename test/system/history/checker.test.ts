import { describe, expect, it } from "vitest";
import { check } from "./checker.js";
import type { Entry, Fault, History, Op } from "./history.js";
import { excerpt } from "./report.js";

// The checker judged on hand-made histories: each rule must fire on a history that breaks it
// (a checker that cannot fail proves nothing) and stay quiet on the legal variant beside it.
const META = {
  backend: "hand",
  instances: 3,
  maxLagMs: 1000,
  graceMs: 2000,
  feedSlackMs: 1000,
  durationMs: 10_000,
  clients: 2,
};
// jwt/hybrid bound: maxLag 1000 + feed slack 1000 + scheduling slack 250.
const TOKEN_BOUND = 2250;

function op(fields: Partial<Op> & Pick<Op, "kind">, start: number, ms = 10): Op {
  return {
    type: "op",
    client: 0,
    user: "alice",
    strategy: "id",
    instance: 0,
    session: "S1",
    start,
    end: start + ms,
    wallStart: 1_700_000_000_000 + start,
    status: 200,
    ...fields,
  };
}
const login = (created: string, at: number, fields: Partial<Op> = {}) =>
  op({ kind: "login", session: null, created, ...fields }, at);
const history = (...entries: Entry[]): History => ({ meta: META, entries });
const kinds = (h: History) => check(h).violations.map((v) => v.kind);

describe("history checker", () => {
  it("finds nothing wrong in a legal history of each strategy", () => {
    const h = history(
      login("S1", 0),
      op({ kind: "me", instance: 1 }, 20),
      op({ kind: "logout", instance: 2, status: 204 }, 40),
      op({ kind: "probe", instance: 0, status: 401 }, 60),
      login("J1", 100, { strategy: "jwt" }),
      op({ kind: "me", strategy: "jwt", session: "J1", instance: 2 }, 120),
      op({ kind: "logout", strategy: "jwt", session: "J1", status: 204 }, 140),
      // Accepted 100 ms after the revocation ended: within the jwt bound, and measured.
      op({ kind: "probe", strategy: "jwt", session: "J1", instance: 1 }, 250),
      op({ kind: "probe", strategy: "jwt", session: "J1", instance: 1, status: 401 }, 270),
    );
    const result = check(h);
    expect(result.violations).toEqual([]);
    expect(result.windows.id).toMatchObject({ count: 1, max: 0, boundMs: 0 });
    expect(result.windows.jwt).toMatchObject({ count: 1, max: 100, boundMs: TOKEN_BOUND });
  });

  it("I1: an id session accepted by a request that starts after its logout ended", () => {
    const h = history(
      login("S1", 0),
      op({ kind: "logout", status: 204 }, 20), // ends at 30
      op({ kind: "me", instance: 2 }, 31),
    );
    const result = check(h);
    expect(result.violations).toHaveLength(1);
    expect(result.violations[0]).toMatchObject({ kind: "I1", lateMs: 1 });
    expect(result.violations[0]?.cause?.kind).toBe("logout");
    expect(excerpt(h, result.violations[0] as never).join("\n")).toContain("logout on #0");
    // Concurrent with the logout (started before it ended): either answer is legal.
    expect(
      kinds(
        history(login("S1", 0), op({ kind: "logout", status: 204 }, 20), op({ kind: "me" }, 29)),
      ),
    ).toEqual([]);
  });

  it("I1: a jwt token accepted past maxLag and the feed's slack after a DELETE on another instance", () => {
    const revoke = op(
      { kind: "delete", strategy: "jwt", session: "J2", target: "J1", instance: 2, status: 204 },
      100,
    );
    const base = [
      login("J1", 0, { strategy: "jwt" }),
      login("J2", 20, { strategy: "jwt" }),
      revoke,
    ];
    const probeAt = (ms: number) =>
      op({ kind: "probe", strategy: "jwt", session: "J1", instance: 1 }, revoke.end + ms);
    expect(kinds(history(...base, probeAt(TOKEN_BOUND)))).toEqual([]);
    expect(kinds(history(...base, probeAt(TOKEN_BOUND + 1)))).toEqual(["I1"]);
  });

  it("I1: a refresh of a revoked hybrid session has no lag allowance (it reads the store)", () => {
    const h = history(
      login("H1", 0, { strategy: "hybrid" }),
      op({ kind: "logout", strategy: "hybrid", session: "H1", status: 204 }, 20),
      op(
        { kind: "refresh", strategy: "hybrid", session: "H1", refreshIn: "r1", refreshOut: "r2" },
        50,
      ),
    );
    expect(kinds(h)).toEqual(["I1"]);
  });

  it("I1: revoke-all covers the sessions signed in before it started, not one signed in during it", () => {
    const all = op({ kind: "revoke-all", session: "S2", exceptCurrent: true }, 200, 50); // 200..250
    const h = history(
      login("S1", 0),
      login("S2", 20),
      login("S3", 210, { client: 1 }), // overlaps the revoke-all: either outcome
      all,
      op({ kind: "me", session: "S1" }, 300),
      op({ kind: "me", session: "S2" }, 300), // spared: exceptCurrent
      op({ kind: "me", session: "S3" }, 300),
    );
    const result = check(h);
    expect(result.violations.map((v) => [v.kind, v.op.session])).toEqual([["I1", "S1"]]);
  });

  it("I2: a revoke-all left without an answer may still end a session signed in soon after (found by the soak)", () => {
    // The client's connection was reset while the server went on: its revocation may land
    // until the server's own deadline, after sign-ins that followed the reset.
    const lost = op({ kind: "revoke-all", status: null, code: "ECONNRESET" }, 200, 50); // ..250
    const kill: Fault = { type: "fault", kind: "kill", instance: 0, start: 100, end: 250 };
    const soon = history(
      kill,
      lost,
      login("S2", 400),
      op({ kind: "me", session: "S2", status: 401 }, 900),
    );
    expect(kinds(soon)).toEqual([]);
    const late = history(
      kill,
      lost,
      login("S2", 4000),
      op({ kind: "me", session: "S2", status: 401 }, 4500),
    );
    expect(kinds(late)).toEqual(["I2"]);
  });

  it("I1 with the id read cache: accepted within its age after a revocation, not past it", () => {
    const cached = (...entries: Entry[]): History => ({
      meta: { ...META, idCacheMs: 1000 },
      entries,
    });
    const base = [login("S1", 0), op({ kind: "logout", instance: 1, status: 204 }, 100)]; // ..110
    const within = check(cached(...base, op({ kind: "probe", instance: 2 }, 700)));
    expect(within.violations).toEqual([]);
    expect(within.windows.id).toMatchObject({ count: 1, max: 590, boundMs: 1250 });
    const past = check(cached(...base, op({ kind: "probe", instance: 2 }, 1500)));
    expect(past.violations.map((v) => v.kind)).toEqual(["I1"]);
  });

  it("I1: a refresh token replaced past the grace and accepted again", () => {
    const rotate = op(
      { kind: "refresh", strategy: "hybrid", session: "H1", refreshIn: "r1", refreshOut: "r2" },
      100,
    );
    const reuse = (at: number, status: number) =>
      op({ kind: "reuse", strategy: "hybrid", session: "H1", refreshIn: "r1", status }, at);
    const base = [login("H1", 0, { strategy: "hybrid" }), rotate];
    const accepted = check(history(...base, reuse(rotate.end + 2500, 200))).violations;
    expect(accepted.map((v) => v.kind)).toEqual(["reuse-accepted"]);
    expect(accepted[0]?.message).toContain("1 generation(s) back");
    // Refused as it must be: the reuse revokes the session, which must then stay refused.
    const refused = reuse(rotate.end + 2500, 401);
    expect(kinds(history(...base, refused))).toEqual([]);
    const late = op(
      { kind: "me", strategy: "hybrid", session: "H1", instance: 2 },
      refused.end + 3000,
    );
    expect(kinds(history(...base, refused, late))).toEqual(["I1"]);
  });

  it("I2: a live session refused, while nothing had tried to revoke it", () => {
    const h = history(
      login("S1", 0),
      op({ kind: "me", instance: 1, status: 401, code: "unauthorized" }, 20),
    );
    expect(kinds(h)).toEqual(["I2"]);
    // A refusal of a request that overlaps a revocation attempt (even unacknowledged) is legal.
    const attempt = op({ kind: "logout", status: null, code: "ECONNRESET", instance: 1 }, 15);
    const overlap = op({ kind: "me", instance: 2, status: 401 }, 20);
    expect(kinds(history(login("S1", 0), attempt, overlap))).toEqual(["no-answer"]);
  });

  it("I2: the session must survive an instance's restart; only the restart window is excused", () => {
    const kill: Fault = { type: "fault", kind: "kill", instance: 1, start: 100, end: 400 };
    const during = op({ kind: "me", instance: 1, status: null, code: "ECONNREFUSED" }, 200);
    const lost = op({ kind: "me", instance: 1, status: 401 }, 2000);
    expect(kinds(history(login("S1", 0), kill, during))).toEqual([]);
    expect(kinds(history(login("S1", 0), kill, during, lost))).toEqual(["I2"]);
    // No answer from an instance that was not restarted.
    expect(
      kinds(history(login("S1", 0), kill, op({ kind: "me", instance: 2, status: null }, 200))),
    ).toEqual(["no-answer"]);
  });

  it("503 is excused only during a store cut and its recovery; other 5xx never", () => {
    const cut: Fault = { type: "fault", kind: "cut", start: 100, end: 1000 };
    const s503 = (at: number) => op({ kind: "me", status: 503, code: "store_unavailable" }, at);
    expect(kinds(history(login("S1", 0), cut, s503(500), s503(3900)))).toEqual([]);
    expect(kinds(history(login("S1", 0), cut, s503(4100)))).toEqual(["unavailable"]);
    // Sign-in shedding load (the password-hashing gate) is no outage.
    const busy = op({ kind: "login", session: null, status: 503, code: "busy" }, 4100);
    expect(kinds(history(login("S1", 0), cut, busy))).toEqual([]);
    expect(kinds(history(login("S1", 0), cut, op({ kind: "me", status: 500 }, 500)))).toEqual([
      "5xx",
    ]);
    const recovery = check(history(login("S1", 0), cut, s503(500), s503(1800))).recoveries;
    expect(recovery).toEqual([{ start: 100, end: 1000, unavailable: 2, recoveredAfterMs: 800 }]);
  });

  it("expiry is not a loss: session_expired past the token's exp is excused, before it is not", () => {
    const at = 50;
    const wall = 1_700_000_000_000 + at;
    const expired = (tokenExp: number) =>
      op({ kind: "me", status: 401, code: "session_expired", tokenExp }, at);
    expect(kinds(history(login("S1", 0), expired(wall)))).toEqual([]);
    expect(kinds(history(login("S1", 0), expired(wall + 60_000)))).toEqual(["I2"]);
  });

  it("a refresh retried past the grace may rightly revoke: the session is no longer owed", () => {
    const first = op(
      { kind: "refresh", strategy: "hybrid", session: "H1", refreshIn: "r1", status: null },
      100,
    );
    const retry = op(
      {
        kind: "refresh",
        strategy: "hybrid",
        session: "H1",
        refreshIn: "r1",
        retry: true,
        status: 401,
      },
      2500,
    );
    const after = op({ kind: "me", strategy: "hybrid", session: "H1", status: 401 }, 3000);
    const kill: Fault = { type: "fault", kind: "kill", instance: 0, start: 90, end: 200 };
    expect(
      kinds(history(login("H1", 0, { strategy: "hybrid" }), kill, first, retry, after)),
    ).toEqual([]);
  });
});
