// The examples' one user, alice / wonderland, with a scrypt hash (node:crypto) compared in
// constant time. A real application has a user table instead.
import { randomBytes, scryptSync, timingSafeEqual } from "node:crypto";

const salt = randomBytes(16);
const hash = (password) => scryptSync(password, salt, 32, { N: 2 ** 14 });
const users = new Map([["alice", { id: "u-alice", hash: hash("wonderland") }]]);

/** The user id for these credentials, or null. */
export function checkPassword(username, password) {
  // Request bodies are untrusted JSON: anything but two strings is no credential.
  if (typeof username !== "string" || typeof password !== "string") return null;
  const user = users.get(username);
  const candidate = hash(password); // computed for unknown users too: no timing oracle
  return user && timingSafeEqual(user.hash, candidate) ? user.id : null;
}
