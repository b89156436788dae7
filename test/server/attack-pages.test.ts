import { describe, expect, it } from "vitest";
import type { SessionInfo } from "../../src/index.js";
import { layout, renderPage } from "../../src/server/page.js";
import { APP_ORIGIN, referenceApp, signedInClient } from "../helpers/app.js";

// Issue 14 moved the demo pages' scripts into files (src/server/assets) and their settings into
// `<body data-config>`. Attack: markup or script through a username, a user agent, a device
// name, an address or the config JSON in its attribute; asset names that reach other files;
// the CSP still allowing no inline script.
const PAYLOADS = [
  `"'><script>alert(1)</script>`,
  "</script><script>alert(2)</script>",
  "&quot;><img src=x onerror=alert(3)>",
  "a\u2028b\u2029c<svg onload=alert(4)>",
  "<!--<script>",
  "`$" + "{alert(5)}`",
];

/** Every tag the page has, by name: no payload may add one. */
const tagsOf = (html: string) => [...html.matchAll(/<([a-zA-Z][\w-]*)/g)].map((m) => m[1]);

/** The tags' text, quoted attribute values emptied: where an event handler would have to be. */
const insideTags = (html: string) =>
  (html.replace(/"[^"]*"/g, '""').match(/<[^>]*>/g) ?? []).join("");

const session = (over: Partial<SessionInfo>): SessionInfo =>
  ({
    id: "s1",
    current: true,
    createdAt: new Date(0),
    lastActiveAt: new Date(0),
    expiresAt: new Date(0),
    absoluteExpiresAt: new Date(0),
    ip: null,
    userAgent: null,
    deviceBound: false,
    ...over,
  }) as SessionInfo;

describe("demo pages: untrusted text stays text", () => {
  const clean = String(
    renderPage({
      user: { id: "u", username: "alice" },
      sessions: [session({})],
      strategies: ["id"],
      strategy: "id",
    }),
  );

  it("a username, user agent, address or session id of markup adds no tag nor attribute", async () => {
    for (const payload of PAYLOADS) {
      const page = String(
        await renderPage({
          user: { id: "u", username: payload },
          sessions: [session({ userAgent: payload, ip: payload, id: payload })],
          strategies: ["id"],
          strategy: payload,
        }),
      );
      expect(tagsOf(page), payload).toEqual(tagsOf(clean));
      // Attribute values stay quoted: no `on…=` outside a quoted value.
      expect(insideTags(page)).not.toMatch(/\son\w+=/i);
      // One script element: the page's module, from 'self'.
      expect(page.match(/<script\b[^>]*>/g)).toEqual([
        '<script type="module" src="/assets/app.js">',
      ]);
    }
  });

  it("the config JSON survives its attribute: quotes escaped, parsed back as sent", async () => {
    for (const payload of PAYLOADS) {
      const config = { strategies: [payload], name: payload, nested: { a: payload } };
      const page = String(
        await layout({
          title: payload,
          body: renderPage({ user: null, sessions: [], strategies: [], strategy: null }),
          script: "lab",
          config,
        }),
      );
      const attribute = /<body data-config="([^"]*)">/.exec(page)?.[1];
      expect(attribute, payload).toBeDefined();
      const unescaped = (attribute ?? "")
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&lt;/g, "<")
        .replace(/&gt;/g, ">")
        .replace(/&amp;/g, "&");
      expect(JSON.parse(unescaped)).toEqual(config);
      expect(page.slice(0, page.indexOf("<body"))).not.toContain("<script>");
    }
  });
});

describe("the reference server's pages and assets", () => {
  const { app } = referenceApp();

  it("a signed-in page with a hostile user agent: text only, CSP script-src 'self', no inline script", async () => {
    const c = await signedInClient(app, "id");
    // A header carries bytes, not U+2028: that payload goes in the page test above.
    for (const payload of PAYLOADS.filter((p) => /^[\x20-\x7e]*$/.test(p))) {
      await c.request(
        "POST",
        "/api/id/login",
        { username: c.username, password: "correct horse battery" },
        { "user-agent": payload },
      );
    }
    const page = await c.request("GET", "/");
    const text = await page.text();
    expect(text).toContain(`Signed in as ${c.username}`);
    expect(text).not.toMatch(/<script>|<img|<svg/i);
    expect(insideTags(text)).not.toMatch(/\son\w+=/i);
    expect(text.match(/<script\b[^>]*>/g)).toEqual(['<script type="module" src="/assets/app.js">']);
    const csp = page.headers.get("content-security-policy") ?? "";
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|nonce-|sha256-/);
    expect(csp).toContain("default-src 'none'");
  });

  it("every page keeps the CSP and one module script", async () => {
    for (const path of ["/", "/strategies", "/lab", "/inspect"]) {
      const r = await app.request(`${APP_ORIGIN}${path}`);
      if (r.status !== 200) continue;
      const csp = r.headers.get("content-security-policy") ?? "";
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).not.toMatch(/unsafe-inline|unsafe-eval/);
      const scripts = (await r.text()).match(/<script\b[^>]*>/g) ?? [];
      expect(scripts.length, path).toBe(1);
      expect(scripts[0], path).toMatch(/^<script type="module" src="\/assets\/[a-z-]+\.js">$/);
    }
  });

  it("asset names outside the fixed list, or with a path in them, are 404 and read nothing", async () => {
    const paths = [
      "/assets/../package.json",
      "/assets/%2e%2e/package.json",
      "/assets/..%2f..%2fpackage.json",
      "/assets/app.ts",
      "/assets/shared.ts",
      "/assets/app.js.map",
      "/assets/page.js",
      "/assets/unknown.js",
      "/assets/APP.JS",
      "/assets/app.js%00.css",
      "/assets/client/..%2f..%2fpackage.json",
      "/assets/client/%2e%2e%2fserver%2fapp.js",
      "/assets/client/../server/app.js",
      "/assets/client/index.js.map",
      "/assets/client/Index.js",
      "/assets/client/.js",
      "/assets/client/a..js",
    ];
    for (const path of paths) {
      const r = await app.request(`${APP_ORIGIN}${path}`);
      const body = await r.text();
      expect([404, 400], path).toContain(r.status);
      expect(body, path).not.toMatch(/"name": "sessionkit"|import |export /);
    }
  });
});
