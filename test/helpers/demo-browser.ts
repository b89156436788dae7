import { mkdirSync } from "node:fs";
import type { Browser, BrowserContext, BrowserContextOptions, Page } from "playwright-core";
import { afterAll, beforeAll, expect } from "vitest";
import { launchChromium, SHOTS } from "./chromium.js";
import { type ServerProcess, startServerProcess } from "./server.js";
import { tempDir } from "./tmp.js";

/** The password every demo test user signs up with. */
export const DEMO_PASSWORD = "correct horse battery";

/** A phone's viewport, as the demo's narrow-screen checks use it. */
export const PHONE = { width: 375, height: 740 };

/**
 * The built reference server (started with `serverArgs`) and Chromium, for the browser tests of
 * one `describe`: started before its tests, closed after them, every context opened through
 * `context()` closed with them. Console errors and page errors of a context's pages are
 * collected in the `errors` it returns.
 */
export function demoInChromium(serverArgs: string[]) {
  let server: ServerProcess | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    server = await startServerProcess(tempDir(), serverArgs);
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.stop();
  });

  const started = () => {
    if (!server || !browser) throw new Error("the demo is not started yet (use it in a test)");
    return { server, browser };
  };

  return {
    get url() {
      return started().server.url;
    },
    get server() {
      return started().server;
    },

    async context(options: BrowserContextOptions = {}) {
      const context = await started().browser.newContext(options);
      contexts.push(context);
      const errors: string[] = [];
      context.on("page", (page) => {
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(`${page.url()}: ${m.text()}`);
        });
        page.on("pageerror", (e) => errors.push(`${page.url()}: ${e.message}`));
      });
      return { context, errors };
    },

    /** Signs a user up through the API (as another device would), asserting the 201. */
    async register(username: string) {
      const { url } = started().server;
      const r = await fetch(`${url}/api/users`, {
        method: "POST",
        headers: { origin: url, "content-type": "application/json" },
        body: JSON.stringify({ username, password: DEMO_PASSWORD }),
      });
      expect(r.status).toBe(201);
      return username;
    },

    /** Signs in with the home page's form, on the page as it stands, and waits for the account. */
    async signIn(page: Page, username: string, strategy: string) {
      await page.fill("#login-username", username);
      await page.fill("#login-password", DEMO_PASSWORD);
      await page.selectOption("#login-strategy", strategy);
      await Promise.all([page.waitForEvent("load"), page.click("#login-form button[type=submit]")]);
      await page.waitForSelector("#me");
    },
  };
}
