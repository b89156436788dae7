import { randomBytes } from "node:crypto";
import { configError } from "../errors.js";
import { parseItem, parseList, serializeString, serializeToken } from "./structured-fields.js";

// DBSC header names as Chrome sends and reads them since the second origin trial (the
// `Sec-Session-*` names before it are ignored by current Chrome and not supported here).
export const REGISTRATION_HEADER = "Secure-Session-Registration";
export const CHALLENGE_HEADER = "Secure-Session-Challenge";
export const RESPONSE_HEADER = "Secure-Session-Response";
export const SESSION_ID_HEADER = "Sec-Secure-Session-Id";
export const SKIPPED_HEADER = "Secure-Session-Skipped";

/** The signature algorithms a DBSC key may use (`none` from the draft is never offered). */
export type DbscAlgorithm = "ES256" | "RS256";
export const DBSC_ALGORITHMS: readonly DbscAlgorithm[] = ["ES256", "RS256"];

/** What the readers need of a request: a Fetch `Request` or anything with `headers.get`. */
export interface DbscRequestLike {
  headers: { get(name: string): string | null };
}

// Session identifiers and challenges are chosen by the server. Keeping them to URL-safe and
// header-safe characters means Chrome's raw `Sec-Secure-Session-Id` and the draft's sf-string
// form can never be confused, and no value needs escaping anywhere.
const SESSION_IDENTIFIER = /^[A-Za-z0-9._~-]{1,128}$/;
const CHALLENGE = /^[A-Za-z0-9._~+/=-]{1,256}$/;
// A compact JWS: three base64url parts, the signature non-empty (DBSC proofs are signed).
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
// A path-absolute reference, optionally with a query: never `//host` (another site) and never
// a backslash or an encoded slash, which URL parsers may turn into one.
const PATH = /^\/(?!\/)[A-Za-z0-9\-._~!$&'()*+,;=:@/%?]*$/;
const ENCODED_SEPARATOR = /%(2f|5c)/i;

/** Largest proof accepted from `Secure-Session-Response` (a JWS with an RSA-4096 `jwk`). */
export const MAX_PROOF_LENGTH = 8192;

export function isSessionIdentifier(value: unknown): value is string {
  return typeof value === "string" && SESSION_IDENTIFIER.test(value);
}

export function isChallenge(value: unknown): value is string {
  return typeof value === "string" && CHALLENGE.test(value);
}

/** A fresh challenge: 32 random bytes, base64url (256 bits, never guessed or repeated). */
export function generateChallenge(): string {
  return randomBytes(32).toString("base64url");
}

/**
 * Checks a registration or refresh endpoint given as a path (`/dbsc/refresh`) or an absolute
 * `https:` URL; anything else throws `CONFIG_INVALID`. Exported for the instructions builder.
 */
export function checkEndpoint(what: string, value: string): void {
  if (typeof value !== "string" || value.length === 0 || value.length > 2048) {
    throw configError(`dbsc ${what}: expected a path or an https URL`);
  }
  if (value.startsWith("/")) {
    if (!PATH.test(value) || ENCODED_SEPARATOR.test(value)) {
      throw configError(`dbsc ${what}: ${JSON.stringify(value)} is not a safe absolute path`);
    }
    return;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw configError(`dbsc ${what}: ${JSON.stringify(value)} is neither a path nor a URL`);
  }
  if (url.protocol !== "https:" || url.username || url.password || url.hash) {
    throw configError(`dbsc ${what}: a URL must be https, without credentials or fragment`);
  }
  if (url.href !== value && url.href !== `${value}/`) {
    throw configError(`dbsc ${what}: ${JSON.stringify(value)} is not in canonical form`);
  }
}

export interface RegistrationHeaderOptions {
  /** Where the browser posts its registration proof: a path, or a same-site https URL. */
  path: string;
  /** The one-time challenge the proof must carry as `jti`. */
  challenge: string;
  /** Optional value the browser copies into the proof (`authorization` claim). */
  authorization?: string;
  /** Algorithms offered, in order of preference. Default `ES256` then `RS256`. */
  algorithms?: readonly DbscAlgorithm[];
}

/**
 * The `Secure-Session-Registration` value that asks the browser to create a key pair and
 * register it, an RFC 9651 List of one Inner List of tokens with parameters:
 * `(ES256 RS256);path="/dbsc/register";challenge="..."`. Every input is chosen by the server,
 * so an unusable one (bad path, empty challenge, unknown algorithm) throws `CONFIG_INVALID`.
 */
export function registrationHeader(options: RegistrationHeaderOptions): string {
  const algorithms = options.algorithms ?? DBSC_ALGORITHMS;
  if (algorithms.length === 0 || algorithms.some((alg) => !DBSC_ALGORITHMS.includes(alg))) {
    throw configError(`dbsc algorithms: expected a non-empty list of ${DBSC_ALGORITHMS}`);
  }
  if (new Set(algorithms).size !== algorithms.length) {
    throw configError("dbsc algorithms: an algorithm is listed twice");
  }
  checkEndpoint("registration path", options.path);
  if (!isChallenge(options.challenge)) {
    throw configError("dbsc challenge: 1 to 256 base64 or base64url characters expected");
  }
  let value = `(${algorithms.map(serializeToken).join(" ")})`;
  value += `;path=${serializeString(options.path)}`;
  value += `;challenge=${serializeString(options.challenge)}`;
  if (options.authorization !== undefined) {
    if (options.authorization.length === 0 || options.authorization.length > 2048) {
      throw configError("dbsc authorization: 1 to 2048 printable ASCII characters expected");
    }
    value += `;authorization=${serializeString(options.authorization)}`;
  }
  return value;
}

/**
 * The `Secure-Session-Challenge` value, `"<challenge>";id="<session identifier>"`. Chrome
 * caches a challenge only for the session named by `id`, so the parameter is always sent.
 */
export function challengeHeader(challenge: string, sessionIdentifier: string): string {
  if (!isChallenge(challenge)) {
    throw configError("dbsc challenge: 1 to 256 base64 or base64url characters expected");
  }
  if (!isSessionIdentifier(sessionIdentifier)) {
    throw configError("dbsc session identifier: 1 to 128 of A-Z a-z 0-9 . _ ~ - expected");
  }
  return `${serializeString(challenge)};id=${serializeString(sessionIdentifier)}`;
}

/**
 * Reads one header that Chrome sends as a bare value but the draft defines as an sf-string
 * (parameters ignored). A value that begins with `"` is parsed as an sf-string; any other is
 * taken as it is. `null` when absent or malformed; never throws.
 */
function readStringHeader(request: DbscRequestLike, name: string): string | null {
  let raw: string | null;
  try {
    raw = request.headers.get(name);
  } catch {
    return null;
  }
  if (typeof raw !== "string") return null;
  const value = raw.trim();
  if (!value.startsWith('"')) return value;
  const item = parseItem(value);
  return item?.value.type === "string" ? item.value.value : null;
}

/** The session named by `Sec-Secure-Session-Id` on a refresh request, or `null`. */
export function readSessionIdentifier(request: DbscRequestLike): string | null {
  const value = readStringHeader(request, SESSION_ID_HEADER);
  return isSessionIdentifier(value) ? value : null;
}

/** The compact JWS from `Secure-Session-Response`, or `null` if absent or not one. */
export function readProof(request: DbscRequestLike): string | null {
  const value = readStringHeader(request, RESPONSE_HEADER);
  if (value === null || value.length > MAX_PROOF_LENGTH || !COMPACT_JWS.test(value)) return null;
  return value;
}

export type SkipReason = "unreachable" | "server_error" | "quota_exceeded";

export interface SkippedSession {
  /** Why the browser sent this request without refreshing; unknown tokens are dropped. */
  reason: SkipReason;
  /** The session it skipped, when the browser named one. */
  sessionIdentifier: string | null;
}

const SKIP_REASONS: readonly string[] = ["unreachable", "server_error", "quota_exceeded"];

/**
 * `Secure-Session-Skipped`: the sessions the browser chose not to refresh before this request
 * (the bound cookie is then missing on purpose). Empty when absent or malformed.
 */
export function readSkipped(request: DbscRequestLike): SkippedSession[] {
  let raw: string | null;
  try {
    raw = request.headers.get(SKIPPED_HEADER);
  } catch {
    return [];
  }
  const list = typeof raw === "string" ? parseList(raw) : null;
  const out: SkippedSession[] = [];
  for (const member of list ?? []) {
    if (member.kind !== "item" || member.value.type !== "token") continue;
    if (!SKIP_REASONS.includes(member.value.value)) continue;
    const id = member.params.get("session_identifier");
    out.push({
      reason: member.value.value as SkipReason,
      sessionIdentifier: id?.type === "string" && isSessionIdentifier(id.value) ? id.value : null,
    });
  }
  return out;
}
