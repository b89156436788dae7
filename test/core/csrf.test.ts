import { describe, expect, it } from "vitest";
import { csrfCheck } from "../../src/core/csrf.js";
import { RENEWED_TOKEN_HEADER } from "../../src/core/token-headers.js";
import { createCsrfToken } from "../../src/csrf/token.js";
import { RENEWED_TOKEN_HEADER as EXPORTED, type SessionManagerOptions } from "../../src/index.js";
import { generateKeySet } from "../../src/tokens/index.js";
import { ORIGIN, requestWith, setup } from "../helpers/manager.js";

const key = Buffer.alloc(32, 7);
const origins = new Set([ORIGIN]);
const withTokens = csrfCheck({ origins, tokenKey: key });
const withoutTokens = csrfCheck({ origins, tokenKey: null });
const request = (method: string | undefined, headers: Record<string, string> = {}) => ({
  method,
  url: "https://app.example/api/thing",
  headers: new Headers(headers),
});
const crossSite = { "sec-fetch-site": "cross-site", origin: "https://evil.example" };

describe("csrfCheck: the one CSRF decision", () => {
  it("passes safe methods, whatever their headers say", () => {
    for (const method of [undefined, "GET", "HEAD", "OPTIONS", "TRACE", "get"]) {
      expect(withTokens(request(method, crossSite)), String(method)).toBe(true);
      expect(withoutTokens(request(method, crossSite)), String(method)).toBe(true);
    }
  });

  it("passes a POST the browser says is same-origin, or from an allowed origin", () => {
    for (const check of [withTokens, withoutTokens]) {
      expect(check(request("POST", { "sec-fetch-site": "same-origin" }))).toBe(true);
      expect(check(request("POST", { origin: ORIGIN }))).toBe(true);
    }
  });

  it("refuses a cross-site POST without a token, and one with no headers at all", () => {
    for (const check of [withTokens, withoutTokens]) {
      expect(check(request("POST", crossSite), "s1")).toBe(false);
      expect(check(request("DELETE"), "s1")).toBe(false);
    }
  });

  it("passes a cross-site POST with a valid token bound to its session, where tokens count", () => {
    const token = createCsrfToken(key, "s1");
    const withToken = request("POST", { ...crossSite, "x-csrf-token": token });
    expect(withTokens(withToken, "s1")).toBe(true);
    // Bound to another session, to no session, or under another key: refused.
    expect(withTokens(withToken, "s2")).toBe(false);
    expect(withTokens(withToken)).toBe(false);
    expect(csrfCheck({ origins, tokenKey: Buffer.alloc(32, 8) })(withToken, "s1")).toBe(false);
    // The sign-in form's token is bound to no session.
    const signIn = request("POST", { ...crossSite, "x-csrf-token": createCsrfToken(key, "") });
    expect(withTokens(signIn)).toBe(true);
    // Where no token is accepted (the express-session layer), a valid one changes nothing.
    expect(withoutTokens(withToken, "s1")).toBe(false);
  });
});

describe("RENEWED_TOKEN_HEADER: how header-transport clients get a new token", () => {
  it("is the one exported header name", () => {
    expect(EXPORTED).toBe(RENEWED_TOKEN_HEADER);
    expect(RENEWED_TOKEN_HEADER).toBe("x-session-token");
  });

  // id renews after `renewal`; a jwt is re-issued past half its idle life.
  const cases: Array<[string, Partial<SessionManagerOptions>, number]> = [
    [
      "id",
      { lifetimes: { idle: "30m", absolute: "12h", renewal: "5m", grace: "10s" } },
      6 * 60_000,
    ],
    [
      "jwt",
      { strategy: "jwt", keys: generateKeySet("HS256", "k1"), issuer: ORIGIN, audience: "app" },
      16 * 60_000,
    ],
  ];
  it.each(cases)("carries the %s strategy's new and renewed tokens", async (_, options, later) => {
    const { manager, clock } = setup(options);
    const issued = await manager.create({ userId: "u1", transport: "header" });
    expect(issued.headers.get(RENEWED_TOKEN_HEADER)).toBe(issued.token);
    clock.advance(later);
    const result = await manager.authenticate(requestWith({ bearer: issued.token }));
    expect(result.renewedToken).toEqual(expect.any(String));
    expect(result.renewedToken).not.toBe(issued.token);
    expect(result.headers.get(RENEWED_TOKEN_HEADER)).toBe(result.renewedToken);
  });
});
