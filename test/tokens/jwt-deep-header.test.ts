// Found by an adversarial review: verify() threw RangeError (instead of answering bad_header/bad_signature) for
// an unauthenticated token whose header nests ~3000 arrays, when the caller has already used
// a part of the stack. The header is parsed before any signature check, so anyone can send it.
// Before e5a84b4 the duplicate check was an iterative scan; membersOf() now recurses once per
// nesting level.
import { expect, it } from "vitest";
import {
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  MAX_TOKEN_BYTES,
} from "../../src/tokens/index.js";

const set = generateKeySet("HS256", "hs");
const verifier = createJwtVerifier(set, { issuer: "i", audience: "a" });
const good = createJwtSigner(set).sign({ iss: "i", aud: "a", exp: 4e9 });
const b64 = (t: string) => Buffer.from(t).toString("base64url");
const deep = (n: number) => `{"alg":"HS256","kid":"hs","x":${"[".repeat(n)}${"]".repeat(n)}}`;
let n = 1;
while (`${b64(deep(n + 1))}.e30.AAAA`.length <= MAX_TOKEN_BYTES) n++;
const hostile = `${b64(deep(n))}.e30.AAAA`; // 8192 characters, depth ~3053

/** Runs `f` with `frames` frames of an ordinary recursion already on the stack. */
const nested = <T>(frames: number, f: () => T): T => (frames === 0 ? f() : nested(frames - 1, f));

it("verify never throws, whatever is already on the stack", () => {
  const probe = (d: number): number => {
    try {
      return probe(d + 1);
    } catch {
      return d;
    }
  };
  const limit = probe(0);
  const frames = Math.floor(limit * 0.6); // 60% of what a trivial recursion can reach
  // At this depth the ordinary work succeeds: a good token, and JSON.parse of the header.
  expect(nested(frames, () => verifier.verify(good).ok)).toBe(true);
  expect(() => nested(frames, () => JSON.parse(deep(n)))).not.toThrow();
  let thrown: unknown = null;
  try {
    nested(frames, () => verifier.verify(hostile));
  } catch (error) {
    thrown = error;
  }
  expect(String(thrown)).toBe("null"); // was: RangeError: Maximum call stack size exceeded
});
