import { describe, expect, it } from "vitest";
import type { StoredSession } from "../../src/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { cookiesOf, requestWith, setup, withSid } from "../helpers/manager.js";

// `authenticate(request, { readOnly: true })`: for callers that cannot set a cookie (a React
// Server Component). Renewing there would rotate the secret in the store and throw the new
// token away; the browser's cookie would then die with the grace.
const MIN = 60_000;

describe("authenticate with readOnly (id strategy)", () => {
  it("never renews nor slides: the stored record is unchanged and nothing is to be set", async () => {
    const { manager, store, clock } = setup({
      lifetimes: { idle: "30m", absolute: "12h", renewal: "10m", grace: "10s" },
    });
    const { token, session } = await manager.create({ userId: "u1" });
    const before = (await store.get(session.id, clock.now())) as StoredSession;
    clock.advance(11 * MIN); // renewal (10m) and a touch (idle/10) both due
    for (let i = 0; i < 3; i++) {
      const read = await manager.authenticate(withSid(token), { readOnly: true });
      expect(read.session?.id).toBe(session.id);
      expect(read.headers.getSetCookie()).toEqual([]);
    }
    const after = (await store.get(session.id, clock.now())) as StoredSession;
    expect(after.secretHash).toBe(before.secretHash);
    expect(after.renewedAt).toBe(before.renewedAt);
    expect(after.lastActiveAt).toBe(before.lastActiveAt);
    // The token it read is still the current one: a renewing request renews it as usual.
    const renewed = await manager.authenticate(withSid(token));
    const next = cookiesOf(renewed.headers).get("__Host-sid");
    expect(next).toBeDefined();
    expect(next).not.toBe(token);
    expect((await manager.authenticate(withSid(next ?? ""), { readOnly: true })).session?.id).toBe(
      session.id,
    );
  });

  it("answers bad input with null, without throwing", async () => {
    const { manager } = setup();
    for (const cookie of ["__Host-sid=garbage", "__Host-sid=a.b", "", "__Host-sid=%%%"]) {
      const read = await manager.authenticate(requestWith({ cookie }), { readOnly: true });
      expect(read.session).toBeNull();
    }
  });

  it("still refuses an expired or revoked session", async () => {
    const { manager, clock } = setup();
    const a = await manager.create({ userId: "u1" });
    const b = await manager.create({ userId: "u2" });
    await manager.revoke(a.session.id);
    expect((await manager.authenticate(withSid(a.token), { readOnly: true })).session).toBeNull();
    clock.advance(31 * MIN); // past idle, with no request in between
    expect((await manager.authenticate(withSid(b.token), { readOnly: true })).session).toBeNull();
  });
});

describe("authenticate with readOnly (jwt strategy)", () => {
  it("never re-issues a token past half its life; a renewing request does", async () => {
    const { manager, clock } = setup({
      strategy: "jwt",
      keys: generateKeySet("HS256", "k1"),
      issuer: "https://app.example",
      audience: "app",
    });
    const { token, session } = await manager.create({ userId: "u1" });
    const withJwt = () => requestWith({ cookie: `__Host-jwt=${token}` });
    clock.advance(16 * MIN); // idle is 30m: re-issue is due
    const read = await manager.authenticate(withJwt(), { readOnly: true });
    expect(read.session?.id).toBe(session.id);
    expect(read.headers.getSetCookie()).toEqual([]);
    const renewing = await manager.authenticate(withJwt());
    expect(cookiesOf(renewing.headers).get("__Host-jwt")).toBeDefined();
  });
});
