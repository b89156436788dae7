import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import express from "express";
import fc from "fast-check";
import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  requireSession as expressRequireSession,
  sessionkit as expressSessionkit,
} from "../../src/adapters/express.js";
import {
  requireSession as fastifyRequireSession,
  sessionkit as fastifySessionkit,
} from "../../src/adapters/fastify.js";
import { rawAuthenticate } from "../../src/core/hot-path.js";
import type { SessionManager, SessionManagerOptions, SessionStore } from "../../src/index.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { type RunningServer, startServer } from "../../src/server/serve.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import {
  cachedVerifier,
  createJwtSigner,
  createJwtVerifier,
  generateKeySet,
  type ImportedKey,
  importKeySet,
  type JwtVerifier,
  MAX_TOKEN_BYTES,
} from "../../src/tokens/index.js";
import { hasDuplicateMembers, parseStrictJsonObject } from "../../src/tokens/json.js";
import { signJwsInput } from "../../src/tokens/jws.js";
import { ORIGIN, requestWith, setup } from "../helpers/manager.js";
import { tempDir } from "../helpers/tmp.js";

// Adversarial tests of the performance work on the hot path: the JWS verify rewrite (header
// resolution cache per key set, base64url MAC comparison, duplicate members found by counting,
// the verified-token cache keyed by the signature segment), the raw authenticate the adapters
// call (synchronous answers, shared per-request state, Fastify's callback hook), the CSRF
// method fast path, and the reference server's /me on Node's own headers and id cache.

const ISS = "https://app.example";
const AUD = "app";
const NOW = 1_900_000_000;
const clock = () => NOW * 1000;
const claims = { iss: ISS, aud: AUD, sub: "u1", iat: NOW, exp: NOW + 300 };
const b64 = (text: string) => Buffer.from(text).toString("base64url");
const reasonOf = (v: JwtVerifier, token: unknown) => {
  const result = v.verify(token);
  return result.ok ? "ok" : result.reason;
};
/** Signs header and payload JSON text exactly as written. */
function forge(header: string, payload: string, key: ImportedKey): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signJwsInput(input, key)}`;
}

/**
 * Reference for the duplicate check: a small recursive-descent walk over valid JSON that keeps
 * a Set of unescaped names per object (what the check did before it counted colons).
 */
function referenceHasDuplicate(text: string): boolean {
  let i = 0;
  let dup = false;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i] as string)) i++;
  };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") {
      const names = c === "{" ? new Set<string>() : null;
      i++;
      ws();
      if (text[i] === "}" || text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        if (names) {
          ws();
          const name = str();
          if (names.has(name)) dup = true;
          names.add(name);
          ws();
          i++; // the colon
        }
        value();
        ws();
        if (text[i++] !== ",") return;
      }
    }
    if (c === '"') {
      str();
      return;
    }
    while (i < text.length && !",]} \t\n\r".includes(text[i] as string)) i++;
  };
  value();
  return dup;
}

// Names that collide once unescaped, that look like JSON syntax, or that are prototype keys.
const NAMES = ["a", "b", "__proto__", "constructor", "toString", ":", '"', "\\", "a:b", "é", "𝒜"];
/** A name spelled plainly, fully \u-escaped, or with "/" escaped: three texts, one name. */
const spell = (name: string, how: number) => {
  if (how === 1)
    return `"${[...name]
      .map((ch) =>
        [...ch].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
      )
      .join("")}"`;
  if (how === 2) return JSON.stringify(name).replace(/:/g, "\\u003a");
  return JSON.stringify(name);
};
type Tree = { text: string };
const leaf: fc.Arbitrary<Tree> = fc
  .oneof(
    fc.string({ unit: "binary", maxLength: 6 }),
    fc.constantFrom(':"', '\\":', '\\\\":', "}:{", '{"a":1,"a":2}', ""),
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
  )
  .map((v) => ({ text: JSON.stringify(v) }));
const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leaf,
    fc
      .array(tie("tree"), { maxLength: 4 })
      .map((items) => ({ text: `[ ${items.map((t) => t.text).join(" ,")}]` })),
    fc
      .array(
        fc.tuple(
          fc.oneof(fc.constantFrom(...NAMES), fc.string({ unit: "binary", maxLength: 3 })),
          fc.nat(2),
          tie("tree"),
        ),
        { maxLength: 5 },
      )
      .map((members) => ({
        text: `{${members.map(([n, how, v]) => `${spell(n, how)} :${v.text}`).join(",\n")}}`,
      })),
  ),
}));

describe("strict JSON: the member-counting duplicate check against a per-object Set", () => {
  it("agrees with the reference on random trees: escapes, prototype names, colons and quotes in strings", () => {
    fc.assert(
      fc.property(tree, ({ text }) => {
        expect(hasDuplicateMembers(text)).toBe(referenceHasDuplicate(text));
        const parsed = parseStrictJsonObject(Buffer.from(text));
        if (text.startsWith("{")) expect(parsed === null).toBe(referenceHasDuplicate(text));
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses duplicates hidden by escapes, by __proto__, or in nested arrays, in a signed header or payload", () => {
    const [key] = importKeySet(generateKeySet("HS256", "hs")) as [ImportedKey];
    const v = createJwtVerifier([key], { issuer: ISS, audience: AUD, clock });
    const header = '{"alg":"HS256","kid":"hs","typ":"JWT"}';
    const payload = JSON.stringify(claims);
    expect(reasonOf(v, forge(header, payload, key))).toBe("ok");
    for (const h of [
      '{"alg":"HS256","kid":"hs","typ":"JWT","k\\u0069d":"hs"}',
      '{"alg":"HS256","kid":"hs","typ":"JWT","\\u006b\\u0069\\u0064":"other"}',
      '{"alg":"HS256","kid":"hs","typ":"JWT","__proto__":{},"__proto__":{}}',
      '{"alg":"HS256","kid":"hs","typ":"JWT","x":[{"a":1,"\\u0061":2}]}',
      '{"alg":"HS256","kid":"hs","typ":"JWT","typ":"at+jwt"}',
      '{"alg":"HS256","kid":"hs","typ":"JWT","t\\u0079p":"JWT"}',
    ])
      expect(reasonOf(v, forge(h, payload, key)), h).toBe("bad_header");
    for (const p of [
      payload.replace("{", '{"s\\u0075b":"admin",'),
      payload.replace("{", '{"__proto__":{"sub":"admin"},"__proto__":null,'),
      payload.replace("{", '{"aud":"other",'),
      payload.replace("{", '{"x":"\\":\\"","x":1,'),
    ])
      expect(reasonOf(v, forge(header, p, key)), p).toBe("bad_payload");
    // One __proto__ member is data, not a prototype: nothing it holds reaches the header checks,
    // and the header handed back is the parse, frozen.
    const proto = v.verify(
      forge('{"alg":"HS256","kid":"hs","typ":"JWT","__proto__":{"crit":["exp"]}}', payload, key),
    );
    expect(proto.ok).toBe(true);
    if (proto.ok) {
      expect(Object.getPrototypeOf(proto.header)).toBe(Object.prototype);
      expect(Object.isFrozen(proto.header)).toBe(true);
    }
  });

  it("the deepest header an 8 KiB token can carry is refused with a reason, not a throw", () => {
    const [key] = importKeySet(generateKeySet("HS256", "hs")) as [ImportedKey];
    const v = createJwtVerifier([key], { issuer: ISS, audience: AUD, clock });
    const deep = (n: number) => `{"alg":"HS256","kid":"hs","x":${"[".repeat(n)}${"]".repeat(n)}}`;
    let n = 1;
    while (`${b64(deep(n + 1))}.e30.AAAA`.length <= MAX_TOKEN_BYTES) n++;
    expect(n).toBeGreaterThan(3000);
    expect(reasonOf(v, `${b64(deep(n))}.e30.AAAA`)).toBe("bad_signature");
    expect(reasonOf(v, `${b64(deep(n))}.e30.${"A".repeat(43)}`)).toBe("too_large");
    // Unbalanced or unterminated text never gets as far as the count.
    expect(reasonOf(v, `${b64(`${"[".repeat(4000)}`)}.e30.AAAA`)).toBe("bad_header");
    expect(reasonOf(v, `${b64('{"alg":"HS256","kid":"hs","x":"\\')}.e30.AAAA`)).toBe("bad_header");
  });
});

describe("JWS header resolution cache: per key set, never across", () => {
  it("a header resolved for one key set resolves afresh for another: other secret, other alg, no kid, other typ", () => {
    const setA = generateKeySet("HS256", "k");
    const setB = generateKeySet("HS256", "k"); // same kid and alg, another secret
    const setEd = generateKeySet("EdDSA", "k");
    const token = createJwtSigner(setA).sign(claims);
    const a = createJwtVerifier(setA, { issuer: ISS, audience: AUD, clock });
    const b = createJwtVerifier(setB, { issuer: ISS, audience: AUD, clock });
    const ed = createJwtVerifier(setEd, { issuer: ISS, audience: AUD, clock });
    const none = createJwtVerifier(generateKeySet("HS256", "other"), {
      issuer: ISS,
      audience: AUD,
      clock,
    });
    const at = createJwtVerifier(setA, { issuer: ISS, audience: AUD, clock, type: "at+jwt" });
    for (let round = 0; round < 3; round++) {
      expect(reasonOf(a, token)).toBe("ok");
      expect(reasonOf(b, token)).toBe("bad_signature");
      expect(reasonOf(ed, token)).toBe("alg_mismatch");
      expect(reasonOf(none, token)).toBe("unknown_kid");
      expect(reasonOf(at, token)).toBe("wrong_type");
    }
    // Two verifiers over the very same imported keys keep their own maps: a verifier built
    // from a shorter list does not inherit a kid resolved by the longer one.
    const keys = importKeySet(rotateTo(setA));
    const both = createJwtVerifier(keys, { issuer: ISS, audience: AUD, clock });
    const newOnly = createJwtVerifier(keys.slice(0, 1), { issuer: ISS, audience: AUD, clock });
    expect(reasonOf(both, token)).toBe("ok");
    expect(reasonOf(newOnly, token)).toBe("unknown_kid");
  });

  it("refuses a non-canonical spelling of a valid signature for every algorithm (stray low bits)", () => {
    for (const alg of ["HS256", "HS384", "HS512", "EdDSA", "ES256", "RS256", "PS256"] as const) {
      const set = generateKeySet(alg, "k");
      const v = createJwtVerifier(set, { issuer: ISS, audience: AUD, clock });
      const token = createJwtSigner(set).sign(claims);
      expect(reasonOf(v, token), alg).toBe("ok");
      const sig = token.slice(token.lastIndexOf(".") + 1);
      const last = sig.charCodeAt(sig.length - 1);
      // The next character of the alphabet shares every significant bit of the last one.
      const stray = `${token.slice(0, -1)}${String.fromCharCode(last === 0x7a ? 0x30 : last + 1)}`;
      if (sig.length % 4 !== 0) expect(reasonOf(v, stray), alg).toBe("malformed");
      expect(reasonOf(v, `${token}=`), alg).toBe("malformed");
      expect(reasonOf(v, `${token}A`), alg).not.toBe("ok");
      expect(reasonOf(v, token.slice(0, -1)), alg).not.toBe("ok");
    }
  });
});

/** The set with a new first key (`new`) and the old one still verifying. */
function rotateTo(set: ReturnType<typeof generateKeySet>) {
  const fresh = generateKeySet("HS256", "new");
  return { keys: [...fresh.keys, ...set.keys] };
}

describe("verified-token cache keyed by the signature segment", () => {
  const [key] = importKeySet(generateKeySet("HS256", "hs")) as [ImportedKey];
  const counting = () => {
    const inner = createJwtVerifier([key], { issuer: ISS, audience: AUD, clock });
    let calls = 0;
    const verifier: JwtVerifier = {
      verify(token) {
        calls++;
        return inner.verify(token);
      },
    };
    return { verifier, calls: () => calls };
  };
  const header = '{"alg":"HS256","kid":"hs","typ":"JWT"}';

  it("a cached signature segment under another header or payload proves nothing, and the cached token is untouched", () => {
    const { verifier, calls } = counting();
    const cached = cachedVerifier(verifier, { clock });
    const token = forge(header, JSON.stringify(claims), key);
    const sig = token.slice(token.lastIndexOf(".") + 1);
    expect(reasonOf(cached, token)).toBe("ok");
    expect(reasonOf(cached, token)).toBe("ok");
    expect(calls()).toBe(1);
    const admin = `${b64(header)}.${b64(JSON.stringify({ ...claims, sub: "admin" }))}.${sig}`;
    const otherHead = `${b64('{"alg":"HS256","kid":"hs","typ":"JWT","x":1}')}.${token.split(".")[1]}.${sig}`;
    const noHead = `.${token.split(".")[1]}.${sig}`;
    const twoDots = `${token.split(".")[1]}.${sig}`;
    for (const forged of [admin, otherHead, noHead, twoDots, ` ${token}`, `${token} `]) {
      expect(reasonOf(cached, forged), forged.slice(0, 20)).not.toBe("ok");
      expect(reasonOf(cached, forged)).not.toBe("ok"); // a refusal is never cached either
    }
    expect(calls()).toBe(1 + 12);
    expect(cached.verify(token)).toMatchObject({ ok: true, claims: { sub: "u1" } });
    expect(calls()).toBe(13);
  });

  it("serves no entry past the token's exp, however recently used, and stays within its bound under a flood", () => {
    let now = NOW * 1000;
    const inner = createJwtVerifier([key], { issuer: ISS, audience: AUD, clock: () => now });
    let calls = 0;
    const counted: JwtVerifier = {
      verify(token) {
        calls++;
        return inner.verify(token);
      },
    };
    const cached = cachedVerifier(counted, { clock: () => now, max: 8 });
    const short = forge(header, JSON.stringify({ ...claims, exp: NOW + 10 }), key);
    expect(reasonOf(cached, short)).toBe("ok");
    const flood = Array.from({ length: 50 }, (_, i) =>
      forge(header, JSON.stringify({ ...claims, jti: `t${i}` }), key),
    );
    for (const t of flood) {
      expect(reasonOf(cached, t)).toBe("ok");
      expect(reasonOf(cached, short)).toBe("ok"); // used on every round: spared each time
    }
    expect(calls).toBe(1 + 50); // the hot token never went back to the codec
    // The bound held: the early flood tokens were evicted and verify afresh.
    calls = 0;
    for (const t of flood.slice(0, 10)) expect(reasonOf(cached, t)).toBe("ok");
    expect(calls).toBe(10);
    // Past its exp the cached entry is not served: the codec answers, and past its skew, refuses.
    now = (NOW + 10 + 31) * 1000;
    calls = 0;
    expect(reasonOf(cached, short)).toBe("expired");
    expect(calls).toBe(1);
  });

  it("two managers with one key set: a token one of them verified and cached is refused by the other", async () => {
    const keys = generateKeySet("HS256", "shared");
    const common: Partial<SessionManagerOptions> = { keys, issuer: ISS, strategy: "jwt" };
    const a = setup({ ...common, audience: "app-a" }).manager;
    const b = setup({ ...common, audience: "app-b" }).manager;
    const h = setup({ ...common, strategy: "hybrid", audience: "app-a" }).manager;
    const { token } = await a.create({ userId: "u1", transport: "header" });
    for (let i = 0; i < 3; i++) {
      expect((await a.authenticate(requestWith({ bearer: token }))).session?.userId).toBe("u1");
      expect((await b.authenticate(requestWith({ bearer: token }))).failure?.reason).toBe(
        "invalid_token",
      );
      expect((await h.authenticate(requestWith({ bearer: token }))).failure?.reason).toBe(
        "invalid_token",
      );
    }
    for (const m of [a, b, h]) m.close();
  });
});

describe("CSRF through the raw authenticate: method spellings, transports, cached tokens", () => {
  const UNSAFE = [
    "POST",
    "post",
    "Post",
    "pOST",
    "POST ",
    " POST",
    "PUT",
    "DELETE",
    "PATCH",
    "patch",
    "",
    "G ET",
    "GET\u0000",
    "CONNECT",
    "PROPFIND",
  ];
  const SAFE = ["GET", "get", "Get", "HEAD", "head", "OPTIONS", "options", "TRACE"];
  const like = (
    method: string | undefined,
    cookie: string,
    headers: Record<string, string> = {},
  ) => ({
    method,
    url: "/thing",
    headers: {
      get: (name: string) =>
        name.toLowerCase() === "cookie" ? cookie : (headers[name.toLowerCase()] ?? null),
    },
  });
  const reasonOfRaw = async (manager: SessionManager, request: ReturnType<typeof like>) => {
    const pending = rawAuthenticate(manager, request);
    const result = pending instanceof Promise ? await pending : pending;
    return result.session ? "ok" : result.failure.reason;
  };

  for (const strategy of ["id", "jwt", "hybrid"] as const) {
    it(`${strategy}: every unsafe spelling needs proof with a cookie, before and after the token is cached; a bearer token needs none`, async () => {
      const keys = generateKeySet("HS256", "k");
      const { manager } = setup(
        strategy === "id" ? {} : { strategy, keys, issuer: ISS, audience: AUD },
      );
      const issued = await manager.create({ userId: "u1" });
      const name =
        strategy === "id" ? "__Host-sid" : strategy === "jwt" ? "__Host-jwt" : "__Host-at";
      const value = issued.headers
        .getSetCookie()
        .map((c) => c.split(";")[0] as string)
        .find((c) => c.startsWith(`${name}=`)) as string;
      for (let round = 0; round < 2; round++) {
        // Round 0 verifies afresh; round 1 answers jwt/hybrid from the verified-token cache.
        for (const method of SAFE)
          expect(await reasonOfRaw(manager, like(method, value)), method).toBe("ok");
        for (const method of UNSAFE) {
          expect(await reasonOfRaw(manager, like(method, value)), JSON.stringify(method)).toBe(
            "csrf",
          );
          expect(
            await reasonOfRaw(manager, like(method, value, { "sec-fetch-site": "same-site" })),
          ).toBe("csrf");
          expect(
            await reasonOfRaw(manager, like(method, value, { origin: "https://app.example.evil" })),
          ).toBe("csrf");
          expect(
            await reasonOfRaw(manager, like(method, value, { origin: `${ORIGIN}, ${ORIGIN}` })),
          ).toBe("csrf");
          expect(await reasonOfRaw(manager, like(method, value, { origin: ORIGIN })), method).toBe(
            "ok",
          );
        }
      }
      const header = await manager.create({ userId: "u1", transport: "header" });
      for (const method of UNSAFE) {
        const request = {
          method,
          headers: {
            get: (n: string) => (n === "authorization" ? `Bearer ${header.token}` : null),
          },
        };
        expect(await reasonOfRaw(manager, request as ReturnType<typeof like>)).toBe("ok");
      }
      manager.close();
    });
  }
});

async function listen(app: http.RequestListener) {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** One HTTP/1.1 request with exactly these header lines (an array value repeats the header). */
function send(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string | string[]> = {},
  body?: string,
) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const req = http.request(base + path, { method, agent: false });
      for (const [k, v] of Object.entries(headers)) req.setHeader(k, v);
      req.setTimeout(5000, () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
      req.on("response", (res) => {
        let text = "";
        res.on("data", (d) => {
          text += d;
        });
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
        );
      });
      req.on("error", reject);
      req.end(body);
    },
  );
}

describe("adapters on the synchronous path: early answers and per-request state", () => {
  const keys = generateKeySet("HS256", "k");
  let lagging = false;
  const store = memoryStore();
  const laggy: SessionStore = new Proxy(store, {
    get(target, prop, receiver) {
      if (prop === "feedLag") return () => (lagging ? 60_000 : (target.feedLag?.() ?? 0));
      return Reflect.get(target, prop, receiver);
    },
  });
  const { manager } = setup({ strategy: "jwt", keys, issuer: ISS, audience: AUD }, laggy);
  let cookie = "";
  let ran: string[] = [];
  const servers: Array<{ url: string; close(): Promise<void> }> = [];
  const targets: Record<string, string> = {};

  beforeAll(async () => {
    const issued = await manager.create({ userId: "u1" });
    cookie = (issued.headers.getSetCookie()[0] ?? "").split(";")[0] as string;

    const ex = express();
    ex.use(expressSessionkit(manager));
    ex.get("/me", expressRequireSession(), (req, res) => {
      ran.push(`express ${req.method} ${req.path}`);
      res.json({ userId: req.session?.userId ?? null });
    });
    ex.post("/transfer", expressRequireSession(), (req, res) => {
      ran.push(`express ${req.method} ${req.path}`);
      res.json({ userId: req.session?.userId ?? null });
    });
    ex.get("/open", (req, res) => {
      ran.push(`express ${req.method} ${req.path}`);
      res.json({ userId: req.session?.userId ?? null });
    });
    const e = await listen(ex);
    servers.push(e);
    targets.express = e.url;

    const fa = Fastify();
    await fa.register(fastifySessionkit, { manager: manager as unknown as SessionManager });
    fa.get("/me", { onRequest: fastifyRequireSession }, async (request) => {
      ran.push(`fastify GET ${request.url}`);
      return { userId: request.session?.userId ?? null };
    });
    fa.post("/transfer", { onRequest: fastifyRequireSession }, async (request) => {
      ran.push(`fastify POST ${request.url}`);
      return { userId: request.session?.userId ?? null };
    });
    fa.get("/open", async (request) => {
      ran.push(`fastify GET ${request.url}`);
      return { userId: request.session?.userId ?? null };
    });
    const url = await fa.listen({ port: 0, host: "127.0.0.1" });
    servers.push({ url, close: () => fa.close() });
    targets.fastify = url;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    manager.close();
  });

  for (const name of ["express", "fastify"]) {
    it(`${name}: a cached jwt answers cross-site unsafe requests 403 before the route, in every spelling of the proof`, async () => {
      const url = targets[name] as string;
      ran = [];
      expect((await send(url, "GET", "/me", { cookie })).status).toBe(200); // cached from here on
      const proofs: Array<Record<string, string | string[]>> = [
        {},
        { origin: "https://evil.example" },
        { origin: "null" },
        { "sec-fetch-site": "same-site" },
        { "sec-fetch-site": "cross-site", origin: ORIGIN.toUpperCase() },
        { origin: [ORIGIN, "https://evil.example"] },
        { "sec-fetch-site": ["same-origin", "cross-site"] },
        { "x-csrf-token": "forged" },
      ];
      for (const headers of proofs) {
        const r = await send(url, "POST", "/transfer", { cookie, ...headers });
        expect(r.status, JSON.stringify(headers)).toBe(403);
        expect(r.headers["content-type"]).toMatch(/problem\+json/);
      }
      // Two Cookie header lines: Node joins them, and a second session cookie is ambiguous.
      expect((await send(url, "GET", "/me", { cookie: [cookie, cookie] })).status).toBe(401);
      expect((await send(url, "GET", "/me", { cookie: ["a=1", cookie] })).status).toBe(200);
      expect(ran.filter((r) => r.includes("/transfer"))).toEqual([]);
      const ok = await send(url, "POST", "/transfer", { cookie, origin: ORIGIN });
      expect(ok.status).toBe(200);
      expect(JSON.parse(ok.body).userId).toBe("u1");
    });

    it(`${name}: refusals and sessions never leak between interleaved requests`, async () => {
      const url = targets[name] as string;
      const jobs: Array<Promise<[string, number, string | null]>> = [];
      for (let i = 0; i < 60; i++) {
        const kind = ["good", "cross", "none", "bad"][i % 4] as string;
        const job = (async (): Promise<[string, number, string | null]> => {
          const r =
            kind === "good"
              ? await send(url, "POST", "/transfer", { cookie, origin: ORIGIN })
              : kind === "cross"
                ? await send(url, "POST", "/transfer", { cookie, origin: "https://evil.example" })
                : kind === "none"
                  ? await send(url, "GET", "/open")
                  : await send(url, "GET", "/me", { cookie: `${cookie}x` });
          let user: string | null = null;
          try {
            user = (JSON.parse(r.body) as { userId?: string }).userId ?? null;
          } catch {}
          return [kind, r.status, user];
        })();
        jobs.push(job);
      }
      for (const [kind, status, user] of await Promise.all(jobs)) {
        if (kind === "good") expect([status, user]).toEqual([200, "u1"]);
        if (kind === "cross") expect(status).toBe(403);
        if (kind === "none") expect([status, user]).toEqual([200, null]);
        if (kind === "bad") expect(status).toBe(401);
      }
    });

    it(`${name}: a stale revocation feed fails closed on the synchronous path (503, or signed out), and recovers`, async () => {
      const url = targets[name] as string;
      expect((await send(url, "GET", "/me", { cookie })).status).toBe(200);
      ran = [];
      lagging = true;
      try {
        for (const [method, path, headers] of [
          ["GET", "/me", { cookie }],
          ["POST", "/transfer", { cookie, origin: ORIGIN }],
        ] as const) {
          const r = await send(url, method, path, headers);
          expect(r.status, `${method} ${path}`).toBe(503);
        }
        // A route without the guard: Fastify answers 503 in its hook; Express lets the route
        // run signed out. Never as the user.
        const open = await send(url, "GET", "/open", { cookie });
        if (open.status === 200) expect(JSON.parse(open.body).userId).toBeNull();
        else expect(open.status).toBe(503);
      } finally {
        lagging = false;
      }
      expect(ran.filter((r) => !r.includes("/open"))).toEqual([]);
      expect((await send(url, "GET", "/me", { cookie })).status).toBe(200);
    });
  }
});

describe("reference server: /me on Node's headers, and revocation through the id cache", () => {
  const dir = tempDir();
  let a: RunningServer;
  let b: RunningServer;
  const config = () =>
    resolveServerConfig(
      {
        port: "0",
        host: "127.0.0.1",
        database: join(dir, "db.sqlite"),
        keys: join(dir, "keys.json"),
      },
      { SESSIONKIT_SCRYPT_LOG2N: "10" },
    );
  beforeAll(async () => {
    a = await startServer(config(), () => {});
    b = await startServer(config(), () => {});
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });
  let users = 0;
  const signIn = async (base: string, strategy: string, username?: string) => {
    const json = { origin: base, "content-type": "application/json" };
    const name = username ?? `attack${++users}x${Date.now() % 100_000}`;
    const password = "correct horse battery";
    if (!username)
      await send(base, "POST", "/api/users", json, JSON.stringify({ username: name, password }));
    const r = await send(
      base,
      "POST",
      `/api/${strategy}/login`,
      json,
      JSON.stringify({ username: name, password }),
    );
    expect(r.status).toBe(200);
    const cookies = ((r.headers["set-cookie"] ?? []) as string[]).map((c) => c.split(";")[0]);
    return { name, cookie: cookies.join("; "), session: JSON.parse(r.body).session.id as string };
  };

  it("refuses two Cookie header lines that carry a session cookie each, on every strategy's /me and /sessions", async () => {
    for (const strategy of ["id", "jwt", "hybrid"]) {
      const one = await signIn(a.url, strategy);
      const two = await signIn(a.url, strategy);
      for (const path of [`/api/${strategy}/me`, `/api/${strategy}/sessions`]) {
        expect((await send(a.url, "GET", path, { cookie: one.cookie })).status).toBe(200);
        for (const cookie of [
          [one.cookie, two.cookie],
          [two.cookie, one.cookie],
          [one.cookie, one.cookie],
        ])
          expect((await send(a.url, "GET", path, { cookie })).status, path).toBe(401);
      }
    }
  });

  it("id: a revocation is refused at once by the instance that made it, and by another within its cache's 1 s", async () => {
    const victim = await signIn(a.url, "id");
    const other = await signIn(a.url, "id", victim.name);
    expect((await send(a.url, "GET", "/api/id/me", { cookie: victim.cookie })).status).toBe(200);
    expect((await send(b.url, "GET", "/api/id/me", { cookie: victim.cookie })).status).toBe(200);
    expect((await send(b.url, "GET", "/api/id/me", { cookie: other.cookie })).status).toBe(200);
    // Revoke one session by id, then all of the user's, from instance a.
    const del = await send(a.url, "DELETE", `/api/id/sessions/${victim.session}`, {
      cookie: other.cookie,
      origin: a.url,
    });
    expect(del.status).toBe(204);
    expect((await send(a.url, "GET", "/api/id/me", { cookie: victim.cookie })).status).toBe(401);
    const started = Date.now();
    let status = 200;
    while (status === 200 && Date.now() - started < 1500)
      status = (await send(b.url, "GET", "/api/id/me", { cookie: victim.cookie })).status;
    expect(status).toBe(401);
    expect(Date.now() - started).toBeLessThan(1500);
    const all = await send(a.url, "POST", "/api/id/sessions/revoke-all", {
      cookie: other.cookie,
      origin: a.url,
    });
    expect(all.status).toBe(200);
    expect((await send(a.url, "GET", "/api/id/me", { cookie: other.cookie })).status).toBe(401);
    const since = Date.now();
    status = 200;
    while (status === 200 && Date.now() - since < 1500)
      status = (await send(b.url, "GET", "/api/id/me", { cookie: other.cookie })).status;
    expect(status).toBe(401);
  });

  it("id: a cross-site revoke-all riding the cookie is refused on the Node-headers path, whatever the Origin lines", async () => {
    const s = await signIn(a.url, "id");
    for (const origin of [
      [] as string[],
      ["https://evil.example"],
      [a.url, "https://evil.example"],
    ]) {
      const headers: Record<string, string | string[]> = { cookie: s.cookie };
      if (origin.length > 0) headers.origin = origin;
      const r = await send(a.url, "POST", "/api/id/sessions/revoke-all", headers);
      expect(r.status, JSON.stringify(origin)).toBe(403);
    }
    expect((await send(a.url, "GET", "/api/id/me", { cookie: s.cookie })).status).toBe(200);
  });
});
