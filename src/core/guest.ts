import { randomUUID } from "node:crypto";
import { SessionError } from "../errors.js";

/**
 * A guest session (nobody signed in: a cart, a preference) is owned in the store by a name of
 * its own, unique to it, so that it never joins a user's list, cap or revocation; the
 * application sees `userId: null`. Applications' user ids may not use the prefix.
 */
const GUEST_PREFIX = "sessionkit:guest:";

export const guestOwner = () => `${GUEST_PREFIX}${randomUUID()}`;

/** The user id the application sees for a stored owner: `null` for a guest. */
export const publicUserId = (owner: string): string | null =>
  owner.startsWith(GUEST_PREFIX) ? null : owner;

/** A user id given by the application: a non-empty string outside the guests' names. */
export function checkUserId(userId: unknown, where: string): string {
  if (typeof userId !== "string" || userId === "") {
    throw new SessionError("CONFIG_INVALID", `${where}: userId must be a non-empty string`);
  }
  if (userId.startsWith(GUEST_PREFIX)) {
    throw new SessionError(
      "CONFIG_INVALID",
      `${where}: user ids may not begin with ${GUEST_PREFIX}`,
    );
  }
  return userId;
}
