import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { findAuthCookie, parseCookieHeader } from "../../src/cookies/parse.js";
import { createCookiePolicy } from "../../src/cookies/policy.js";
import { serializeCookie } from "../../src/cookies/serialize.js";
import { tryParseDuration } from "../../src/core/duration.js";
import { createCsrfToken, verifyCsrfToken } from "../../src/csrf/token.js";
import { isSessionError } from "../../src/errors.js";
import { decodeBase64url } from "../../src/tokens/base64url.js";
import { generateKeySet, loadKeySet } from "../../src/tokens/keys.js";
import { generateOpaqueToken, hashesEqual, parseOpaqueToken } from "../../src/tokens/opaque.js";

describe("cookie parsing", () => {
  it("keeps every pair, duplicates included, and unquotes values", () => {
    expect(parseCookieHeader(' a=1; b="2" ;a=3; junk; =x')).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
  });

  it("never throws on any header", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (header) => {
        parseCookieHeader(header);
        findAuthCookie(header, "__Host-sid");
      }),
      { numRuns: 2000 },
    );
  });

  it("finds exactly one auth cookie or reports ambiguity", () => {
    expect(findAuthCookie("x=1; __Host-sid=abc", "__Host-sid")).toEqual({
      status: "found",
      value: "abc",
    });
    expect(findAuthCookie("__Host-sid=a; __Host-sid=b", "__Host-sid").status).toBe("ambiguous");
    expect(findAuthCookie("__HOST-SID=a", "__Host-sid").status).toBe("ambiguous");
    expect(findAuthCookie("sid=a", "__Host-sid").status).toBe("absent");
  });
});

describe("cookie serialisation", () => {
  it("refuses a cookie over 4096 bytes with COOKIE_TOO_LARGE", () => {
    let error: unknown;
    try {
      serializeCookie("__Host-jwt", "a".repeat(4100), { secure: true, path: "/" });
    } catch (e) {
      error = e;
    }
    expect(isSessionError(error, "COOKIE_TOO_LARGE")).toBe(true);
  });

  it("refuses values that would break the header", () => {
    for (const value of ["a;b", "a b", 'a"', "é", "a\r\nSet-Cookie: x=y"]) {
      expect(() => serializeCookie("n", value, {}), value).toThrow();
    }
  });

  it("clamps Max-Age to whole non-negative seconds and expires cleared cookies", () => {
    const policy = createCookiePolicy();
    expect(policy.set("__Host-sid", "v", 1999)).toContain("Max-Age=1;");
    expect(policy.clear("__Host-sid")).toContain(
      "Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    );
  });

  it("makes the CSRF cookie readable by scripts and the session cookie not", () => {
    const policy = createCookiePolicy();
    expect(policy.set(policy.names.csrf, "t", 1000)).not.toContain("HttpOnly");
    expect(policy.set(policy.names.session, "t", 1000)).toContain("HttpOnly");
  });
});

describe("opaque tokens", () => {
  it("round-trips and hashes the secret", () => {
    const t = generateOpaqueToken();
    expect(parseOpaqueToken(t.token)).toEqual({ id: t.id, secret: t.secret });
    expect(t.secretHash).not.toContain(t.secret);
  });

  it("refuses anything but canonical id.secret", () => {
    const t = generateOpaqueToken();
    const bad = [
      "",
      t.token.replace(".", ""),
      `${t.token}=`,
      `${t.id}.${t.secret}.x`,
      ` ${t.token.slice(1)}`,
      `${t.id}+${t.secret}`,
      `${t.id}.${t.secret.slice(0, -1)}B`, // non-zero trailing bits
    ];
    for (const token of bad) expect(parseOpaqueToken(token), token).toBeNull();
  });

  it("never throws on random input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 120 }), (s) => {
        parseOpaqueToken(s);
      }),
      { numRuns: 3000 },
    );
  });

  it("compares hashes: equal only for identical strings", () => {
    expect(hashesEqual("abc", "abc")).toBe(true);
    expect(hashesEqual("abc", "abd")).toBe(false);
    expect(hashesEqual("abc", "abcd")).toBe(false);
  });

  it("decodes only canonical base64url", () => {
    expect(decodeBase64url("AQ")?.[0]).toBe(1);
    expect(decodeBase64url("AR")).toBeNull();
    expect(decodeBase64url("AQ==")).toBeNull();
    expect(decodeBase64url("A Q")).toBeNull();
  });
});

describe("CSRF tokens", () => {
  const key = Buffer.alloc(32, 7);
  it("verifies for its own session only", () => {
    const token = createCsrfToken(key, "s1");
    expect(verifyCsrfToken(key, "s1", token)).toBe(true);
    expect(verifyCsrfToken(key, "s2", token)).toBe(false);
    expect(verifyCsrfToken(Buffer.alloc(32, 8), "s1", token)).toBe(false);
    expect(verifyCsrfToken(key, "s1", null)).toBe(false);
  });

  it("never throws and never verifies random strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        expect(verifyCsrfToken(key, "", s)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("durations and keys", () => {
  it("parses durations and refuses nonsense", () => {
    expect(tryParseDuration("30m")).toBe(1_800_000);
    expect(tryParseDuration("1.5h")).toBe(5_400_000);
    expect(tryParseDuration(250)).toBe(250);
    for (const bad of ["", "10", "-1m", "1y", "m", Number.NaN, 0, -5, "1e3s", null]) {
      expect(tryParseDuration(bad), String(bad)).toBeNull();
    }
  });

  it("generates a key set that loads, and refuses weak or malformed ones", () => {
    const keys = generateKeySet("HS256", "k1");
    expect(loadKeySet(keys)).toEqual(keys);
    const bad = [
      {},
      { keys: [] },
      { keys: [{ kty: "oct", alg: "HS256", k: keys.keys[0]?.k }] },
      { keys: [{ kty: "oct", kid: "a", alg: "HS256", k: "c2hvcnQ" }] },
      { keys: [{ kty: "oct", kid: "a", alg: "RS256", k: keys.keys[0]?.k }] },
      { keys: [keys.keys[0], keys.keys[0]] },
    ];
    for (const set of bad) expect(() => loadKeySet(set), JSON.stringify(set)).toThrow(/keys/);
  });
});
