// Found by an adversarial review: verifyJws (public, `sessionkit/jwt`) keeps resolving a header to the key it
// found the first time, after the caller's key map no longer holds that key (rotation in place).
import { expect, it } from "vitest";
import {
  createJwtSigner,
  generateKeySet,
  importKeySet,
  verifyJws,
} from "../../src/tokens/index.js";

it("a key removed from (or replaced in) the caller's key map stops verifying", () => {
  const old = generateKeySet("HS256", "k1");
  const token = createJwtSigner(old).sign({ sub: "u1", exp: 2e9 });
  const keys = new Map(importKeySet(old).map((k) => [k.kid, k]));
  expect(verifyJws(token, keys).ok).toBe(true); // the header is now resolved for this map

  // The key leaked: the application replaces it under the same kid, in the same map.
  const [fresh] = importKeySet(generateKeySet("HS256", "k1"));
  if (!fresh) throw new Error("no key generated");
  keys.set("k1", fresh);
  const afterReplace = verifyJws(token, keys);
  // ...or drops it altogether.
  keys.delete("k1");
  const afterDelete = verifyJws(token, keys);
  // A map never used before answers as it should:
  expect(verifyJws(token, new Map([["k1", fresh]])).ok).toBe(false);
  expect(verifyJws(token, new Map()).ok).toBe(false);
  expect({ afterReplace: afterReplace.ok, afterDelete: afterDelete.ok }).toEqual({
    afterReplace: false,
    afterDelete: false,
  });
});
