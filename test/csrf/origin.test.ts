import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { originAllowed } from "../../src/csrf/origin.js";

const headers = (values: Record<string, string>) => ({
  get: (name: string) => values[name.toLowerCase()] ?? null,
});
const allowed = new Set(["https://app.example"]);

describe("originAllowed: the CSRF decision on Fetch Metadata and Origin", () => {
  it("passes a same-origin request, or an Origin that is allowed", () => {
    expect(originAllowed(headers({ "sec-fetch-site": "same-origin" }), allowed)).toBe(true);
    expect(originAllowed(headers({ origin: "https://app.example" }), allowed)).toBe(true);
  });

  it("passes an Origin naming the host the request was sent to, when the browser sent no Fetch Metadata", () => {
    const own = { origin: "http://localhost:3000", host: "localhost:3000" };
    expect(originAllowed(headers(own), new Set())).toBe(true);
    expect(originAllowed(headers({ ...own, host: "LOCALHOST:3000" }), new Set())).toBe(true);
  });

  it("refuses another host or port, Origin null, no headers, and Fetch Metadata that says otherwise", () => {
    const none = new Set<string>();
    expect(
      originAllowed(headers({ origin: "http://evil.example", host: "app.example" }), none),
    ).toBe(false);
    expect(
      originAllowed(headers({ origin: "http://app.example:8080", host: "app.example" }), none),
    ).toBe(false);
    expect(originAllowed(headers({ origin: "null", host: "null" }), none)).toBe(false);
    expect(originAllowed(headers({ host: "app.example" }), none)).toBe(false);
    expect(originAllowed(headers({}), none)).toBe(false);
    // A same-site sibling: its Origin is not this host, and the browser says same-site.
    const sibling = {
      "sec-fetch-site": "same-site",
      origin: "https://app.example",
      host: "app.example",
    };
    expect(originAllowed(headers(sibling), none)).toBe(false);
  });

  it("never passes a cross-site Origin, whatever the Host header says", () => {
    fc.assert(
      fc.property(fc.domain(), fc.domain(), (site, host) => {
        fc.pre(site !== host);
        return !originAllowed(headers({ origin: `https://${site}`, host }), new Set());
      }),
    );
  });
});
