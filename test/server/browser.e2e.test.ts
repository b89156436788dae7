import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { chromiumAvailable, SHOTS } from "../helpers/chromium.js";
import { DEMO_PASSWORD, demoInChromium, PHONE } from "../helpers/demo-browser.js";

// The reference server's pages in a real browser: Debian's Chromium driven by playwright-core.
// Without Chromium on a user's machine these tests are skipped with one line; under CI=true a
// missing browser is a failure (.ci/run installs it).
const available = chromiumAvailable();
interface PhoneGlobals {
  document: {
    documentElement: { scrollWidth: number; clientWidth: number };
    querySelectorAll(selector: string): Iterable<{ id: string }>;
    querySelector(selector: string): unknown;
    activeElement: { id: string } | null;
  };
}

/** What the page callbacks use of the page's globals (this file has no DOM types). */
interface PageGlobals {
  document: {
    cookie: string;
    getElementById(id: string): { textContent: string | null } | null;
  };
  sessionkit: { fetch(path: string): Promise<Response> };
}

describe.skipIf(!available)("the demo in Chromium", () => {
  // Access tokens of 3 s, so that the hybrid refresh happens while the test watches; the
  // storage lab, off by default, turned on.
  const demo = demoInChromium(["--access", "3s", "--lab"]);
  const { signIn } = demo;

  const newPage = async (userAgent?: string): Promise<Page> => {
    const { context } = await demo.context(userAgent ? { userAgent } : {});
    const page = await context.newPage();
    await page.goto(demo.url);
    return page;
  };
  const apiStatus = (page: Page, path: string) =>
    page.evaluate(async (p) => (await fetch(p, { credentials: "same-origin" })).status, path);

  it("registers, lists the session, and signs in with each strategy", async () => {
    const page = await newPage();
    await page.fill("#register-username", "browser-user");
    await page.fill("#register-password", DEMO_PASSWORD);
    await Promise.all([page.waitForEvent("load"), page.click("#register-form button")]);
    await page.waitForSelector("#me");
    expect(await page.textContent("#me")).toContain("browser-user");
    expect(await page.locator(".session.current").count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, "my-sessions.png"), fullPage: true });
    // Only the CSRF cookie is readable by the page; the session cookie is HttpOnly.
    const cookies = await page.evaluate(
      () => (globalThis as unknown as PageGlobals).document.cookie,
    );
    expect(cookies).not.toMatch(/sid=/);
    for (const strategy of ["jwt", "hybrid"]) {
      await page.click("#logout");
      await page.waitForSelector("#login-form");
      await signIn(page, "browser-user", strategy);
      expect(await page.textContent("#me ~ p strong")).toBe(strategy);
      expect(await apiStatus(page, `/api/${strategy}/me`)).toBe(200);
    }
  });

  it("revokes a device from a second browser, which then loses access", async () => {
    const phone = await newPage(
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
    );
    await signIn(phone, "browser-user", "id");
    const laptop = await newPage();
    await signIn(laptop, "browser-user", "id");
    await laptop.reload();
    const other = laptop.locator(".session:not(.current) [data-revoke]");
    expect(await laptop.locator(".session", { hasText: "Safari on iOS" }).count()).toBe(1);
    await laptop.screenshot({ path: join(SHOTS, "devices.png"), fullPage: true });
    await Promise.all([laptop.waitForEvent("load"), other.first().click()]);
    expect(await apiStatus(phone, "/api/id/me")).toBe(401);
    await phone.reload();
    await phone.waitForSelector("#login-form");
  });

  it("keeps two tabs signed in with hybrid across access-token expiry, with no reuse detection", async () => {
    const first = await newPage();
    await signIn(first, "browser-user", "hybrid");
    const second = await first.context().newPage();
    await second.goto(demo.url);
    await second.waitForSelector("#me");
    const refreshes: number[] = [];
    for (const tab of [first, second]) {
      tab.on("response", (r) => {
        if (r.url().endsWith("/api/hybrid/refresh")) refreshes.push(r.status());
      });
    }
    await new Promise((resolve) => setTimeout(resolve, 3500)); // the access token has expired
    // Both tabs call the API at once through sessionkit/client; one refresh serves both.
    const call = (page: Page) =>
      page.evaluate(async () => {
        const client = (globalThis as unknown as PageGlobals).sessionkit;
        return (await client.fetch("/api/hybrid/me")).status;
      });
    expect(await Promise.all([call(first), call(second)])).toEqual([200, 200]);
    // Had a tab presented a spent refresh token, the whole session would now be revoked.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(await Promise.all([call(first), call(second)])).toEqual([200, 200]);
    // The tokens were rotated meanwhile (before each access token ran out), every time with
    // success: no tab presented a refresh token another tab had already spent.
    expect(refreshes.length).toBeGreaterThan(0);
    expect(refreshes.every((status) => status === 200)).toBe(true);
  });

  it("storage lab: the HttpOnly cookie is out of a script's reach, the storage copies are not", async () => {
    const page = await newPage();
    await signIn(page, "browser-user", "id");
    await page.goto(`${demo.url}/lab`);
    await page.click("#lab-copy");
    await page.waitForFunction(() => {
      const cell = (globalThis as unknown as PageGlobals).document.getElementById("present-local");
      return cell?.textContent === "yes";
    });
    await page.waitForFunction(() => {
      const cell = (globalThis as unknown as PageGlobals).document.getElementById("present-bound");
      return cell?.textContent === "yes";
    });
    await page.click("#lab-run");
    await page.waitForFunction(() => {
      const doc = (globalThis as unknown as PageGlobals).document;
      const done = (id: string) =>
        /^(yes|no|could)/.test(doc.getElementById(id)?.textContent ?? "");
      return done("use-session") && done("use-bound");
    });
    const cell = (id: string) => page.textContent(`#${id}`);
    expect(await cell("read-cookie")).toBe("no");
    expect(await cell("use-cookie")).toBe("nothing to use");
    expect(await cell("read-local")).toMatch(/^yes: /);
    expect(await cell("use-local")).toBe("yes (HTTP 200)");
    expect(await cell("read-session")).toMatch(/^yes: /);
    expect(await cell("use-session")).toBe("yes (HTTP 200)");
    // The DPoP-bound copy: readable, and worthless away from the page's key.
    expect(await cell("read-bound")).toMatch(/^yes: /);
    expect(await cell("use-bound")).toBe(
      "no: as Bearer refused: dpop_required; with the attacker's own key refused: dpop_invalid",
    );
    await page.screenshot({ path: join(SHOTS, "storage-lab.png"), fullPage: true });
    // Another tab: localStorage is shared and survives, sessionStorage belongs to one tab.
    const reopened = await page.context().newPage();
    await reopened.goto(`${demo.url}/lab`);
    expect(await reopened.textContent("#present-local")).toBe("yes");
    expect(await reopened.textContent("#present-session")).toBe("no");
  });

  it("token inspector: decodes a JWT, verifies it with the reason for a refusal", async () => {
    const login = await fetch(`${demo.url}/api/jwt/login`, {
      method: "POST",
      headers: { origin: demo.url, "content-type": "application/json" },
      body: JSON.stringify({
        username: "browser-user",
        password: DEMO_PASSWORD,
        transport: "header",
      }),
    });
    const { accessToken } = (await login.json()) as { accessToken: string };
    const page = await newPage();
    await page.goto(`${demo.url}/inspect`);
    const inspect = async (token: string) => {
      await page.evaluate(() => {
        const el = (globalThis as unknown as PageGlobals).document.getElementById("verdict-server");
        if (el) el.textContent = "—";
      });
      await page.fill("#token", token);
      await page.click("#inspect-form button[type=submit]");
      await page.waitForFunction(
        () =>
          (globalThis as unknown as PageGlobals).document.getElementById("verdict-server")
            ?.textContent !== "—",
      );
      return page.textContent("#verdict-server");
    };
    expect(await inspect(accessToken)).toBe("valid");
    expect(await page.textContent("#claims")).toContain('"sub"');
    // HS256 keys are secret: the JWKS has nothing to verify this token with, and says so.
    expect(await page.textContent("#verdict-jwks")).toMatch(/^refused: no_public_keys/);
    await page.screenshot({ path: join(SHOTS, "token-inspector.png"), fullPage: true });
    const [h, p, sig = ""] = accessToken.split(".");
    const forged = `${h}.${p}.${sig.slice(0, -2)}${sig.endsWith("AA") ? "BA" : "AA"}`;
    expect(await inspect(forged)).toMatch(/^refused: /);
  });

  it("strategies side by side: three sessions at once, their cookies, and revocation of each", async () => {
    const page = await newPage();
    await page.goto(`${demo.url}/strategies`);
    await page.fill("#all-username", "browser-user");
    await page.fill("#all-password", DEMO_PASSWORD);
    await page.click("#all-form button[type=submit]");
    for (const s of ["id", "jwt", "hybrid"]) {
      await page.waitForFunction(
        (id) =>
          (globalThis as unknown as PageGlobals).document.getElementById(id)?.textContent === "yes",
        `${s}-state`,
      );
    }
    const cookies = (s: string) => page.textContent(`#${s}-cookies`);
    expect(await cookies("id")).toMatch(
      /__Host-sid: \d+ bytes \(HttpOnly; Secure; SameSite=Lax; Path=\/\)/,
    );
    expect(await cookies("jwt")).toMatch(/__Host-jwt: \d+ bytes/);
    expect(await cookies("hybrid")).toMatch(
      /__Secure-rt: not sent to this page .*Path=\/api\/hybrid\/refresh/,
    );
    expect(await cookies("hybrid")).toMatch(/__Host-rtb: \d+ bytes \(HttpOnly; Secure/);
    expect(Number(await page.textContent("#jwt-median"))).toBeGreaterThan(0);
    await page.screenshot({ path: join(SHOTS, "strategies.png"), fullPage: true });
    for (const s of ["id", "jwt"]) {
      await page.click(`[data-revoke-strategy=${s}]`);
      await page.waitForFunction(
        (id) =>
          (globalThis as unknown as PageGlobals).document
            .getElementById(id)
            ?.textContent?.startsWith("revoked") === true,
        `${s}-check`,
      );
      await page.click(`[data-check=${s}]`);
      // Each says how it refused (side-by-side.e2e.test.ts checks the words).
      await page.waitForFunction(
        (id) =>
          (globalThis as unknown as PageGlobals).document
            .getElementById(id)
            ?.textContent?.startsWith("HTTP 401, refused (") === true,
        `${s}-check`,
      );
    }
    expect(await apiStatus(page, "/api/hybrid/me")).toBe(200);
  });

  it("every page fits a phone's width, labels its fields and is reachable by keyboard", async () => {
    const { context } = await demo.context({ viewport: PHONE });
    const page = await context.newPage();
    for (const path of ["/", "/strategies", "/lab", "/inspect"]) {
      await page.goto(demo.url + path);
      const layout = await page.evaluate(() => {
        const d = (globalThis as unknown as PhoneGlobals).document;
        const unlabelled = [...d.querySelectorAll("input, select, textarea")].filter(
          (el) => !el.id || !d.querySelector(`label[for="${el.id}"]`),
        ).length;
        return {
          overflow: d.documentElement.scrollWidth - d.documentElement.clientWidth,
          unlabelled,
        };
      });
      expect(layout, path).toEqual({ overflow: 0, unlabelled: 0 });
      await page.screenshot({ path: join(SHOTS, `phone${path.replace(/\//g, "-")}.png`) });
    }
    // Keyboard: Tab alone reaches the sign-in form's fields, in order, then its button.
    await page.goto(demo.url);
    const reached: string[] = [];
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press("Tab");
      reached.push(
        await page.evaluate(
          () => (globalThis as unknown as PhoneGlobals).document.activeElement?.id ?? "",
        ),
      );
    }
    const fields = reached.filter((id) => id.startsWith("login-"));
    expect(fields).toEqual(["login-username", "login-password", "login-strategy"]);
  });

  it("refuses a cross-origin form post from another origin (CSRF)", async () => {
    const page = await newPage();
    await signIn(page, "browser-user", "id");
    // Another origin (another port of 127.0.0.1: same site, so SameSite=Lax cookies go along).
    const evil = createServer((_req, res) => {
      res.setHeader("content-type", "text/html");
      res.end(
        `<form method="post" action="${demo.url}/api/id/logout"><button id="go">win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => evil.listen(0, "127.0.0.1", resolve));
    try {
      const attacker = await page.context().newPage();
      await attacker.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`);
      const [response] = await Promise.all([
        attacker.waitForResponse((r) => r.url().endsWith("/api/id/logout")),
        attacker.click("#go"),
      ]);
      expect(response.status()).toBe(403);
      expect(await apiStatus(page, "/api/id/me")).toBe(200);
    } finally {
      evil.close();
    }
  });
});
