import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { chromiumAvailable, SHOTS } from "../helpers/chromium.js";
import { demoInChromium, PHONE } from "../helpers/demo-browser.js";

// Every demo page as a newcomer on a phone meets it: 375 px wide, signed out and signed in
// with each strategy, with nothing in the console; and the explanations the pages owe them (why
// a device is signed out, what each strategy means, the lab for every strategy).
const available = chromiumAvailable();
const PAGES = ["/", "/strategies", "/lab", "/inspect"];
const STRATEGIES = ["id", "jwt", "hybrid"] as const;

/** What the page callbacks use of the page's globals (this file has no DOM types). */
interface PageGlobals {
  document: {
    documentElement: { scrollWidth: number };
    getElementById(id: string): { textContent: string | null } | null;
  };
  localStorage: { getItem(key: string): string | null };
}

describe.skipIf(!available)("the demo pages at phone width", () => {
  // Access tokens of 4 s: hybrid refreshes happen while the pages are open.
  const demo = demoInChromium(["--access", "4s", "--lab"]);
  let n = 0;

  /** A fresh browser (its own cookies) at phone width, its console errors collected. */
  const phone = async () => {
    const { context, errors } = await demo.context({ viewport: PHONE });
    const page = await context.newPage();
    return { context, page, errors };
  };
  const register = () => demo.register(`phone${++n}x${Date.now() % 100000}`);
  const signIn = async (page: Page, username: string, strategy: string) => {
    await page.goto(demo.url);
    await demo.signIn(page, username, strategy);
  };
  const text = (page: Page, id: string) =>
    page.evaluate(
      (i) => (globalThis as unknown as PageGlobals).document.getElementById(i)?.textContent ?? "",
      id,
    );

  it("every page fits 375 px and logs no console error, signed out and signed in with each strategy", async () => {
    const username = await register();
    for (const who of [null, ...STRATEGIES]) {
      const { page, errors } = await phone();
      if (who) await signIn(page, username, who);
      for (const path of PAGES) {
        await page.goto(demo.url + path, { waitUntil: "networkidle" });
        const width = await page.evaluate(
          () => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth,
        );
        expect(width, `${path} ${who ?? "signed out"}`).toBeLessThanOrEqual(375);
        await page.screenshot({
          path: join(SHOTS, `phone-${who ?? "out"}${path.replace(/\//g, "-")}.png`),
          fullPage: true,
        });
      }
      expect(errors, who ?? "signed out").toEqual([]);
    }
  });

  it("a signed-out visit sends no refresh bound to fail, and a hybrid browser without its access cookie is signed back in silently", async () => {
    const { page, errors } = await phone();
    const refreshes: number[] = [];
    page.on("response", (r) => {
      if (r.url().endsWith("/api/hybrid/refresh")) refreshes.push(r.status());
    });
    await page.goto(demo.url, { waitUntil: "networkidle" });
    expect(refreshes).toEqual([]);
    await signIn(page, await register(), "hybrid");
    // The access token refused (lapsed past its verifier's skew, or its cookie gone): the
    // refresh cookie, sent only to the refresh route, is still good.
    await page.goto("about:blank");
    await page.context().clearCookies({ name: "__Host-at" });
    await page.goto(demo.url);
    await page.waitForSelector("#me");
    expect(refreshes).toEqual([200]);
    expect(errors).toEqual([]);
  });

  it("says what each strategy means beside the choice, and on the signed-in page", async () => {
    const { page } = await phone();
    await page.goto(demo.url);
    const lines = await page.locator("#strategy-lines li").allTextContents();
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^id: an opaque token; the server looks the session up/);
    expect(lines[1]).toMatch(/^jwt: a signed token checked without a lookup/);
    expect(lines[2]).toMatch(/^hybrid: a short-lived JWT for requests and a refresh token/);
    expect(await page.getAttribute("#login-strategy", "aria-describedby")).toBe("strategy-lines");
    await signIn(page, await register(), "jwt");
    expect(await text(page, "strategy-line")).toMatch(/^a signed token checked without a lookup/);
  });

  for (const strategy of STRATEGIES) {
    it(`a ${strategy} device signed out from another device says so, once`, async () => {
      const username = await register();
      const device = await phone();
      await signIn(device.page, username, strategy);
      const other = await phone();
      await signIn(other.page, username, strategy);
      await Promise.all([
        other.page.waitForEvent("load"),
        other.page.locator(".session:not(.current) [data-revoke]").click(),
      ]);
      expect(await other.page.locator(".session").count()).toBe(1);
      // jwt and hybrid learn of the revocation through the change feed: within its lag.
      let notice = "";
      for (let i = 0; i < 50 && !notice; i++) {
        await device.page.reload();
        notice = (await device.page.locator("#signed-out").count())
          ? await text(device.page, "signed-out")
          : "";
        if (!notice) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(notice).toBe(
        "This device was signed out from another device. Sign in again to continue.",
      );
      expect(await device.page.locator("#login-form").count()).toBe(1);
      await device.page.screenshot({ path: join(SHOTS, `phone-revoked-${strategy}.png`) });
      // The refused cookies were cleared with that answer: the next visit is a plain form.
      await device.page.reload({ waitUntil: "networkidle" });
      expect(await device.page.locator("#signed-out").count()).toBe(0);
      expect(await device.page.locator("#login-form").count()).toBe(1);
      expect(device.errors).toEqual([]);
      expect(other.errors).toEqual([]);
    });
  }

  for (const strategy of STRATEGIES) {
    it(`the storage lab runs for a ${strategy} user, and "Remove the copies" clears its results and revokes them`, async () => {
      const { page, errors } = await phone();
      await signIn(page, await register(), strategy);
      await page.goto(`${demo.url}/lab`);
      expect(await text(page, "lab-strategy")).toContain(`You are signed in with ${strategy}`);
      await page.click("#lab-copy");
      await page.waitForFunction(
        () =>
          (globalThis as unknown as PageGlobals).document.getElementById("present-local")
            ?.textContent === "yes" &&
          (globalThis as unknown as PageGlobals).document.getElementById("present-bound")
            ?.textContent === "yes",
      );
      expect(await text(page, "lab-expiry")).toMatch(
        new RegExp(`^The copies are ${strategy} lab tokens; they end at `),
      );
      await page.click("#lab-run");
      await page.waitForFunction(() =>
        /^(no|could)/.test(
          (globalThis as unknown as PageGlobals).document.getElementById("use-bound")
            ?.textContent ?? "",
        ),
      );
      expect(await text(page, "read-cookie")).toBe("no");
      expect(await text(page, "use-local")).toBe("yes (HTTP 200)");
      expect(await text(page, "use-session")).toBe("yes (HTTP 200)");
      expect(await text(page, "use-bound")).toBe(
        "no: as Bearer refused: dpop_required; with the attacker's own key refused: dpop_invalid",
      );
      await page.screenshot({ path: join(SHOTS, `phone-lab-${strategy}.png`), fullPage: true });
      // The attacker keeps a copy; the user then removes theirs.
      const stolen = await page.evaluate(() =>
        (globalThis as unknown as PageGlobals).localStorage.getItem("sessionkit.lab.token"),
      );
      const me = () =>
        fetch(`${demo.url}/api/lab/me`, { headers: { authorization: `Bearer ${stolen}` } });
      const before = await me();
      expect(before.status).toBe(200);
      expect(((await before.json()) as { strategy: string }).strategy).toBe(strategy);
      await page.click("#lab-clear");
      await page.waitForFunction(() =>
        /revoked/.test(
          (globalThis as unknown as PageGlobals).document.getElementById("status")?.textContent ??
            "",
        ),
      );
      for (const where of ["cookie", "local", "session", "bound"]) {
        expect(await text(page, `read-${where}`), where).toBe("?");
        expect(await text(page, `use-${where}`), where).toBe("?");
      }
      expect(await text(page, "present-local")).toBe("no");
      expect(await text(page, "present-session")).toBe("no");
      expect(await text(page, "present-bound")).toBe("no");
      expect(await text(page, "lab-expiry")).toBe("");
      expect((await me()).status).toBe(401);
      expect(errors).toEqual([]);
    });
  }

  it("the start message lists the demo pages and how to stop", () => {
    const out = demo.server.output();
    for (const path of PAGES) expect(out).toContain(`${demo.url}${path}\n`);
    expect(out).toMatch(/storage lab\s+http:\S+\/lab\n/);
    expect(out).toContain("stop with Ctrl+C");
  });
});
