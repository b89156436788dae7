import { describe, expect, it } from "vitest";
import { referenceApp, signedInClient } from "../helpers/app.js";

// Pages that answer without the session cookie must not renew the session: a renewal stores a
// new secret, and its cookie, dropped with the answer, would leave the browser with the old one,
// refused once the grace ends (a user signed out by opening the storage lab).
describe("the storage lab and /api/csrf do not renew the session they read", () => {
  it("an id session due for renewal keeps working after /lab, /api/lab/copy and /api/csrf", async () => {
    let now = Date.now();
    const { app } = referenceApp(
      { lab: true },
      { clock: () => now, lifetimes: { renewal: "1m", grace: "10s" } },
    );
    const c = await signedInClient(app, "id");
    now += 2 * 60_000; // due for renewal
    expect((await c.request("GET", "/lab")).status).toBe(200);
    expect((await c.request("POST", "/api/lab/copy")).status).toBeLessThan(300);
    expect((await c.request("GET", "/api/csrf")).status).toBe(200);
    now += 30_000; // past the grace of a renewal, had there been one
    const me = await c.request("GET", "/api/id/me");
    expect(me.status).toBe(200);
  });
});
