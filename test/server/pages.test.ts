import { describe, expect, it } from "vitest";
import { describeDevice } from "../../src/server/page.js";
import { APP_PASSWORD, appClient, referenceApp, signedInClient } from "../helpers/app.js";

// The demo pages: HTML from hono's `html` template (every value escaped), what the page
// scripts need from the server in <body data-config>, and the pages' own files served by
// name only. (The scripts themselves run in test/server/browser.e2e.test.ts, against the build.)
const { app, managers } = referenceApp({ lab: true });

const configOf = (page: string) => {
  const attribute = /<body data-config="([^"]*)"/.exec(page)?.[1] ?? "";
  const unescaped = attribute
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
  return JSON.parse(unescaped) as Record<string, unknown>;
};

describe("reference server pages", () => {
  it("escape what a user agent says, and give the page script its settings", async () => {
    const { username } = await signedInClient(app, "id");
    const c = appClient(app);
    const hostile = `<img src=x onerror="alert(1)"> & 'quoted'`;
    const login = await c.request(
      "POST",
      "/api/hybrid/login",
      { username, password: APP_PASSWORD },
      { "user-agent": hostile },
    );
    expect(login.status).toBe(200);
    const page = await (await c.request("GET", "/")).text();
    expect(page).not.toContain("<img");
    expect(page).toContain("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; &#39;quoted&#39;");
    expect(configOf(page)).toEqual({
      strategy: "hybrid",
      strategies: ["id", "jwt", "hybrid"],
      accessLifetimeMs: 5 * 60_000,
      tryRefresh: false,
    });
    // Signed out with no refresh binding: the page is not told to try a refresh (a 401).
    const signedOut = await (await appClient(app).request("GET", "/")).text();
    expect(configOf(signedOut)).toMatchObject({ strategy: null, tryRefresh: false });
  });

  it("take a junk or forged refresh binding cookie on the home page as signed out, never a 5xx", async () => {
    const name = managers.hybrid.cookieNames.refreshBinding;
    for (const value of ["x", ".", "a".repeat(5000), "../../etc.passwd", "%00.%ff", "abc.def"]) {
      const r = await appClient(app).request("GET", "/", undefined, {
        cookie: `${name}=${value}`,
      });
      expect(r.status, value).toBe(200);
      const page = await r.text();
      // Names no live session: no refresh to try, and the stale cookie is cleared.
      expect(configOf(page), value).toMatchObject({ strategy: null, tryRefresh: false });
      expect(
        r.headers.getSetCookie().some((c) => c.startsWith(`${name}=;`)),
        value,
      ).toBe(true);
    }
  });

  it("give the lab and side-by-side scripts the server's names", async () => {
    const c = await signedInClient(app, "id");
    const lab = await (await c.request("GET", "/lab")).text();
    expect(configOf(lab)).toEqual({
      strategy: "id",
      sessionCookie: managers.id.cookieNames.session,
    });
    const sideBySide = await (await c.request("GET", "/strategies")).text();
    expect(configOf(sideBySide)).toEqual({
      strategies: ["id", "jwt", "hybrid"],
      lab: true, // this file's app runs with --lab
      maxLagMs: 5000,
    });
  });

  it("serve the stylesheet as CSS, and no file by another name (sources, paths)", async () => {
    const c = appClient(app);
    const css = await c.request("GET", "/assets/app.css");
    expect(css.status).toBe(200);
    expect(css.headers.get("content-type")).toBe("text/css; charset=utf-8");
    expect(css.headers.get("cache-control")).toBe("public, max-age=300");
    for (const path of [
      "/assets/app.ts",
      "/assets/shared.ts",
      "/assets/tsconfig.json",
      "/assets/..%2Fpage.ts",
      "/assets/%2E%2E%2Fapp.ts",
      "/assets/app.js.map",
    ]) {
      const r = await c.request("GET", path);
      expect(r.status, path).toBe(404);
      expect(r.headers.get("content-type"), path).toBe("application/problem+json");
    }
  });

  it("name devices by the first browser and system that match", () => {
    const edge =
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0";
    expect(describeDevice(edge)).toBe("Edge on Windows");
    const iphone =
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
    expect(describeDevice(iphone)).toBe("Safari on iOS");
    const android =
      "Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36";
    expect(describeDevice(android)).toBe("Chrome on Android");
    expect(describeDevice("curl/8.5.0")).toBe("curl");
    expect(describeDevice("SomeBot/1.0")).toBe("SomeBot");
    expect(describeDevice(null)).toBe("Unknown device");
  });
});
