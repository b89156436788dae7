import type { JsonObject } from "../stores/types.js";
import { readCredential } from "./credentials.js";
import type { Parts } from "./parts.js";
import type { PresentedCheck } from "./presented.js";
import type { AuthFailure, RequestLike } from "./types.js";

/**
 * `clearCookies`: every cookie of the strategy cleared, with the name, path and attributes it
 * was set with (the refresh cookie's own path included), so that no caller rebuilds them.
 */
export function clearCookies<Data extends JsonObject>({
  ix,
  refresher,
  cookieName,
}: Pick<Parts<Data>, "ix" | "refresher" | "cookieName">) {
  const { cookies } = ix.o;
  return (): Headers => {
    const headers = new Headers({ "cache-control": "no-store" });
    headers.append("set-cookie", cookies.clear(cookieName));
    headers.append("set-cookie", cookies.clear(cookies.names.csrf));
    if (refresher) {
      headers.append("set-cookie", cookies.clear(cookies.names.refresh));
      headers.append("set-cookie", cookies.clear(cookies.names.refreshBinding));
    }
    return headers;
  };
}

/** `logout`: ends the session a request proves it holds and clears every cookie. */
export function createSignOut<Data extends JsonObject>(
  { ix, jwt, refresher, cookieName }: Parts<Data>,
  { presented, endsByRequest }: PresentedCheck,
) {
  const { o, storeCall, revoked } = ix;
  const { store, clock } = o;
  const clearAll = clearCookies({ ix, refresher, cookieName });

  return async function logout(
    request: RequestLike,
  ): Promise<{ revoked: boolean; headers: Headers; failure: AuthFailure | null }> {
    const found = await presented(request, clock());
    // Sign-out rides cookies like any unsafe request, so the same CSRF rule applies; a
    // refused one changes nothing, the cookies included.
    // Without a session too: a cross-site page's POST carries no SameSite=Lax cookie, and an
    // answer clearing the cookies would still sign the user out (logout CSRF).
    const crossSite =
      !found &&
      readCredential(request, cookieName, o.transports).transport !== "header" &&
      !ix.csrf(request, "");
    if ((found && !endsByRequest(request, found)) || crossSite) {
      const refused = ix.failure("csrf", "cookie", []);
      refused.headers.set("cache-control", "no-store");
      return { revoked: false, headers: refused.headers, failure: refused.failure };
    }
    // Every cookie goes, whether or not a session was proven: none of them is worth keeping.
    const headers = clearAll();
    const gone = found ? await storeCall(() => store.delete(found.id, "logout")) : null;
    if (gone) {
      revoked(gone, "logout");
      return { revoked: true, headers, failure: null };
    }
    // No live session was proven: answered as any unauthenticated request (401), with the
    // cookies cleared all the same.
    const credential = readCredential(request, cookieName, o.transports);
    // A token past the bound of `presentedSessionId` answers `expired`: its own client then
    // refreshes and signs out with the new one.
    const reason = found
      ? "unknown_session"
      : !credential.ok
        ? credential.reason
        : jwt?.lapsedTooLong(request)
          ? "expired"
          : "invalid_token";
    const { failure } = ix.failure(reason, found?.transport ?? credential.transport, []);
    return { revoked: false, headers, failure };
  };
}
