import { type CookieAttributes, checkCookiePrefix } from "../cookies/serialize.js";
import { configError } from "../errors.js";
import { checkEndpoint, isSessionIdentifier } from "./headers.js";

/** A cookie the DBSC session keeps alive; `maxAge` plays no part in the browser's matching. */
export interface BoundCookie {
  name: string;
  attributes: CookieAttributes;
}

/** One scope rule; the browser reads the list from last to first, and the first match wins. */
export interface ScopeRule {
  type: "include" | "exclude";
  /** A host (`app.example`), `*.example.com`, or `*`. */
  domain: string;
  /** A path prefix, `/` for all. */
  path: string;
}

export interface DbscScopeOptions {
  /** The origin the session covers (`https://app.example`). Default: the endpoint's origin. */
  origin?: string;
  /** The whole site instead of one origin. Default `false`; refused by browsers on localhost. */
  includeSite?: boolean;
  rules?: readonly ScopeRule[];
}

export interface DbscInstructionsOptions {
  /** The refresh endpoint: a path, or a same-site https URL. */
  refreshUrl: string;
  /** The cookies bound to the key; at least one. Their attributes must be those of Set-Cookie. */
  cookies: readonly BoundCookie[];
  scope?: DbscScopeOptions;
  /**
   * Hosts outside the scope whose requests may trigger a refresh (`*.example.com`, `*`).
   * Default none: only requests from the session's own origin (or site) do.
   */
  allowedRefreshInitiators?: readonly string[];
}

export interface CookieCredential {
  type: "cookie";
  name: string;
  attributes: string;
}

/** The session instructions JSON answered by registration and refresh, keys as the draft has. */
export interface SessionInstructions {
  session_identifier: string;
  refresh_url: string;
  scope: { origin?: string; include_site: boolean; scope_specification: ScopeRule[] };
  credentials: CookieCredential[];
  allowed_refresh_initiators?: string[];
}

/** The answer that ends a session in the browser (it stops refreshing and forgets the key). */
export interface EndSessionInstructions {
  session_identifier: string;
  continue: false;
}

const HOST =
  /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;
const RULE_PATH = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*$/;
const LOCAL_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

function isHostPattern(value: unknown): value is string {
  if (typeof value !== "string") return false;
  if (value === "*") return true;
  return HOST.test(value.startsWith("*.") ? value.slice(2) : value);
}

/** The `attributes` string for a bound cookie, in the form a `Set-Cookie` line carries them. */
export function boundCookieAttributes(attributes: CookieAttributes): string {
  const parts: string[] = [];
  if (attributes.domain !== undefined) parts.push(`Domain=${attributes.domain}`);
  parts.push(`Path=${attributes.path ?? "/"}`);
  if (attributes.secure) parts.push("Secure");
  if (attributes.httpOnly) parts.push("HttpOnly");
  if (attributes.sameSite) {
    parts.push(`SameSite=${attributes.sameSite[0]?.toUpperCase()}${attributes.sameSite.slice(1)}`);
  }
  return parts.join("; ");
}

function checkCookie(cookie: BoundCookie): CookieCredential {
  const { name, attributes } = cookie;
  checkCookiePrefix(name, attributes);
  if (!attributes.secure) {
    throw configError(`dbsc cookie ${name}: a bound cookie must be Secure`);
  }
  if (attributes.partitioned) {
    throw configError(`dbsc cookie ${name}: browsers refuse Partitioned bound cookies`);
  }
  const lower = name.toLowerCase();
  if ((lower.startsWith("__http-") || lower.startsWith("__host-http-")) && !attributes.httpOnly) {
    throw configError(`dbsc cookie ${name}: the __Http- prefixes require HttpOnly`);
  }
  if (attributes.domain !== undefined && !HOST.test(attributes.domain.replace(/^\./, ""))) {
    throw configError(`dbsc cookie ${name}: Domain must be a host name`);
  }
  const path = attributes.path ?? "/";
  if (!RULE_PATH.test(path)) throw configError(`dbsc cookie ${name}: Path must begin with /`);
  return { type: "cookie", name, attributes: boundCookieAttributes(attributes) };
}

function checkOrigin(origin: string, includeSite: boolean): void {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    throw configError(`dbsc scope origin: ${JSON.stringify(origin)} is not an origin`);
  }
  // Chrome refuses an origin with any path, even "/": compare with the serialised origin.
  if (url.origin !== origin) {
    throw configError(`dbsc scope origin: expected ${JSON.stringify(url.origin)}, no path`);
  }
  const local = LOCAL_HOST.test(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && local)) {
    throw configError("dbsc scope origin: https required (http only on localhost)");
  }
  if (includeSite && (local || /^[\d.]+$/.test(url.hostname) || url.hostname.startsWith("["))) {
    throw configError("dbsc scope: includeSite needs a registrable domain, not localhost or an IP");
  }
}

/** Whether a host pattern covers `host` (draft §"Identify if a host matches a pattern"). */
function patternMatches(pattern: string, host: string): boolean {
  if (pattern === "*") return true;
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1));
  return host === pattern;
}

function checkRule(rule: ScopeRule, index: number, origin: URL | null, site: boolean): ScopeRule {
  if (rule.type !== "include" && rule.type !== "exclude") {
    throw configError(`dbsc scope rule ${index}: type must be "include" or "exclude"`);
  }
  if (!isHostPattern(rule.domain)) {
    throw configError(`dbsc scope rule ${index}: domain must be a host, *.host or *`);
  }
  if (typeof rule.path !== "string" || !RULE_PATH.test(rule.path)) {
    throw configError(`dbsc scope rule ${index}: path must begin with /`);
  }
  // Chrome ends the session when a rule reaches outside the scope (session_inclusion_rules.cc:
  // kScopeRuleOriginScopedHostPatternMismatch, kScopeRuleSiteScopedHostPatternMismatch).
  if (origin) {
    const host = origin.hostname;
    const base = rule.domain.startsWith("*.") ? rule.domain.slice(2) : rule.domain;
    const inside = site
      ? rule.domain === "*" ||
        base === host ||
        base.endsWith(`.${host}`) ||
        (rule.domain.startsWith("*.") && host.endsWith(`.${base}`))
      : patternMatches(rule.domain, host);
    if (!inside) {
      throw configError(`dbsc scope rule ${index}: ${rule.domain} is outside the scope ${host}`);
    }
  }
  // Chrome requires both domain and path in every rule, though the draft makes them optional.
  return { type: rule.type, domain: rule.domain, path: rule.path };
}

/**
 * Validates the options once (bad ones throw `CONFIG_INVALID`) and returns the builder of the
 * instructions for one session. The builder throws only for a session identifier outside
 * `[A-Za-z0-9._~-]{1,128}`, which the server chose.
 */
export function sessionInstructions(
  options: DbscInstructionsOptions,
): (sessionIdentifier: string) => SessionInstructions {
  checkEndpoint("refresh url", options.refreshUrl);
  if (!Array.isArray(options.cookies) || options.cookies.length === 0) {
    throw configError("dbsc cookies: at least one bound cookie is required");
  }
  const credentials: CookieCredential[] = options.cookies.map(checkCookie);
  if (new Set(credentials.map((c) => c.name)).size !== credentials.length) {
    throw configError("dbsc cookies: a cookie name is listed twice");
  }
  const includeSite = options.scope?.includeSite ?? false;
  const origin = options.scope?.origin;
  if (origin !== undefined) checkOrigin(origin, includeSite);
  const originUrl = origin === undefined ? null : new URL(origin);
  const rules = (options.scope?.rules ?? []).map((rule, i) =>
    checkRule(rule, i, originUrl, includeSite),
  );
  const initiators = options.allowedRefreshInitiators ?? [];
  for (const initiator of initiators) {
    if (!isHostPattern(initiator)) {
      throw configError(`dbsc allowedRefreshInitiators: ${JSON.stringify(initiator)} is no host`);
    }
  }
  const refreshUrl = options.refreshUrl;
  return (sessionIdentifier) => {
    if (!isSessionIdentifier(sessionIdentifier)) {
      throw configError("dbsc session identifier: 1 to 128 of A-Z a-z 0-9 . _ ~ - expected");
    }
    // Fresh objects on every call: the caller may serialise or amend them freely.
    const instructions: SessionInstructions = {
      session_identifier: sessionIdentifier,
      refresh_url: refreshUrl,
      scope: {
        ...(origin === undefined ? {} : { origin }),
        include_site: includeSite,
        scope_specification: rules.map((rule) => ({ ...rule })),
      },
      credentials: credentials.map((credential) => ({ ...credential })),
    };
    if (initiators.length > 0) instructions.allowed_refresh_initiators = [...initiators];
    return instructions;
  };
}

/** Instructions that end the browser's session `sessionIdentifier` (`continue: false`). */
export function endSessionInstructions(sessionIdentifier: string): EndSessionInstructions {
  if (!isSessionIdentifier(sessionIdentifier)) {
    throw configError("dbsc session identifier: 1 to 128 of A-Z a-z 0-9 . _ ~ - expected");
  }
  return { session_identifier: sessionIdentifier, continue: false };
}
