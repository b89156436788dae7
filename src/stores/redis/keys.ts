import { createHash, randomBytes } from "node:crypto";
import { encodeBase64url } from "../../tokens/base64url.js";

/**
 * Key names of the Redis store. Everything of one user shares a hash tag (one Cluster slot):
 * the first 3 bytes of SHA-256(userId), which are also the first 4 characters of every id
 * the store hands out, so that a lookup by id knows the slot without asking anyone. Short
 * keys are memory: `sk:{tag}rest-of-id` for a record and `sk:{tag}u:user` for a user's index
 * (an id never holds ':', so the two never meet). The scripts build record keys the same way.
 */
export function redisKeys(prefix: string) {
  const tagOfUser = (userId: string) =>
    encodeBase64url(createHash("sha256").update(userId).digest().subarray(0, 3));
  return {
    record: (id: string) => `${prefix}{${id.slice(0, 4)}}${id.slice(4)}`,
    index: (userId: string) => `${prefix}{${tagOfUser(userId)}}u:${userId}`,
    /** 3 bytes of the user's tag, then 13 random bytes (104 bits). */
    newSessionId: (userId: string) =>
      encodeBase64url(
        Buffer.concat([
          createHash("sha256").update(userId).digest().subarray(0, 3),
          randomBytes(13),
        ]),
      ),
  };
}
