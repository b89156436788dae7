import type {
  AuthShape,
  Body,
  CookiePart,
  Mutation,
  NameVariant,
  RequestShape,
  Str,
  Target,
  TokenShape,
  TokenSource,
  Value,
} from "./request-arbitrary.js";

/** A request as it goes on the wire: header pairs in order, duplicates kept. */
export interface RenderedRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

export function renderToken(shape: TokenShape, source: TokenSource): string {
  if ("text" in shape) return shape.text;
  if ("forgery" in shape) return source.forge(shape.forgery, shape.ref, shape.other);
  const token = source.token(shape.ref);
  return "mutation" in shape ? mutate(token, shape.mutation, shape.at) : token;
}

/** The same token one small step wrong; `at` (0-999) says where along it. */
export function mutate(token: string, mutation: Mutation, at: number): string {
  const i = Math.min(Math.floor((at / 1000) * token.length), Math.max(0, token.length - 1));
  const at2 = (s: string) => `${token.slice(0, i)}${s}${token.slice(i + 1)}`;
  switch (mutation) {
    case "flip":
      return at2(B64[(B64.indexOf(token[i] ?? "A") + 1) % 64] ?? "A");
    case "truncate":
      return token.slice(0, i);
    case "append":
      return token + (["A", "=", ".", "x", " ", "%00"][at % 6] ?? "");
    case "case":
      return token.replace(/[a-z]/gi, (c) =>
        c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase(),
      );
    case "noncanonical":
      return nonCanonical(token);
    case "pad":
      return token + "=".repeat(1 + (at % 2));
    case "double":
      return at % 2 ? token + token : `${token}.${token}`;
    case "oversize":
      return token + "A".repeat(9000);
    case "percent":
      return at2(`%${(token.charCodeAt(i) || 65).toString(16).toUpperCase().padStart(2, "0")}`);
    case "space":
      return `${token.slice(0, i)} ${token.slice(i)}`;
    case "dot":
      return token.replace(".", "..");
  }
}

/** Another spelling of the same bytes: the unused low bits of the last character set. */
function nonCanonical(token: string): string {
  const rest = (token.length - token.lastIndexOf(".") - 1) % 4;
  const value = B64.indexOf(token.at(-1) ?? "");
  if (value < 0 || (rest !== 2 && rest !== 3)) return `${token}=`;
  return token.slice(0, -1) + B64[value | (rest === 2 ? 0b1111 : 0b11)];
}

/** What a client puts on the wire for text beyond Latin-1: its UTF-8 bytes. */
const wire = (text: string) =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: header values allow tab, not the rest
  (/[^\u0000-\u00ff]/.test(text) ? Buffer.from(text, "utf8").toString("latin1") : text).replace(
    /[^\t\u0020-\u007e\u0080-\u00ff]/g,
    "",
  );
const pct = (text: string) =>
  [...Buffer.from(text, "utf8")]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
    )
    .join("");

function cookieName(kind: Extract<CookiePart, { kind: unknown }>, target: Target): string {
  const name = kind.kind === "other" ? "theme" : target.cookies[kind.kind];
  const variants: Record<NameVariant, () => string> = {
    exact: () => name,
    lower: () => name.toLowerCase(),
    upper: () => name.toUpperCase(),
    pad: () => ` ${name}\t`,
    bare: () => name.replace(/^__(Host|Secure)-/, ""),
    "prefix-swap": () =>
      name.startsWith("__Host-")
        ? name.replace("__Host-", "__Secure-")
        : name.replace("__Secure-", "__Host-"),
    // Dotless i and Cyrillic dze: other names to the server, the same to a reader.
    lookalike: () => name.replace("i", "\u0131").replace("s", "\u0455"),
    encoded: () => name.replaceAll("_", "%5F"),
  };
  return variants[kind.variant]();
}

function renderCookie(parts: CookiePart[], target: Target, source: TokenSource): string {
  return parts
    .map((p) => {
      if ("raw" in p) return p.raw;
      if ("jar" in p) return source.token({ ...p.jar, slot: "jar" });
      const value = renderToken(p.value, source);
      return `${cookieName(p, target)}=${p.quote ? `"${value}"` : value}`;
    })
    .join("; ");
}

const renderAuth = (a: AuthShape, source: TokenSource) =>
  "raw" in a ? a.raw : `${a.scheme}${a.gap}${renderToken(a.token, source)}${a.tail}`;

function renderStr(s: Str, source: TokenSource): string {
  if ("user" in s) {
    const name = source.username(s.user);
    const variants: Record<string, string> = {
      exact: name,
      upper: name.toUpperCase(),
      nul: `${name}\u0000`,
      surrogate: `${name}\ud800`,
      space: `${name} `,
      dotted: name.replaceAll("i", "\u0130"),
    };
    return variants[s.variant] ?? name;
  }
  if ("password" in s) {
    const p = source.password;
    const variants: Record<string, string> = {
      right: p,
      wrong: "wrong password",
      nul: `${p}\u0000`,
      long: "p".repeat(1025),
      empty: "",
    };
    return variants[s.password] ?? p;
  }
  if ("lit" in s) return s.lit;
  if ("token" in s) return renderToken(s.token, source);
  return "x".repeat(s.huge);
}

function renderValue(v: Value, source: TokenSource): string {
  if ("str" in v) return JSON.stringify(renderStr(v.str, source));
  if ("num" in v) return Object.is(v.num, -0) ? "-0" : String(v.num);
  if ("bool" in v) return String(v.bool);
  if ("nil" in v) return "null";
  if ("deep" in v)
    return v.open === "["
      ? "[".repeat(v.deep) + "]".repeat(v.deep)
      : `${'{"a":'.repeat(v.deep)}1${"}".repeat(v.deep)}`;
  if ("arr" in v) return `[${v.arr.map((x) => renderValue(x, source)).join(",")}]`;
  return renderObject(v.obj, source);
}

const renderObject = (pairs: Array<[string, Value]>, source: TokenSource) =>
  `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${renderValue(v, source)}`).join(",")}}`;

function renderBody(body: Body, source: TokenSource): Uint8Array {
  if ("bytes" in body) return Uint8Array.from(body.bytes);
  if ("text" in body) return new TextEncoder().encode(body.text);
  if ("huge" in body) return new TextEncoder().encode(`{"username":"${"a".repeat(body.huge)}"}`);
  const text = renderObject(body.json, source);
  return new TextEncoder().encode(body.cut === undefined ? text : text.slice(0, body.cut));
}

function renderPath(shape: RequestShape, source: TokenSource): string {
  const { param, tweak, swap, query } = shape.path;
  const value =
    "session" in param
      ? source.sessionId(param.session, param.ref)
      : "lit" in param
        ? param.lit
        : pct(param.text);
  let path = shape.route.path.replace(/:\w+/g, value);
  if (tweak === "slash") path += "/";
  if (tweak === "double") path = `/${path}`;
  if (tweak === "upper") path = path.toUpperCase();
  if (tweak === "encode")
    path = path.replace(/[a-z](?=[^/]*$)/, (c) => `%${c.charCodeAt(0).toString(16)}`);
  if (tweak === "dot") path = path.replace(/^\/[^/]*/, (first) => `${first}/x/..`);
  if (tweak === "semicolon") path += ";jsessionid=1";
  if (tweak === "swap") {
    path = /^\/api\/(id|jwt|hybrid)\//.test(path)
      ? path.replace(/^\/api\/(id|jwt|hybrid)\//, `/api/${swap}/`)
      : path.replace(/[^/]*$/, swap);
  }
  if (query === null) return path;
  if (typeof query === "string") return `${path}?q=${pct(query)}`;
  return `${path}?access_token=${pct(renderToken(query, source))}`;
}

const ORIGINS: Record<string, (o: string) => string> = {
  allowed: (o) => o,
  "allowed/": (o) => `${o}/`,
  ALLOWED: (o) => o.toUpperCase(),
  "allowed:1": (o) => `${o}:1`,
  "allowed.evil.example": (o) => `${o}.evil.example`,
};

/** The concrete request of a shape, with this run's tokens. */
export function renderRequest(
  shape: RequestShape,
  target: Target,
  source: TokenSource,
): RenderedRequest {
  const headers: Array<[string, string]> = [];
  const add = (name: string, value: string) => headers.push([name, wire(value)]);
  for (const parts of shape.cookies) add("cookie", renderCookie(parts, target, source));
  for (const a of shape.auth) add("authorization", renderAuth(a, source));
  if (shape.site !== null) add("sec-fetch-site", shape.site);
  if (shape.origin !== null)
    add("origin", (ORIGINS[shape.origin] ?? (() => shape.origin ?? ""))(target.origin));
  if (shape.csrf) add("x-csrf-token", renderToken(shape.csrf, source));
  for (const [name, value] of shape.extra) add(name, value);
  const method = shape.method;
  const body = shape.body && !/^(GET|HEAD)$/i.test(method) ? renderBody(shape.body, source) : null;
  if (body && shape.contentType !== null) add("content-type", shape.contentType);
  if (shape.contentLength === "auto") {
    if (body) add("content-length", String(body.byteLength));
  } else if (shape.contentLength !== "omit") add("content-length", shape.contentLength);
  return { method, path: renderPath(shape, source), headers, body };
}

/** The request for an in-process `fetch` handler. */
export function toRequest(base: string, r: RenderedRequest): Request {
  const headers = new Headers();
  for (const [name, value] of r.headers) headers.append(name, value);
  return new Request(base + r.path, {
    method: r.method,
    headers,
    ...(r.body ? { body: r.body } : {}),
  });
}

const short = (text: string, max = 400) =>
  JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text) +
  (text.length > max ? ` (${text.length} chars)` : "");

/** A request as a failure report prints it: escaped, long values cut. */
export function describeRequest(r: RenderedRequest): string {
  const lines = [`${r.method} ${short(r.path)}`, ...r.headers.map(([k, v]) => `${k}: ${short(v)}`)];
  if (r.body)
    lines.push(`body (${r.body.byteLength} bytes): ${short(Buffer.from(r.body).toString("utf8"))}`);
  return lines.join("\n");
}

export { short };
