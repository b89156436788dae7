import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hasDuplicateMembers, parseStrictJsonObject } from "../../src/tokens/json.js";

// A JSON tree written out by hand, so that an object may name a member twice, and the same
// name may be spelled two ways ("a" and "\u0061"); `dup` says whether any object repeats one.
type Tree = { text: string; dup: boolean };

const name = fc.constantFrom("a", "b", "c", "__proto__", 'q"', "k:\\");
const spell = (n: string, escaped: boolean) =>
  escaped && n === "a" ? '"\\u0061"' : JSON.stringify(n);
const leaf: fc.Arbitrary<Tree> = fc
  .oneof(fc.string(), fc.integer(), fc.constant(null), fc.constantFrom(':"', "\\", '{"a":1}'))
  .map((v) => ({ text: JSON.stringify(v), dup: false }));

const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc.array(tie("tree"), { maxLength: 4 }).map((items) => ({
      text: `[${items.map((i) => i.text).join(",")}]`,
      dup: items.some((i) => i.dup),
    })),
    fc.array(fc.tuple(name, fc.boolean(), tie("tree")), { maxLength: 5 }).map((members) => {
      const names = members.map(([n]) => n);
      return {
        text: `{${members.map(([n, e, v]) => `${spell(n, e)} : ${v.text}`).join(" , ")}}`,
        dup: new Set(names).size !== names.length || members.some(([, , v]) => v.dup),
      };
    }),
  ),
}));

describe("strict JSON: duplicate member names", () => {
  it("finds a repeated name in any object, however it is spelled or nested", () => {
    fc.assert(
      fc.property(tree, ({ text, dup }) => {
        expect(hasDuplicateMembers(text)).toBe(dup);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses a token object with a repeated name and accepts it without", () => {
    const parse = (text: string) => parseStrictJsonObject(Buffer.from(text));
    expect(parse('{"a":1,"b":{"c":[{"d":1,"e":2}]}}')).toEqual({
      a: 1,
      b: { c: [{ d: 1, e: 2 }] },
    });
    expect(parse('{"a":1,"b":{"c":[{"d":1,"d":2}]}}')).toBeNull();
    expect(parse('{"a":1,"\\u0061":2}')).toBeNull();
    expect(parse('{"x":"a:b\\":c","y":":"}')).toEqual({ x: 'a:b":c', y: ":" });
    expect(parse('{"__proto__":1,"__proto__":2}')).toBeNull();
    expect(parse('{"__proto__":{"a":1}}')).not.toBeNull();
  });

  it("does not count members a polluted prototype adds", () => {
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      expect(parseStrictJsonObject(Buffer.from('{"a":{"b":1}}'))).not.toBeNull();
    } finally {
      delete proto.polluted;
    }
  });
});
