export interface User {
  id: string;
  username: string;
  passwordHash: string;
  createdAt: number;
}

export interface UserStore {
  /** Returns `null` when the username is taken (case-insensitively). */
  create(username: string, passwordHash: string, now: number): Promise<User | null>;
  /** `null` for an unknown name, and for any text that is not a valid username. */
  byUsername(username: string): Promise<User | null>;
  byId(id: string): Promise<User | null>;
  close(): void;
}

/**
 * ASCII only: both user tables compare names without regard to ASCII case (SQLite NOCASE,
 * PostgreSQL lower()), and PostgreSQL's lower() would also fold non-ASCII look-alikes such as
 * "alİce" onto "alice". A name outside this pattern is never registered and never looked up.
 */
const USERNAME = /^[A-Za-z0-9_.-]{3,64}$/;

export const isUsername = (value: unknown): value is string =>
  typeof value === "string" && USERNAME.test(value);

/**
 * The key of a sign-in name for the failure counter: one per account however the name is
 * spelled. Registered names are ASCII, so case is the only variation the tables allow; other
 * spellings (accents, look-alikes) are refused, yet still count against the account they
 * imitate, so that trying them gains nothing.
 */
export function usernameKey(name: string): string {
  return name.normalize("NFKD").replace(/\p{M}/gu, "").toLowerCase();
}
