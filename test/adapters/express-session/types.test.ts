import { RedisStore } from "connect-redis";
import { createClient } from "redis";
import { describe, expect, it } from "vitest";
import session, { type ExpressSessionStore } from "../../../src/adapters/express-session/index.js";

// The stores of the express-session ecosystem are typed against @types/express-session; they
// must be accepted as `store` without a cast (a migrating app's TypeScript compiles as is).
describe("express-session stores' types", () => {
  it("connect-redis's RedisStore is an ExpressSessionStore and a store option", () => {
    const client = createClient();
    const store: ExpressSessionStore = new RedisStore({ client });
    expect(typeof session({ store: new RedisStore({ client }) })).toBe("function");
    expect(typeof store.get).toBe("function");
  });
});
