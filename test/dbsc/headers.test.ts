import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  challengeHeader,
  generateChallenge,
  isChallenge,
  readProof,
  readSessionIdentifier,
  readSkipped,
  registrationHeader,
} from "../../src/dbsc/headers.js";
import { parseItem, parseList } from "../../src/dbsc/structured-fields.js";

const configInvalid = expect.objectContaining({ code: "CONFIG_INVALID" });
const request = (headers: Record<string, string>) =>
  new Request("https://app.example/", { headers });
const JWS = "eyJhbGciOiJFUzI1NiJ9.eyJqdGkiOiJjdiJ9.c2lnbmF0dXJl";

/** What a browser reads from a registration value, per the draft's processing steps. */
function readRegistration(value: string) {
  const list = parseList(value);
  const entry = list?.[0];
  if (list?.length !== 1 || entry?.kind !== "inner-list") return null;
  const param = (key: string) => {
    const v = entry.params.get(key);
    return v?.type === "string" ? v.value : undefined;
  };
  return {
    algorithms: entry.items.map((i) => (i.value.type === "token" ? i.value.value : null)),
    path: param("path"),
    challenge: param("challenge"),
    authorization: param("authorization"),
  };
}

describe("registrationHeader", () => {
  it("offers ES256 then RS256 with the path and challenge as sf-strings", () => {
    expect(registrationHeader({ path: "/dbsc/register", challenge: "cv" })).toBe(
      '(ES256 RS256);path="/dbsc/register";challenge="cv"',
    );
  });

  it("adds the authorization parameter, in the shape of the draft's first example", () => {
    const value = registrationHeader({
      algorithms: ["ES256"],
      path: "/reg",
      challenge: "cv",
      authorization: "ac",
    });
    expect(value).toBe('(ES256);path="/reg";challenge="cv";authorization="ac"');
  });

  it("parses back to what was asked, whatever printable authorization is given", () => {
    const printable = fc.string({
      unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
      minLength: 1,
      maxLength: 100,
    });
    fc.assert(
      fc.property(
        printable,
        fc.constantFrom(["ES256"], ["RS256"], ["RS256", "ES256"]),
        (authorization, algorithms) => {
          const challenge = generateChallenge();
          const value = registrationHeader({
            path: "/api/id/dbsc/register?x=1",
            challenge,
            authorization,
            algorithms,
          });
          expect(readRegistration(value)).toEqual({
            algorithms,
            path: "/api/id/dbsc/register?x=1",
            challenge,
            authorization,
          });
        },
      ),
    );
  });

  it("quotes a quote and a backslash inside the authorization", () => {
    const value = registrationHeader({ path: "/r", challenge: "c", authorization: 'a"b\\c' });
    expect(value).toBe('(ES256 RS256);path="/r";challenge="c";authorization="a\\"b\\\\c"');
    expect(readRegistration(value)?.authorization).toBe('a"b\\c');
  });

  it("accepts an absolute https URL as the path", () => {
    const value = registrationHeader({ path: "https://app.example/dbsc/register", challenge: "c" });
    expect(readRegistration(value)?.path).toBe("https://app.example/dbsc/register");
  });

  it("refuses paths that could leave the site or be read two ways", () => {
    const bad = [
      "",
      "dbsc/register",
      "//evil.example/register",
      "/\\evil.example",
      "/%2f%2fevil.example",
      "/a%5Cb",
      "/with space",
      "/with#fragment",
      "http://app.example/register",
      "https://user:pw@app.example/register",
      "javascript:alert(1)",
      "/caf\u00e9",
    ];
    for (const path of bad) {
      expect(() => registrationHeader({ path, challenge: "c" }), path).toThrow(configInvalid);
    }
  });

  it("refuses empty or unsafe challenges, unknown or repeated algorithms, bad authorization", () => {
    const ok = { path: "/r", challenge: "c" };
    expect(() => registrationHeader({ ...ok, challenge: "" })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, challenge: 'a"b' })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, challenge: "a b" })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, algorithms: [] })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, algorithms: ["HS256" as "ES256"] })).toThrow(
      configInvalid,
    );
    expect(() => registrationHeader({ ...ok, algorithms: ["ES256", "ES256"] })).toThrow(
      configInvalid,
    );
    expect(() => registrationHeader({ ...ok, authorization: "" })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, authorization: "caf\u00e9" })).toThrow(configInvalid);
    expect(() => registrationHeader({ ...ok, authorization: "a\nb" })).toThrow(configInvalid);
  });
});

describe("challengeHeader", () => {
  it("is the challenge as an sf-string with the session id parameter, as refresh_session.py sends", () => {
    expect(challengeHeader("refresh_challenge_value", "0")).toBe(
      '"refresh_challenge_value";id="0"',
    );
    const item = parseItem(challengeHeader("c-1", "sess.A_b~9"));
    expect(item?.value).toEqual({ type: "string", value: "c-1" });
    expect(item?.params.get("id")).toEqual({ type: "string", value: "sess.A_b~9" });
  });

  it("refuses a challenge or session identifier outside their alphabets", () => {
    expect(() => challengeHeader("", "s")).toThrow(configInvalid);
    expect(() => challengeHeader("c", "")).toThrow(configInvalid);
    expect(() => challengeHeader("c", "my session")).toThrow(configInvalid);
    expect(() => challengeHeader("c", 'a"b')).toThrow(configInvalid);
    expect(() => challengeHeader("c", "x".repeat(129))).toThrow(configInvalid);
  });
});

describe("generateChallenge", () => {
  it("gives 256-bit base64url values that are valid challenges and do not repeat", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const c = generateChallenge();
      expect(c).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(isChallenge(c)).toBe(true);
      seen.add(c);
    }
    expect(seen.size).toBe(1000);
  });
});

describe("readSessionIdentifier", () => {
  it("reads the bare value Chrome sends and the sf-string the draft defines", () => {
    expect(readSessionIdentifier(request({ "Sec-Secure-Session-Id": "0" }))).toBe("0");
    expect(readSessionIdentifier(request({ "Sec-Secure-Session-Id": "abc_DEF-1.2~" }))).toBe(
      "abc_DEF-1.2~",
    );
    expect(readSessionIdentifier(request({ "Sec-Secure-Session-Id": '"session-id"' }))).toBe(
      "session-id",
    );
    expect(readSessionIdentifier(request({ "Sec-Secure-Session-Id": '"s1";x=1' }))).toBe("s1");
  });

  it("gives null for an absent, empty, joined, overlong or malformed value", () => {
    const bad = [
      "",
      "a b",
      "a, b",
      '"a", "b"',
      '"unterminated',
      '"a";',
      "x".repeat(129),
      "caf\u00e9",
      '"a b"',
    ];
    expect(readSessionIdentifier(request({}))).toBeNull();
    for (const value of bad) {
      expect(readSessionIdentifier(request({ "Sec-Secure-Session-Id": value })), value).toBeNull();
    }
    const twice = new Headers();
    twice.append("Sec-Secure-Session-Id", "a");
    twice.append("Sec-Secure-Session-Id", "b");
    expect(readSessionIdentifier({ headers: twice })).toBeNull();
  });

  it("never throws, even when reading the headers does", () => {
    const broken = {
      headers: {
        get(): string | null {
          throw new Error("boom");
        },
      },
    };
    expect(readSessionIdentifier(broken)).toBeNull();
    expect(readProof(broken)).toBeNull();
    expect(readSkipped(broken)).toEqual([]);
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (value) => {
        const headers = { get: () => value };
        readSessionIdentifier({ headers });
        readProof({ headers });
        readSkipped({ headers });
      }),
    );
  });
});

describe("readProof", () => {
  it("reads the bare JWS Chrome sends and the sf-string form of the draft", () => {
    expect(readProof(request({ "Secure-Session-Response": JWS }))).toBe(JWS);
    expect(readProof(request({ "Secure-Session-Response": `"${JWS}"` }))).toBe(JWS);
    expect(readProof(request({ "Secure-Session-Response": `"${JWS}";v=1` }))).toBe(JWS);
  });

  it("gives null for anything that is not one signed compact JWS", () => {
    const [h, p] = JWS.split(".");
    const bad = [
      "",
      `${h}.${p}`,
      `${h}.${p}.`,
      `${JWS}.x`,
      `${h}.${p}.si gn`,
      `${JWS}, ${JWS}`,
      `"${JWS}`,
    ];
    bad.push(`${h}.${p}.${"A".repeat(9000)}`);
    expect(readProof(request({}))).toBeNull();
    for (const value of bad) {
      expect(readProof(request({ "Secure-Session-Response": value }))).toBeNull();
    }
  });
});

describe("readSkipped", () => {
  it("reads the draft's example", () => {
    const value = 'unreachable;session_identifier="123", quota_exceeded;session_identifier="456"';
    expect(readSkipped(request({ "Secure-Session-Skipped": value }))).toEqual([
      { reason: "unreachable", sessionIdentifier: "123" },
      { reason: "quota_exceeded", sessionIdentifier: "456" },
    ]);
  });

  it("drops unknown reasons and ill-typed identifiers, and gives [] for a malformed field", () => {
    const value = 'server_error, bored;session_identifier="1", unreachable;session_identifier=2';
    expect(readSkipped(request({ "Secure-Session-Skipped": value }))).toEqual([
      { reason: "server_error", sessionIdentifier: null },
      { reason: "unreachable", sessionIdentifier: null },
    ]);
    expect(readSkipped(request({ "Secure-Session-Skipped": "unreachable;" }))).toEqual([]);
    expect(readSkipped(request({}))).toEqual([]);
  });
});
