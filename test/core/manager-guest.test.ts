import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import express from "express";
import { describe, expect, it } from "vitest";
import { requireSession as requireExpress, sessionkit } from "../../src/adapters/express.js";
import { requireSession as requireFetch } from "../../src/adapters/fetch.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { sess, startApp } from "../helpers/express-session-app.js";
import { cookiesOf, setup, withSid } from "../helpers/manager.js";

// Guest sessions (issue 13): data for nobody signed in yet, as a state of their own rather than
// a made-up user id. The application sees `userId: null`; guards refuse them like no session.
describe("guest sessions", () => {
  it("keep data with userId null, in nobody's list, and sign-in replaces them", async () => {
    const { manager } = setup();
    const guest = await manager.create({ userId: null, data: { cart: ["book"] } });
    expect(guest.session.userId).toBeNull();
    const token = cookiesOf(guest.headers).get("__Host-sid") ?? "";
    const read = await manager.authenticate(withSid(token));
    expect(read.session?.userId).toBeNull();
    expect(read.session?.data).toEqual({ cart: ["book"] });
    // Many guests never share a list, a cap or a revocation.
    for (let i = 0; i < 30; i++) await manager.create({ userId: null });
    expect((await manager.authenticate(withSid(token))).session?.id).toBe(guest.session.id);
    const user = await manager.create({ userId: "u1", data: read.session?.data ?? {} });
    expect(user.session.userId).toBe("u1");
    expect((await manager.list("u1")).map((s) => s.id)).toEqual([user.session.id]);
  });

  it("refuse the guests' reserved names as user ids, and report null in events", async () => {
    const seen: Array<string | null> = [];
    const { manager } = setup({ events: { onRevoke: (e) => seen.push(e.userId) } });
    await expect(manager.create({ userId: "sessionkit:guest:x" })).rejects.toThrow(/may not begin/);
    await expect(manager.list("sessionkit:guest:x")).rejects.toThrow(/may not begin/);
    await expect(manager.revokeUser("sessionkit:guest:x")).rejects.toThrow(/may not begin/);
    await expect(manager.create({ userId: "" })).rejects.toThrow(/non-empty/);
    const guest = await manager.create({ userId: null });
    await manager.revoke(guest.session.id);
    expect(seen).toEqual([null]);
  });

  it("are refused by the guards (Express, Fetch) like no session, and readable where allowed", async () => {
    const { manager } = setup();
    const guest = await manager.create({ userId: null, data: { cart: 1 } });
    const cookie = `__Host-sid=${cookiesOf(guest.headers).get("__Host-sid")}`;
    const guarded = requireFetch(manager, () => new Response("in"));
    expect(
      (await guarded(new Request("https://app.example/x", { headers: { cookie } }))).status,
    ).toBe(401);

    const app = express();
    app.use(sessionkit(manager));
    app.get("/cart", (req, res) => res.json(req.session?.data ?? null));
    app.get("/me", requireExpress(), (_req, res) => res.send("in"));
    const server = createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect(await (await fetch(`${base}/cart`, { headers: { cookie } })).json()).toEqual({
        cart: 1,
      });
      expect((await fetch(`${base}/me`, { headers: { cookie } })).status).toBe(401);
    } finally {
      server.close();
    }
  });

  it("are what the express-session layer stores for nobody signed in, on a sessionkit store", async () => {
    const store = memoryStore();
    const app = await startApp({ store }, (req, res) => {
      const s = sess(req);
      if (req.path === "/login") s.userId = "u1";
      else s.cart = ["book"];
      res.end();
    });
    // With a sessionkit store a new session is named when it is saved: read its id off the cookie.
    const idOf = (response: Response) =>
      /__Host-sid=([^.;]+)\./.exec(response.headers.getSetCookie().join(";"))?.[1] ?? "";
    const first = await app("/add");
    const cookie = first.headers.getSetCookie()[0]?.split(";")[0] ?? "";
    const id = idOf(first);
    const stored = await store.get(id, Date.now());
    expect(stored?.userId.startsWith("sessionkit:guest:")).toBe(true);
    // Signing in moves the data to a new session of u1 (no fixation), the guest one ends.
    const userSession = idOf(await app("/login", { headers: { cookie } }));
    expect(userSession).not.toBe(id);
    expect((await store.get(userSession, Date.now()))?.userId).toBe("u1");
    expect(await store.get(id, Date.now())).toBeNull();
  });
});
