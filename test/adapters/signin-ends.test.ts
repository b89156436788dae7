import { describe, expect, it } from "vitest";
import { signInFrom } from "../../src/adapters/outcome.js";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";

// Sign-in ends the session the request carried only under sign-out's own rule: found by the
// adapters' request fuzzer, a sign-in whose only same-origin proof was the sign-in form's
// token (bound to no session) ended whatever session cookie rode along.
const ORIGIN = "https://app.example";

describe.each(["id", "jwt", "hybrid"] as const)("%s: what a sign-in ends", (strategy) => {
  const manager = createSessionManager({
    strategy,
    store: memoryStore(),
    cleanup: false,
    csrf: { origins: [ORIGIN] },
    ...(strategy === "id" ? {} : { keys: generateKeySet(), issuer: ORIGIN, audience: "app" }),
  });
  const carried = async () => {
    const old = await manager.create({ userId: "alice", transport: "cookie" });
    const cookie = old.headers
      .getSetCookie()
      .map((c) => c.split(";")[0])
      .join("; ");
    return { id: old.session.id, cookie };
  };
  const anonToken = manager.csrfToken(null).token;

  it("keeps the carried session when the only proof is the sign-in form's token", async () => {
    const old = await carried();
    const request = new Request(`${ORIGIN}/login`, {
      method: "POST",
      headers: { cookie: old.cookie, "x-csrf-token": anonToken },
    });
    await signInFrom(manager, request, { userId: "alice", transport: "cookie" });
    expect(await manager.get(old.id)).not.toBeNull();
  });

  it("ends the carried session on a same-origin sign-in", async () => {
    const old = await carried();
    const request = new Request(`${ORIGIN}/login`, {
      method: "POST",
      headers: { cookie: old.cookie, origin: ORIGIN },
    });
    await signInFrom(manager, request, { userId: "alice", transport: "cookie" });
    expect(await manager.get(old.id)).toBeNull();
  });
});
