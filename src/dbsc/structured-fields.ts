import { configError } from "../errors.js";

/**
 * The part of RFC 9651 (Structured Field Values for HTTP) that the DBSC headers use: parsing
 * of Lists and Items with every bare item type, and serialisation of Strings and Tokens.
 * Parsing never throws; any input that is not a valid field value gives `null`, as RFC 9651
 * §4.2 asks ("fail parsing"), so a malformed header is ignored as a whole.
 */

export type BareItem =
  | { type: "integer"; value: number }
  | { type: "decimal"; value: number }
  | { type: "string"; value: string }
  | { type: "token"; value: string }
  | { type: "bytes"; value: Uint8Array }
  | { type: "boolean"; value: boolean }
  | { type: "date"; value: number }
  | { type: "displaystring"; value: string };

export type Parameters = ReadonlyMap<string, BareItem>;

export interface Item {
  kind: "item";
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: "inner-list";
  items: readonly Item[];
  params: Parameters;
}

export type ListMember = Item | InnerList;

// Field values are header lines; DBSC values are a few hundred bytes, a proof at most ~8 KiB.
// Anything far longer is refused before parsing so that the work stays bounded.
const MAX_FIELD_LENGTH = 16_384;

const DIGIT = /[0-9]/;
const ALPHA = /[A-Za-z]/;
const LCALPHA_OR_STAR = /[a-z*]/;
const KEY_CHAR = /[a-z0-9_\-.*]/;
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z:/]/;
const BASE64_CHAR = /[A-Za-z0-9+/=]/;
const LOWER_HEX = /^[0-9a-f]{2}$/;
const TOKEN = /^[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*$/;
const STRING_SAFE = /^[\x20-\x7e]*$/;

class Failure extends Error {}

/** A cursor over one field value; every `parse*` method consumes what it recognises. */
class Input {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? "";
  }
  next(): string {
    const ch = this.text[this.pos] ?? "";
    this.pos++;
    return ch;
  }
  skipSP(): void {
    while (this.peek() === " ") this.pos++;
  }
  skipOWS(): void {
    while (this.peek() === " " || this.peek() === "\t") this.pos++;
  }
}

function fail(): never {
  throw new Failure();
}

/** Parses a whole field value as a List (RFC 9651 §4.2.1); `null` if it is not one. */
export function parseList(text: string): ListMember[] | null {
  return parseField(text, (input) => {
    const members: ListMember[] = [];
    while (!input.done) {
      members.push(input.peek() === "(" ? parseInnerList(input) : parseItemAt(input));
      input.skipOWS();
      if (input.done) return members;
      if (input.next() !== ",") fail();
      input.skipOWS();
      if (input.done) fail(); // a trailing comma
    }
    return members;
  });
}

/** Parses a whole field value as an Item (RFC 9651 §4.2.3); `null` if it is not one. */
export function parseItem(text: string): Item | null {
  return parseField(text, parseItemAt);
}

function parseField<T>(text: string, parse: (input: Input) => T): T | null {
  if (typeof text !== "string" || text.length > MAX_FIELD_LENGTH) return null;
  const input = new Input(text);
  try {
    input.skipSP();
    const value = parse(input);
    input.skipSP();
    return input.done ? value : null;
  } catch (error) {
    if (error instanceof Failure) return null;
    throw error;
  }
}

function parseInnerList(input: Input): InnerList {
  input.next(); // "("
  const items: Item[] = [];
  while (!input.done) {
    input.skipSP();
    if (input.peek() === ")") {
      input.next();
      return { kind: "inner-list", items, params: parseParameters(input) };
    }
    items.push(parseItemAt(input));
    const after = input.peek();
    if (after !== " " && after !== ")") fail();
  }
  return fail();
}

function parseItemAt(input: Input): Item {
  const value = parseBareItem(input);
  return { kind: "item", value, params: parseParameters(input) };
}

function parseParameters(input: Input): Map<string, BareItem> {
  const params = new Map<string, BareItem>();
  while (input.peek() === ";") {
    input.next();
    input.skipSP();
    const key = parseKey(input);
    let value: BareItem = { type: "boolean", value: true };
    if (input.peek() === "=") {
      input.next();
      value = parseBareItem(input);
    }
    params.set(key, value); // a repeated key keeps its first position and its last value
  }
  return params;
}

function parseKey(input: Input): string {
  if (!LCALPHA_OR_STAR.test(input.peek())) fail();
  let key = "";
  while (!input.done && KEY_CHAR.test(input.peek())) key += input.next();
  return key;
}

function parseBareItem(input: Input): BareItem {
  const ch = input.peek();
  if (ch === "-" || DIGIT.test(ch)) return parseNumber(input);
  if (ch === '"') return { type: "string", value: parseString(input) };
  if (ch === "*" || ALPHA.test(ch)) return { type: "token", value: parseToken(input) };
  if (ch === ":") return { type: "bytes", value: parseBytes(input) };
  if (ch === "?") return { type: "boolean", value: parseBoolean(input) };
  if (ch === "@") {
    input.next();
    const date = parseNumber(input);
    if (date.type !== "integer") fail();
    return { type: "date", value: date.value };
  }
  if (ch === "%") return { type: "displaystring", value: parseDisplayString(input) };
  return fail();
}

function parseNumber(input: Input): { type: "integer" | "decimal"; value: number } {
  let sign = 1;
  if (input.peek() === "-") {
    input.next();
    sign = -1;
  }
  if (!DIGIT.test(input.peek())) fail();
  let digits = "";
  let decimal = false;
  while (!input.done) {
    const ch = input.peek();
    if (DIGIT.test(ch)) {
      digits += input.next();
    } else if (ch === "." && !decimal) {
      if (digits.length > 12) fail();
      decimal = true;
      digits += input.next();
    } else {
      break;
    }
    if (!decimal && digits.length > 15) fail();
    if (decimal && digits.length > 16) fail();
  }
  if (!decimal) return { type: "integer", value: sign * Number(digits) };
  const fraction = digits.length - digits.indexOf(".") - 1;
  if (fraction < 1 || fraction > 3) fail();
  return { type: "decimal", value: sign * Number(digits) };
}

function parseString(input: Input): string {
  input.next(); // opening DQUOTE
  let out = "";
  while (!input.done) {
    const ch = input.next();
    if (ch === "\\") {
      const escaped = input.next();
      if (escaped !== '"' && escaped !== "\\") fail();
      out += escaped;
    } else if (ch === '"') {
      return out;
    } else {
      const code = ch.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) fail();
      out += ch;
    }
  }
  return fail();
}

function parseToken(input: Input): string {
  let out = input.next();
  while (!input.done && TOKEN_CHAR.test(input.peek())) out += input.next();
  return out;
}

function parseBytes(input: Input): Uint8Array {
  input.next(); // ":"
  let encoded = "";
  for (;;) {
    if (input.done) fail();
    const ch = input.next();
    if (ch === ":") break;
    if (!BASE64_CHAR.test(ch)) fail();
    encoded += ch;
  }
  return new Uint8Array(Buffer.from(encoded, "base64"));
}

function parseBoolean(input: Input): boolean {
  input.next(); // "?"
  const ch = input.next();
  if (ch === "1") return true;
  if (ch === "0") return false;
  return fail();
}

function parseDisplayString(input: Input): string {
  input.next(); // "%"
  if (input.next() !== '"') fail();
  const bytes: number[] = [];
  while (!input.done) {
    const ch = input.next();
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) fail();
    if (ch === "%") {
      const hex = input.next() + input.next();
      if (!LOWER_HEX.test(hex)) fail();
      bytes.push(Number.parseInt(hex, 16));
    } else if (ch === '"') {
      try {
        return new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array(bytes));
      } catch {
        return fail();
      }
    } else {
      bytes.push(code);
    }
  }
  return fail();
}

/** Whether `value` can be sent as an sf-string: printable ASCII only (RFC 9651 §3.3.3). */
export function isSfStringSafe(value: string): boolean {
  return typeof value === "string" && STRING_SAFE.test(value);
}

/** Serialises an sf-string; values come from configuration, so a bad one throws. */
export function serializeString(value: string): string {
  if (!isSfStringSafe(value)) {
    throw configError(`${JSON.stringify(value)} cannot be an HTTP structured-field string`);
  }
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/** Serialises an sf-token; values come from configuration, so a bad one throws. */
export function serializeToken(value: string): string {
  if (typeof value !== "string" || !TOKEN.test(value)) {
    throw configError(`${JSON.stringify(value)} cannot be an HTTP structured-field token`);
  }
  return value;
}
