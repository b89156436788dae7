import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isSessionError } from "../../src/errors.js";
import { createNonces } from "../../src/pop/nonce.js";
import { memoryReplayCache } from "../../src/pop/replay.js";

const KEY = randomBytes(32);
const T0 = 1_900_000_000_000;

function clockAt(start: number) {
  const clock = { now: start, read: () => clock.now };
  return clock;
}

describe("createNonces", () => {
  it("checks what it issued, for its lifetime and not a millisecond more", () => {
    const clock = clockAt(T0);
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000, clock: clock.read });
    const nonce = nonces.issue();
    expect(nonces.check(nonce)).toBe(true);
    expect(nonces.expiresAt(nonce)).toBe(T0 + 60_000);
    clock.now = T0 + 60_000;
    expect(nonces.check(nonce)).toBe(true);
    clock.now = T0 + 60_001;
    expect(nonces.check(nonce)).toBe(false);
    expect(nonces.expiresAt(nonce)).toBeNull();
  });

  it("accepts a nonce stamped up to 5 s ahead (a peer's clock), not more", () => {
    const issuer = clockAt(T0 + 5_000);
    const checker = clockAt(T0);
    const ahead = createNonces({ key: KEY, lifetimeMs: 60_000, clock: issuer.read }).issue();
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000, clock: checker.read });
    expect(nonces.check(ahead)).toBe(true);
    checker.now = T0 - 1;
    expect(nonces.check(ahead)).toBe(false);
  });

  it("refuses nonces made with another key or for another purpose", () => {
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000 });
    const otherKey = createNonces({ key: randomBytes(32), lifetimeMs: 60_000 }).issue();
    const otherPurpose = createNonces({ key: KEY, lifetimeMs: 60_000, purpose: "dbsc" }).issue();
    expect(nonces.check(otherKey)).toBe(false);
    expect(nonces.check(otherPurpose)).toBe(false);
    expect(nonces.check(nonces.issue())).toBe(true);
  });

  it("issues distinct base64url values a DPoP-Nonce header can carry (RFC 9449 §8.1)", () => {
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000 });
    const issued = new Set(Array.from({ length: 1_000 }, () => nonces.issue()));
    expect(issued.size).toBe(1_000);
    for (const nonce of issued) expect(nonce).toMatch(/^[A-Za-z0-9_-]{72}$/);
  });

  it("never throws and never accepts a changed nonce or random input", () => {
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000 });
    const nonce = nonces.issue();
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    fc.assert(
      fc.property(fc.nat(nonce.length - 1), fc.constantFrom(...alphabet), (at, char) => {
        const changed = nonce.slice(0, at) + char + nonce.slice(at + 1);
        fc.pre(changed !== nonce);
        expect(nonces.check(changed)).toBe(false);
      }),
      { numRuns: 2_000 },
    );
    fc.assert(
      fc.property(fc.anything(), (value) => {
        expect(nonces.check(value)).toBe(false);
      }),
    );
    for (const value of ["", `${nonce}=`, `${nonce}A`, nonce.slice(1), nonce.toUpperCase()]) {
      expect(nonces.check(value)).toBe(false);
    }
  });

  it("refuses everything when the clock answers nonsense", () => {
    const nonces = createNonces({ key: KEY, lifetimeMs: 60_000, clock: () => Number.NaN });
    expect(nonces.check(nonces.issue())).toBe(false);
  });

  it("gives DBSC challenges one-time use with a replay cache, remembered until they expire", () => {
    const clock = clockAt(T0);
    const challenges = createNonces({ key: KEY, lifetimeMs: 300_000, clock: clock.read });
    const used = memoryReplayCache({ max: 100 });
    const challenge = challenges.issue();
    const useOnce = (value: string) => {
      const expiresAt = challenges.expiresAt(value);
      return expiresAt !== null && used.firstUse(value, expiresAt, clock.now);
    };
    expect(useOnce(challenge)).toBe(true);
    expect(useOnce(challenge)).toBe(false);
    clock.now = T0 + 300_000;
    expect(useOnce(challenge)).toBe(false);
    clock.now = T0 + 300_001;
    expect(useOnce(challenge)).toBe(false); // expired now, and refused as such
  });

  it("throws at construction on a short key or a bad lifetime", () => {
    const bad = [
      { key: randomBytes(31), lifetimeMs: 1_000 },
      { key: "secret" as unknown as Buffer, lifetimeMs: 1_000 },
      { key: KEY, lifetimeMs: 0 },
      { key: KEY, lifetimeMs: Number.NaN },
      { key: KEY, lifetimeMs: 1.5 },
    ];
    for (const options of bad) {
      let thrown: unknown;
      try {
        createNonces(options);
      } catch (error) {
        thrown = error;
      }
      expect(isSessionError(thrown, "CONFIG_INVALID")).toBe(true);
    }
  });

  it("keeps working when the caller reuses its key buffer", () => {
    const key = Buffer.from(KEY);
    const nonces = createNonces({ key, lifetimeMs: 60_000 });
    const nonce = nonces.issue();
    key.fill(0);
    expect(nonces.check(nonce)).toBe(true);
  });
});
