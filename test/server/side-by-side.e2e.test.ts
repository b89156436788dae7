import { join } from "node:path";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, SHOTS } from "../helpers/chromium.js";
import { DEMO_PASSWORD, demoInChromium, PHONE } from "../helpers/demo-browser.js";

// The side-by-side page and the token inspector as a newcomer uses them, on a phone (375 px):
// a failed sign-in says why; after Revoke each strategy says how it refused; with --lab, a
// revoked jwt keeps working while the change feed is paused, until maxLag fails it closed;
// the inspector takes this browser's own token and says whether its session is still live.
const available = chromiumAvailable();
const MAX_LAG_S = 2;

/** What the page callbacks use of the page's globals (this file has no DOM types). */
interface PageGlobals {
  document: {
    documentElement: { scrollWidth: number };
    getElementById(id: string): { textContent: string | null; value?: string } | null;
  };
}

describe.skipIf(!available)("side by side and the token inspector in Chromium, at 375 px", () => {
  const demo = demoInChromium(["--lab", "--max-lag", `${MAX_LAG_S}s`]);
  let page: Page;
  let errors: string[] = [];
  let username = "";

  beforeAll(async () => {
    const opened = await demo.context({ viewport: PHONE });
    errors = opened.errors;
    page = await opened.context.newPage();
    username = await demo.register(`sbs${Date.now() % 100000}`);
  });

  const textOf = async (id: string) => (await page.textContent(`#${id}`)) ?? "";
  /** Waits until element `id`'s text matches `pattern`, and returns it. */
  const waitText = async (id: string, pattern: RegExp, timeout = 10_000) => {
    await page.waitForFunction(
      ([el, source, flags]) =>
        new RegExp(source as string, flags as string).test(
          (globalThis as unknown as PageGlobals).document.getElementById(el as string)
            ?.textContent ?? "",
        ),
      [id, pattern.source, pattern.flags],
      { timeout },
    );
    return textOf(id);
  };
  const fitsPhone = async (what: string) => {
    const width = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
    );
    expect(width, `${what}: page width`).toBeLessThanOrEqual(375);
  };
  const signInAll = async (password = DEMO_PASSWORD) => {
    await page.fill("#all-username", username);
    await page.fill("#all-password", password);
    await page.click("#all-form button[type=submit]");
  };
  /** Clicks "Send a request" for `strategy` and waits for a new verdict. */
  const send = async (strategy: string) => {
    await page.evaluate((id) => {
      const el = (globalThis as unknown as PageGlobals).document.getElementById(id);
      if (el) el.textContent = "";
    }, `${strategy}-check`);
    await page.click(`[data-check=${strategy}]`);
    return waitText(`${strategy}-check`, /^HTTP/);
  };
  const revoke = async (strategy: string) => {
    await page.click(`[data-revoke-strategy=${strategy}]`);
    return waitText(`${strategy}-check`, /^revoked/);
  };

  it("a failed sign-in says why", async () => {
    await page.goto(`${demo.url}/strategies`);
    await signInAll("not the password");
    expect(await waitText("all-error", /Sign-in failed/)).toBe(
      "Sign-in failed (HTTP 401 invalid_credentials): Wrong username or password",
    );
    // The browser logs the refused request itself: that line, and nothing else.
    expect(
      errors.every((e) => /status of 401/.test(e)),
      errors.join("\n"),
    ).toBe(true);
    expect(errors).toHaveLength(1);
    errors.length = 0;
    await fitsPhone("failed sign-in");
  });

  it("signed out, the feed switch says to sign in first, and asks the server nothing", async () => {
    await page.click("#feed-pause");
    expect(await waitText("feed-state", /^Sign in above first/)).toMatch(
      /takes a signed-in session/,
    );
    expect(errors).toEqual([]);
  });

  it("signs in with all three and times verification as a labelled warm median", async () => {
    await signInAll();
    for (const s of ["id", "jwt", "hybrid"]) await waitText(`${s}-state`, /^yes/);
    expect(await textOf("all-error")).toBe("");
    expect(Number(await textOf("jwt-median"))).toBeGreaterThan(0);
    expect(await page.textContent("[data-strategy=jwt]")).toMatch(
      /µs, median of 51 warm runs \(the page's first request: \d+ µs\)/,
    );
    await fitsPhone("signed in");
  });

  it("with --lab: a revoked jwt works while the feed is paused, until maxLag fails it closed", async () => {
    await page.click("#feed-pause");
    await waitText("feed-state", /^Paused for/);
    expect(await revoke("jwt")).toMatch(/change feed is paused/);
    expect(await send("jwt")).toMatch(/^HTTP 200: still accepted although revoked/);
    const closed = await waitText("feed-state", /^Failed closed at/, MAX_LAG_S * 1000 + 5000);
    expect(closed).toMatch(/past maxLag \(2\.0 s\)/);
    expect(await send("jwt")).toMatch(
      /^HTTP 503, refused \(revocation_stale\): this instance failed closed/,
    );
    await page.screenshot({ path: join(SHOTS, "strategies-failed-closed.png"), fullPage: true });
    await fitsPhone("failed closed");
    await page.click("#feed-resume");
    await waitText("feed-state", /^The change feed flows/);
    const landed = await send("jwt");
    expect(landed).toMatch(
      /^HTTP 401, refused \(revoked\): the session id is in this instance's in-memory revocation set/,
    );
    // Heard when the feed resumed: at least maxLag after the revocation.
    const seconds = Number(/manager heard it ([\d.]+) s after the revocation/.exec(landed)?.[1]);
    expect(seconds).toBeGreaterThanOrEqual(MAX_LAG_S);
  });

  it("after Revoke, each strategy says how it refused", async () => {
    await signInAll();
    for (const s of ["id", "jwt", "hybrid"]) await waitText(`${s}-state`, /^yes/);
    for (const s of ["id", "jwt", "hybrid"]) await revoke(s);
    expect(await send("id")).toMatch(
      /^HTTP 401, refused \(unknown_session\): the store lookup found no session with this id/,
    );
    const jwt = await send("jwt");
    expect(jwt).toMatch(/^HTTP 401, refused \(revoked\): .*change feed/);
    expect(jwt).toMatch(
      /This instance's manager heard it [\d.]+ (ms|s) after the revocation \(it made it; another instance hears it through the store's change feed/,
    );
    const hybrid = await send("hybrid");
    expect(hybrid).toMatch(
      /^HTTP 401, refused \(revoked\): the session id is in this instance's in-memory revocation set/,
    );
    expect(hybrid).toMatch(/Refresh family: gone from the store/);
    await page.screenshot({ path: join(SHOTS, "strategies-revoked.png"), fullPage: true });
    await fitsPhone("revoked");
  });

  it("token inspector: uses my current token, shows its dates, and the live check flips after sign-out", async () => {
    await page.goto(`${demo.url}/strategies`);
    await signInAll();
    for (const s of ["id", "jwt", "hybrid"]) await waitText(`${s}-state`, /^yes/);
    await page.goto(`${demo.url}/inspect`);
    expect(await page.textContent("main")).toContain("A valid signature is not a live session.");
    expect(await page.textContent("main")).toContain("keys generate --alg ES256");
    await page.click("#use-mine");
    expect(await waitText("verdict-server", /^valid$/)).toBe("valid");
    const token = await page.inputValue("#token");
    expect(token.split(".")).toHaveLength(3);
    expect(await textOf("verdict-live")).toMatch(/^live/);
    expect(await textOf("verdict-jwks")).toMatch(/^refused: no_public_keys/);
    for (const claim of ["iat", "exp", "auth_time"]) {
      expect(await textOf(`date-${claim}`), claim).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
    }
    await page.screenshot({ path: join(SHOTS, "inspector-mine.png"), fullPage: true });
    await fitsPhone("inspector");
    const out = await page.evaluate(
      async () =>
        (await fetch("/api/jwt/logout", { method: "POST", credentials: "same-origin" })).status,
    );
    expect(out).toBe(204);
    await page.evaluate(() => {
      const el = (globalThis as unknown as PageGlobals).document.getElementById("verdict-live");
      if (el) el.textContent = "—";
    });
    await page.click("#inspect-form button[type=submit]");
    expect(await waitText("verdict-live", /^not live/)).toMatch(/signed out or revoked/);
    expect(await textOf("verdict-server")).toBe("valid"); // the signature still holds
    await fitsPhone("inspector after sign-out");
  });

  it("logged no console error", () => {
    expect(errors).toEqual([]);
  });
});
