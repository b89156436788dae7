import { randomBytes } from "node:crypto";
import fc from "fast-check";
import * as jose from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import {
  accessTokenHash,
  createNonces,
  type DpopOptions,
  memoryReplayCache,
} from "../../src/pop/index.js";
import { check, claims, NOW, TOKEN, URL_ } from "./dpop-fixture.js";
import { type ClientKey, clientKey, joseProof } from "./keys.js";

let key: ClientKey;
let jkt: string;

beforeAll(async () => {
  key = await clientKey("ES256");
  jkt = await jose.calculateJwkThumbprint(key.publicJwk);
});

describe("verifyDpopProof under random requests and proofs", () => {
  // Spellings of targets: two URLs name the same target exactly when their class is equal.
  const TARGETS: [string, string][] = [
    ["https://app.example/api/items", "a"],
    ["HTTPS://APP.EXAMPLE:443/api/./items?x=1#f", "a"],
    ["https://app.example/api/%69tems", "a"],
    ["https://app.example/api/Items", "b"],
    ["https://app.example/api/items/", "c"],
    ["http://app.example/api/items", "d"],
    ["https://app.example:8443/api/items", "e"],
    ["https://api.example/api/items", "f"],
  ];
  const METHODS = ["GET", "POST", "DELETE", "get"];

  it("accepts exactly when every check holds, and never the same proof twice", async () => {
    // Each part is right three times in four, so that about a fifth of the runs pass every
    // check and each single wrong part is met alone.
    const mostly = <T>(right: fc.Arbitrary<T>, any: fc.Arbitrary<T>) =>
      fc.oneof({ arbitrary: right, weight: 3 }, { arbitrary: any, weight: 1 });
    const scenario = fc
      .record({
        method: fc.constantFrom(...METHODS),
        request: fc.constantFrom(...TARGETS),
        sameHtm: mostly(fc.constant(true), fc.boolean()),
        otherHtm: fc.constantFrom(...METHODS),
        sameTarget: mostly(fc.constant(true), fc.boolean()),
        otherHtu: fc.constantFrom(...TARGETS),
        variant: fc.nat(),
        iatOffset: mostly(fc.integer({ min: -60, max: 5 }), fc.integer({ min: -90, max: 30 })),
        token: fc.boolean(),
        ath: mostly(fc.constant("right"), fc.constantFrom("right", "wrong", "none")),
        binding: mostly(fc.constant("same"), fc.constantFrom("same", "other", "none")),
      })
      .map((s) => {
        const sameClass = TARGETS.filter(([, c]) => c === s.request[1]);
        const htu = s.sameTarget
          ? (sameClass[s.variant % sameClass.length] ?? s.request)
          : s.otherHtu;
        return { ...s, htm: s.sameHtm ? s.method : s.otherHtm, htu };
      });
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const payload = claims({ htm: s.htm, htu: s.htu[0], iat: NOW / 1000 + s.iatOffset });
        if (s.ath !== "none") payload.ath = accessTokenHash(s.ath === "right" ? TOKEN : "other");
        const proof = await joseProof(key, payload);
        const over: Partial<DpopOptions> = { replay: memoryReplayCache({ max: 10 }) };
        if (s.token) over.accessToken = TOKEN;
        if (s.binding !== "none") over.expectedJkt = s.binding === "same" ? jkt : "x".repeat(43);
        const expected =
          s.htm === s.method &&
          s.htu[1] === s.request[1] &&
          s.iatOffset >= -60 &&
          s.iatOffset <= 5 &&
          (s.token ? s.ath === "right" && s.binding === "same" : s.binding !== "other");
        if (expected) accepted++;
        const run = () => check(proof, over, s.method, s.request[0]);
        if (expected) {
          expect(run()).toBe("ok");
          expect(run()).toBe("replayed");
        } else {
          const first = run();
          expect(first).not.toBe("ok");
          // Refused, it used nothing up: the same answer again.
          expect(run()).toBe(first);
        }
      }),
      { numRuns: 300 },
    );
    // The property is only as good as its accepted cases: there must be many.
    expect(accepted).toBeGreaterThan(30);
  });

  it("never throws and never accepts random or mutated proofs, whatever the request", async () => {
    const valid = await joseProof(key, claims());
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    const mutated = fc
      .array(fc.tuple(fc.nat(), fc.constantFrom(...alphabet), fc.boolean()), {
        minLength: 1,
        maxLength: 3,
      })
      .map((edits) => {
        let token = valid;
        for (const [at, char, insert] of edits) {
          const i = at % token.length;
          token = token.slice(0, i) + char + token.slice(insert ? i : i + 1);
        }
        return token;
      })
      .filter((token) => token !== valid);
    const proofs = fc.oneof(fc.string({ maxLength: 200 }), mutated);
    const methods = fc.oneof(fc.constantFrom("GET", "POST"), fc.string({ maxLength: 8 }));
    const urls = fc.oneof(fc.constant(URL_), fc.webUrl(), fc.string({ maxLength: 60 }));
    const nonces = createNonces({ key: randomBytes(32), lifetimeMs: 60_000 });
    fc.assert(
      fc.property(proofs, methods, urls, fc.boolean(), (proof, method, url, useNonces) => {
        const over: Partial<DpopOptions> = useNonces ? { nonces } : { accessToken: TOKEN };
        expect(check(proof, over, method, url)).not.toBe("ok");
      }),
      { numRuns: 3_000 },
    );
    expect(check(valid)).toBe("ok");
  });
});
