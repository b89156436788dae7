import type { User, UserStore } from "./users.js";

/**
 * Users found by id, kept in memory: the demo never changes or deletes a user once created,
 * so a found user stays true, and every `/me` would otherwise read the user table again.
 * Only users found are kept (an unknown id goes to the table each time), at most `max`, the
 * oldest first out.
 */
export function cachedUsers(store: UserStore, max = 10_000): UserStore {
  const found = new Map<string, User>();
  return {
    create: (username, passwordHash, now) => store.create(username, passwordHash, now),
    byUsername: (username) => store.byUsername(username),
    async byId(id) {
      const known = found.get(id);
      if (known) return known;
      const user = await store.byId(id);
      if (user) {
        if (found.size >= max) {
          const oldest = found.keys().next().value;
          if (oldest !== undefined) found.delete(oldest);
        }
        found.set(id, Object.freeze(user));
      }
      return user;
    },
    close: () => store.close(),
  };
}
