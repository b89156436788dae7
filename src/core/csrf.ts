import { isSafeMethod, originAllowed } from "../csrf/origin.js";
import { verifyCsrfToken } from "../csrf/token.js";
import type { RequestLike } from "./types.js";

/**
 * The header a signed double-submit token travels in (`csrfToken`). sessionkit/client sends it
 * under this name too, spelled out there: the browser client imports no other part.
 */
const CSRF_TOKEN_HEADER = "x-csrf-token";

export interface CsrfSettings {
  /** Origins allowed besides the one each request was sent to (normalised). */
  origins: ReadonlySet<string>;
  /**
   * The key of the signed double-submit tokens, or `null` where no token is accepted: a
   * layer that never mints one must not honour one minted by a manager sharing its origins.
   */
  tokenKey: Buffer | null;
}

/** Whether a cookie-borne request may act; `sessionId` is what its token is bound to. */
export type CsrfCheck = (request: RequestLike, sessionId?: string) => boolean;

/**
 * The one CSRF rule, applied to every request that rides cookies (as hono has one csrf
 * middleware in front of every route): a safe method passes; so does a request the browser
 * says comes from an allowed origin (`originAllowed`); else, where tokens are accepted, only
 * with a valid token bound to `sessionId` (the empty one before sign-in: login CSRF).
 */
export function csrfCheck(settings: CsrfSettings): CsrfCheck {
  const { origins, tokenKey } = settings;
  return (request, sessionId = "") =>
    isSafeMethod(request.method) ||
    originAllowed(request, origins) ||
    (tokenKey !== null &&
      verifyCsrfToken(tokenKey, sessionId, request.headers.get(CSRF_TOKEN_HEADER)));
}
