import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type BareItem,
  type ListMember,
  parseItem,
  parseList,
  serializeString,
  serializeToken,
} from "../../src/dbsc/structured-fields.js";

// Vectors are the examples of RFC 9651 §3, written out by hand, plus the DBSC header values of
// the W3C draft and of the web-platform-tests (device-bound-session-credentials/*.py).

/** A plain-data view of a parsed list, so expectations read like the RFC's prose. */
function plain(members: ListMember[] | null): unknown {
  if (members === null) return null;
  const bare = (v: BareItem) => (v.type === "bytes" ? Buffer.from(v.value).toString() : v.value);
  const params = (p: ReadonlyMap<string, BareItem>) =>
    Object.fromEntries([...p].map(([k, v]) => [k, bare(v)]));
  return members.map((m) =>
    m.kind === "item"
      ? { item: bare(m.value), params: params(m.params) }
      : {
          inner: m.items.map((i) => ({ item: bare(i.value), params: params(i.params) })),
          params: params(m.params),
        },
  );
}

describe("parseList, on the RFC 9651 examples", () => {
  it("reads a list of tokens", () => {
    expect(plain(parseList("sugar, tea, rum"))).toEqual([
      { item: "sugar", params: {} },
      { item: "tea", params: {} },
      { item: "rum", params: {} },
    ]);
  });

  it("reads inner lists, including an empty one", () => {
    const parsed = parseList('("foo" "bar"), ("baz"), ("bat" "one"), ()');
    expect(parsed?.map((m) => (m.kind === "inner-list" ? m.items.length : -1))).toEqual([
      2, 1, 2, 0,
    ]);
  });

  it("reads parameters on inner lists and on their items", () => {
    expect(plain(parseList('("foo"; a=1;b=2);lvl=5, ("bar" "baz");lvl=1'))).toEqual([
      { inner: [{ item: "foo", params: { a: 1, b: 2 } }], params: { lvl: 5 } },
      {
        inner: [
          { item: "bar", params: {} },
          { item: "baz", params: {} },
        ],
        params: { lvl: 1 },
      },
    ]);
  });

  it("reads boolean parameters without a value as true", () => {
    expect(plain(parseList('abc;a=1;b=2; cde_456, (ghi;jkl=4 l);q="9";r=w'))).toEqual([
      { item: "abc", params: { a: 1, b: 2, cde_456: true } },
      {
        inner: [
          { item: "ghi", params: { jkl: 4 } },
          { item: "l", params: {} },
        ],
        params: { q: "9", r: "w" },
      },
    ]);
  });

  it("accepts an empty field as an empty list", () => {
    expect(parseList("")).toEqual([]);
  });
});

describe("parseItem, on each bare item type", () => {
  const cases: [string, BareItem][] = [
    ["42", { type: "integer", value: 42 }],
    ["-17", { type: "integer", value: -17 }],
    ["4.5", { type: "decimal", value: 4.5 }],
    ['"hello world"', { type: "string", value: "hello world" }],
    ['"a\\"b\\\\c"', { type: "string", value: 'a"b\\c' }],
    ["foo123/456", { type: "token", value: "foo123/456" }],
    ["?1", { type: "boolean", value: true }],
    ["?0", { type: "boolean", value: false }],
    ["@1659578233", { type: "date", value: 1659578233 }],
    [
      '%"This is intended for display to %c3%bcsers."',
      { type: "displaystring", value: "This is intended for display to üsers." },
    ],
  ];
  for (const [text, expected] of cases) {
    it(`reads ${text}`, () => {
      expect(parseItem(text)?.value).toEqual(expected);
    });
  }

  it("reads a byte sequence", () => {
    const item = parseItem(":cHJldGVuZCB0aGlzIGlzIGJpbmFyeSBjb250ZW50Lg==:");
    expect(item?.value.type).toBe("bytes");
    expect(item?.value.type === "bytes" && Buffer.from(item.value.value).toString()).toBe(
      "pretend this is binary content.",
    );
  });

  it("reads parameters after an item and lets a repeated key keep its last value", () => {
    const item = parseItem("5; foo=bar; foo=baz");
    expect(item?.params.get("foo")).toEqual({ type: "token", value: "baz" });
  });
});

describe("parsing refuses what RFC 9651 says must fail", () => {
  const bad = [
    '"unterminated',
    '"bad \\x escape"',
    '"tab\tinside"',
    '"caf\u00e9"',
    "(a b",
    "(a,b)",
    "a,",
    "a, ,b",
    "1.2345",
    "1234567890123.4",
    "1234567890123456",
    "1.",
    "-",
    "abc;A=1",
    "abc;=1",
    "?2",
    ":not base64!:",
    ":unterminated",
    '%"%C3%BC"',
    '%"%c3"',
    "@1.5",
    '"a" trailing',
    "x".repeat(20_000),
  ];
  for (const text of bad) {
    it(`refuses ${JSON.stringify(text.slice(0, 30))}`, () => {
      expect(parseList(text)).toBeNull();
      expect(parseItem(text)).toBeNull();
    });
  }

  it("never throws, whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        parseList(text);
        parseItem(text);
      }),
    );
  });
});

describe("the DBSC header values of the draft and of the web-platform-tests", () => {
  it("reads registration headers as one inner list of algorithm tokens with parameters", () => {
    expect(plain(parseList('(ES256 RS256);path="reg";challenge="cv"'))).toEqual([
      {
        inner: [
          { item: "ES256", params: {} },
          { item: "RS256", params: {} },
        ],
        params: { path: "reg", challenge: "cv" },
      },
    ]);
    // login.py, parameters in another order.
    const wpt = parseList(
      '(RS256);challenge="login_challenge_value";path="/device-bound-session-credentials/start_session.py"',
    );
    expect(plain(wpt)).toEqual([
      {
        inner: [{ item: "RS256", params: {} }],
        params: {
          challenge: "login_challenge_value",
          path: "/device-bound-session-credentials/start_session.py",
        },
      },
    ]);
  });

  it("reads two registrations combined into one field", () => {
    const two = parseList(
      '(ES256);path="reg1";challenge="cv1";authorization="a", (RS256);path="reg2";challenge="cv2";authorization="b"',
    );
    expect(two?.length).toBe(2);
  });

  it("reads challenges with their session id parameter", () => {
    expect(plain(parseList('"c1";id="session 1", "c2";id="session 2"'))).toEqual([
      { item: "c1", params: { id: "session 1" } },
      { item: "c2", params: { id: "session 2" } },
    ]);
  });
});

describe("serializeString and serializeToken", () => {
  it("round-trips every printable ASCII string through the parser", () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        }),
        (s) => {
          const item = parseItem(serializeString(s));
          expect(item?.value).toEqual({ type: "string", value: s });
        },
      ),
    );
  });

  it("escapes exactly the quote and the backslash", () => {
    expect(serializeString('a"b\\c d')).toBe('"a\\"b\\\\c d"');
  });

  it("refuses control characters and non-ASCII with CONFIG_INVALID", () => {
    for (const s of ["line\nbreak", "tab\t", "caf\u00e9", "\u0000"]) {
      expect(() => serializeString(s)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    }
  });

  it("accepts tokens and refuses what is not one", () => {
    expect(serializeToken("ES256")).toBe("ES256");
    for (const s of ["", "1abc", "a b", 'a"b', "a,b"]) {
      expect(() => serializeToken(s)).toThrow(expect.objectContaining({ code: "CONFIG_INVALID" }));
    }
  });
});
