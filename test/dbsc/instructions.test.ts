import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type CookieAttributes, serializeCookie } from "../../src/cookies/serialize.js";
import {
  type BoundCookie,
  boundCookieAttributes,
  endSessionInstructions,
  sessionInstructions,
} from "../../src/dbsc/instructions.js";

const configInvalid = expect.objectContaining({ code: "CONFIG_INVALID" });
const SID: BoundCookie = {
  name: "__Host-sid",
  attributes: { path: "/", secure: true, httpOnly: true, sameSite: "lax" },
};

/**
 * What Chrome's session_json_utils.cc and session.cc (net/device_bound_sessions) refuse, as
 * read from their source: the reasons a browser would end the session on these instructions.
 * Returns the first problem found, or null when Chrome would accept them.
 */
function chromeRefusal(json: string): string | null {
  const depth = (v: unknown): number =>
    typeof v === "object" && v !== null
      ? 1 + Math.max(0, ...Object.values(v as Record<string, unknown>).map(depth))
      : 0;
  const root = JSON.parse(json) as Record<string, unknown>;
  if (depth(root) > 5) return "kInvalidConfigJson (depth)";
  const id = root.session_identifier;
  if (typeof id !== "string" || id === "") return "kInvalidSessionId";
  if (root.continue === false) return "kServerRequestedTermination";
  const scope = root.scope as Record<string, unknown> | undefined;
  if (typeof scope !== "object" || scope === null) return "kMissingScope";
  if (typeof scope.include_site !== "boolean") return "kMissingScopeIncludeSite";
  if (scope.origin !== undefined) {
    if (typeof scope.origin !== "string") return "kInvalidScopeOrigin";
    if (new URL(scope.origin).origin !== scope.origin) return "kScopeOriginContainsPath";
  }
  for (const rule of (scope.scope_specification ?? []) as Record<string, unknown>[]) {
    if (rule.type !== "include" && rule.type !== "exclude") return "kInvalidScopeSpecificationType";
    if (typeof rule.domain !== "string" || rule.domain === "")
      return "kEmptyScopeSpecificationDomain";
    if (typeof rule.path !== "string" || rule.path === "") return "kEmptyScopeSpecificationPath";
  }
  const credentials = root.credentials as Record<string, unknown>[] | undefined;
  if (!Array.isArray(credentials) || credentials.length === 0) return "kNoCredentials";
  for (const c of credentials) {
    if (c.type !== "cookie") return "kInvalidCredentialsType";
    if (typeof c.name !== "string" || c.name === "") return "kInvalidCredentialsEmptyName";
    if (typeof c.attributes !== "string") return "kInvalidCredentialsConfig";
    if (/(^|;\s*)partitioned(;|$)/i.test(c.attributes))
      return "kInvalidCredentialsCookieUnpermittedAttribute";
  }
  const initiators = root.allowed_refresh_initiators;
  if (initiators !== undefined) {
    if (!Array.isArray(initiators) || initiators.some((i) => typeof i !== "string")) {
      return "kRefreshInitiatorNotString";
    }
  }
  if (root.refresh_url !== undefined && typeof root.refresh_url !== "string") return "refresh_url";
  return null;
}

describe("sessionInstructions", () => {
  it("builds the instructions for a __Host- session cookie with the defaults", () => {
    const build = sessionInstructions({ refreshUrl: "/api/id/dbsc/refresh", cookies: [SID] });
    expect(build("abc")).toEqual({
      session_identifier: "abc",
      refresh_url: "/api/id/dbsc/refresh",
      scope: { include_site: false, scope_specification: [] },
      credentials: [
        {
          type: "cookie",
          name: "__Host-sid",
          attributes: "Path=/; Secure; HttpOnly; SameSite=Lax",
        },
      ],
    });
  });

  it("reproduces the draft's example instructions from typed options", () => {
    const build = sessionInstructions({
      refreshUrl: "/RefreshEndpoint",
      scope: {
        origin: "https://example.com",
        includeSite: true,
        rules: [
          { type: "include", domain: "trusted.example.com", path: "/only_trusted_path" },
          { type: "exclude", domain: "untrusted.example.com", path: "/" },
          { type: "exclude", domain: "*.example.com", path: "/static" },
        ],
      },
      cookies: [
        {
          name: "auth_cookie",
          attributes: {
            domain: "example.com",
            path: "/",
            secure: true,
            httpOnly: true,
            sameSite: "none",
          },
        },
      ],
      allowedRefreshInitiators: ["example.com", "*.example.com", "site-embedding-example.com"],
    });
    // The example of §"JSON Session Instruction Format", without its comments and `continue`.
    expect(build("session_id")).toEqual({
      session_identifier: "session_id",
      refresh_url: "/RefreshEndpoint",
      scope: {
        origin: "https://example.com",
        include_site: true,
        scope_specification: [
          { type: "include", domain: "trusted.example.com", path: "/only_trusted_path" },
          { type: "exclude", domain: "untrusted.example.com", path: "/" },
          { type: "exclude", domain: "*.example.com", path: "/static" },
        ],
      },
      credentials: [
        {
          type: "cookie",
          name: "auth_cookie",
          attributes: "Domain=example.com; Path=/; Secure; HttpOnly; SameSite=None",
        },
      ],
      allowed_refresh_initiators: ["example.com", "*.example.com", "site-embedding-example.com"],
    });
  });

  it("gives instructions Chrome's parser accepts, for any valid options", () => {
    // Rule domains inside the scope of https://example.com, origin- or site-scoped.
    const scoped = fc.boolean().chain((site) =>
      fc.record({
        site: fc.constant(site),
        rules: fc.array(
          fc.record({
            type: fc.constantFrom("include" as const, "exclude" as const),
            domain: site
              ? fc.constantFrom("example.com", "app.example.com", "*.example.com", "*")
              : fc.constantFrom("example.com", "*.com", "*"),
            path: fc.constantFrom("/", "/static", "/api/"),
          }),
          { maxLength: 4 },
        ),
      }),
    );
    const cookie = fc.record({
      name: fc.constantFrom("__Host-sid", "__Secure-rt", "sid", "__Host-Http-sid"),
      sameSite: fc.constantFrom("strict" as const, "lax" as const, "none" as const),
    });
    const initiators = fc.array(fc.constantFrom("app.example", "*.example.org", "*"), {
      maxLength: 2,
    });
    fc.assert(
      fc.property(scoped, cookie, initiators, ({ site, rules }, c, allowed) => {
        const build = sessionInstructions({
          refreshUrl: "/dbsc/refresh",
          cookies: [
            {
              name: c.name,
              attributes: { path: "/", secure: true, httpOnly: true, sameSite: c.sameSite },
            },
          ],
          scope: { origin: "https://example.com", includeSite: site, rules },
          allowedRefreshInitiators: allowed,
        });
        expect(chromeRefusal(JSON.stringify(build("s-1")))).toBeNull();
      }),
    );
  });

  it("refuses scope rules Chrome's inclusion rules refuse, accepts those it accepts", () => {
    // Cases of session_inclusion_rules_unittest.cc (AddUrlRuleToOriginOnly,
    // AddUrlRuleToRulesIncludingSite).
    const build = (origin: string, includeSite: boolean, domain: string) => () =>
      sessionInstructions({
        refreshUrl: "/r",
        cookies: [SID],
        scope: { origin, includeSite, rules: [{ type: "exclude", domain, path: "/static" }] },
      });
    for (const domain of ["some.site.test", "*.site.test", "*.test"]) {
      expect(build("https://some.site.test", false, domain)).not.toThrow();
    }
    for (const domain of [
      "unrelated.test",
      "site.test",
      "other.site.test",
      "some.site.test:8000",
    ]) {
      expect(build("https://some.site.test", false, domain), domain).toThrow(configInvalid);
    }
    for (const domain of ["excluded.site.test", "site.test", "*.site.test"]) {
      expect(build("https://site.test", true, domain)).not.toThrow();
    }
    expect(build("https://site.test", true, "unrelated.test")).toThrow(configInvalid);
    expect(build("https://site.test", false, "included.site.test")).toThrow(configInvalid);
  });

  it("returns fresh objects: changing one answer leaves the next one intact", () => {
    const build = sessionInstructions({
      refreshUrl: "/r",
      cookies: [SID],
      scope: { rules: [{ type: "exclude", domain: "*", path: "/static" }] },
      allowedRefreshInitiators: ["example.com"],
    });
    const first = build("a");
    const credential = first.credentials[0];
    if (credential) credential.name = "changed";
    first.scope.scope_specification.pop();
    first.allowed_refresh_initiators?.push("evil.example");
    const second = build("a");
    expect(second.credentials[0]?.name).toBe("__Host-sid");
    expect(second.scope.scope_specification).toHaveLength(1);
    expect(second.allowed_refresh_initiators).toEqual(["example.com"]);
  });

  it("refuses a session identifier outside its alphabet when building", () => {
    const build = sessionInstructions({ refreshUrl: "/r", cookies: [SID] });
    for (const id of ["", "a b", 'a"b', "x".repeat(129), "caf\u00e9"]) {
      expect(() => build(id)).toThrow(configInvalid);
    }
  });

  it("refuses bad options at construction", () => {
    const ok = { refreshUrl: "/r", cookies: [SID] };
    const bad: unknown[] = [
      { ...ok, refreshUrl: "//evil.example/r" },
      { ...ok, refreshUrl: "http://app.example/r" },
      { ...ok, refreshUrl: "r" },
      { ...ok, cookies: [] },
      { ...ok, cookies: [SID, SID] },
      { ...ok, cookies: [{ name: "sid", attributes: { path: "/", httpOnly: true } }] },
      { ...ok, cookies: [{ name: "sid", attributes: { secure: true, partitioned: true } }] },
      {
        ...ok,
        cookies: [{ name: "__Host-sid", attributes: { secure: true, domain: "app.example" } }],
      },
      { ...ok, cookies: [{ name: "__Host-sid", attributes: { secure: true, path: "/api" } }] },
      { ...ok, cookies: [{ name: "__Http-sid", attributes: { secure: true } }] },
      { ...ok, cookies: [{ name: "bad name", attributes: { secure: true } }] },
      { ...ok, cookies: [{ name: "sid", attributes: { secure: true, domain: "app example" } }] },
      { ...ok, cookies: [{ name: "sid", attributes: { secure: true, path: "api" } }] },
      { ...ok, scope: { origin: "https://app.example/" } },
      { ...ok, scope: { origin: "https://app.example/path" } },
      { ...ok, scope: { origin: "http://app.example" } },
      { ...ok, scope: { origin: "not an origin" } },
      { ...ok, scope: { origin: "https://localhost:8443", includeSite: true } },
      { ...ok, scope: { origin: "https://127.0.0.1", includeSite: true } },
      { ...ok, scope: { rules: [{ type: "maybe", domain: "*", path: "/" }] } },
      { ...ok, scope: { rules: [{ type: "include", domain: "", path: "/" }] } },
      { ...ok, scope: { rules: [{ type: "include", domain: "*", path: "" }] } },
      { ...ok, scope: { rules: [{ type: "include", domain: "http://x", path: "/" }] } },
      { ...ok, allowedRefreshInitiators: ["https://app.example"] },
      { ...ok, allowedRefreshInitiators: ["*example.com"] },
    ];
    for (const options of bad) {
      expect(() => sessionInstructions(options as never), JSON.stringify(options)).toThrow(
        configInvalid,
      );
    }
  });

  it("accepts http://localhost as an origin-scoped development origin", () => {
    const build = sessionInstructions({
      refreshUrl: "/r",
      cookies: [SID],
      scope: { origin: "http://localhost:3000" },
    });
    expect(build("a").scope.origin).toBe("http://localhost:3000");
  });
});

describe("boundCookieAttributes", () => {
  it("names each attribute exactly as the Set-Cookie line of the same cookie does", () => {
    const attributes = fc.record(
      {
        path: fc.constantFrom("/", "/api/hybrid/refresh"),
        domain: fc.constantFrom("example.com", "app.example"),
        secure: fc.constant(true),
        httpOnly: fc.boolean(),
        sameSite: fc.constantFrom("strict" as const, "lax" as const, "none" as const),
      },
      { requiredKeys: ["secure"] },
    );
    fc.assert(
      fc.property(attributes, (a: CookieAttributes) => {
        const setCookie = serializeCookie("sid", "v", { ...a, maxAge: 300 });
        const parts = setCookie.split("; ").slice(1);
        for (const part of boundCookieAttributes(a).split("; ")) expect(parts).toContain(part);
        const withoutAge = parts.filter((p) => !p.startsWith("Max-Age="));
        expect(boundCookieAttributes(a).split("; ").sort()).toEqual(withoutAge.sort());
      }),
    );
  });
});

describe("endSessionInstructions", () => {
  it("asks the browser to end the session, which Chrome reads as a termination", () => {
    const end = endSessionInstructions("abc");
    expect(end).toEqual({ session_identifier: "abc", continue: false });
    expect(chromeRefusal(JSON.stringify(end))).toBe("kServerRequestedTermination");
    expect(() => endSessionInstructions("a b")).toThrow(configInvalid);
  });
});
