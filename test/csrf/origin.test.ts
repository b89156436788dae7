import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { originAllowed } from "../../src/csrf/origin.js";

const request = (values: Record<string, string>, url?: string) => ({
  headers: { get: (name: string) => values[name.toLowerCase()] ?? null },
  ...(url === undefined ? {} : { url }),
});
const allowed = new Set(["https://app.example"]);
const none = new Set<string>();

describe("originAllowed: the CSRF decision on Fetch Metadata and Origin", () => {
  it("passes a same-origin request, or an Origin that is allowed", () => {
    expect(originAllowed(request({ "sec-fetch-site": "same-origin" }), allowed)).toBe(true);
    expect(originAllowed(request({ origin: "https://app.example" }), allowed)).toBe(true);
  });

  it("passes an Origin that is the origin the request was sent to, without Fetch Metadata", () => {
    const url = "http://localhost:3000/api/login";
    expect(originAllowed(request({ origin: "http://localhost:3000" }, url), none)).toBe(true);
    const tls = "https://app.example/api/login";
    expect(originAllowed(request({ origin: "https://app.example" }, tls), none)).toBe(true);
  });

  it("refuses another scheme, host or port, Origin null, no headers, and Fetch Metadata that says otherwise", () => {
    const url = "https://app.example/logout";
    for (const origin of [
      "http://app.example",
      "https://evil.example",
      "https://app.example:8443",
      "null",
      "",
    ]) {
      expect(originAllowed(request({ origin }, url), none), origin).toBe(false);
    }
    expect(originAllowed(request({}, url), none)).toBe(false);
    expect(originAllowed(request({ origin: "https://app.example" }), none)).toBe(false);
    // A same-site sibling: the browser says same-site, and that decides.
    const sibling = { "sec-fetch-site": "same-site", origin: "https://app.example" };
    expect(originAllowed(request(sibling, url), none)).toBe(false);
  });

  it("behind a TLS proxy (the URL says http), an http: Origin on the site's host is refused", () => {
    // The public origin is https://app.example; Node sees http://app.example.
    const url = "http://app.example/api/logout";
    expect(originAllowed(request({ origin: "http://app.example" }, url), allowed)).toBe(false);
    const elsewhere = new Set(["https://admin.example"]);
    expect(originAllowed(request({ origin: "http://app.example" }, url), elsewhere)).toBe(false);
    expect(originAllowed(request({ origin: "https://app.example" }, url), allowed)).toBe(true);
  });

  it("never passes a cross-site Origin, whatever the URL says", () => {
    fc.assert(
      fc.property(fc.domain(), fc.domain(), (site, host) => {
        fc.pre(site !== host);
        return !originAllowed(request({ origin: `https://${site}` }, `https://${host}/x`), none);
      }),
    );
  });
});
