import type { JsonObject } from "../stores/types.js";
import type {
  AuthenticateOptions,
  AuthFailure,
  AuthResult,
  RequestLike,
  Session,
} from "./types.js";

/**
 * `authenticate` as the adapters call it: `headers` is `null` when there is nothing to set
 * (most requests), so that no `Headers` object is built and read back for nothing, and the
 * answer is synchronous when everything needed is in memory (a `jwt` or `hybrid` token seen
 * before). `manager.authenticate` is this with an empty `Headers` and a promise.
 */
export type RawAuthResult<Data extends JsonObject = JsonObject> =
  | { session: Session<Data>; failure: null; headers: Headers | null; renewedToken: string | null }
  | { session: null; failure: AuthFailure; headers: Headers | null; renewedToken: null };

export type RawAuthenticate<Data extends JsonObject> = (
  request: RequestLike,
  options?: AuthenticateOptions,
) => RawAuthResult<Data> | Promise<RawAuthResult<Data>>;

/** Where a manager keeps its raw `authenticate` (not enumerable, not part of the API). */
export const RAW_AUTHENTICATE = Symbol("sessionkit.rawAuthenticate");

/** The public shape of a raw answer. */
export function withHeaders<Data extends JsonObject>(
  result: RawAuthResult<Data>,
): AuthResult<Data> {
  return result.headers ? (result as AuthResult<Data>) : { ...result, headers: new Headers() };
}

/** A manager's raw `authenticate`, or its public one for a manager made some other way. */
export function rawAuthenticate<Data extends JsonObject>(
  manager: { authenticate(request: RequestLike): Promise<AuthResult<Data>> },
  request: RequestLike,
): RawAuthResult<Data> | Promise<RawAuthResult<Data>> {
  const raw = (manager as { [RAW_AUTHENTICATE]?: RawAuthenticate<Data> })[RAW_AUTHENTICATE];
  return raw ? raw(request) : manager.authenticate(request);
}
