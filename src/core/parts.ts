import type { JsonObject } from "../stores/types.js";
import { createAuthenticator } from "./authenticate.js";
import { createDeviceBinding, type DeviceBinding } from "./device-bound.js";
import type { Internals } from "./internals.js";
import { createJwtSessions } from "./strategies/jwt-session.js";
import { createRefresher } from "./strategies/refresh.js";

/**
 * The pieces of a manager's strategy, built once: sign-in, sign-out and the endpoints each
 * ask them, rather than each deciding again which strategy is running.
 */
export interface Parts<Data extends JsonObject> {
  ix: Internals<Data>;
  /** The `id` strategy's authentication and token headers. */
  opaque: ReturnType<typeof createAuthenticator<Data>>;
  /** `jwt`'s one token, or `hybrid`'s access token; `null` for `id`. */
  jwt: ReturnType<typeof createJwtSessions<Data>> | null;
  /** `hybrid`'s refresh token; `null` otherwise. */
  refresher: ReturnType<typeof createRefresher<Data>> | null;
  /** DBSC, when `deviceBound` is configured. */
  device: DeviceBinding | null;
  /** The cookie that carries the token a request authenticates with. */
  cookieName: string;
}

export function createParts<Data extends JsonObject>(ix: Internals<Data>): Parts<Data> {
  const { o } = ix;
  const opaque = createAuthenticator(ix);
  const jwt = o.jwt ? createJwtSessions(ix, o.jwt) : null;
  const refresher = o.strategy === "hybrid" && jwt ? createRefresher(ix, jwt) : null;
  const device = o.deviceBound
    ? createDeviceBinding(
        ix,
        o.deviceBound,
        // hybrid: a registration proves its session by the access or binding cookie.
        refresher && jwt
          ? async (request) =>
              jwt.presentedSessionId(request)?.id ?? refresher.boundSessionId(request)
          : null,
      )
    : null;
  const cookieName = jwt ? jwt.cookieName : o.cookies.names.session;
  return { ix, opaque, jwt, refresher, device, cookieName };
}
