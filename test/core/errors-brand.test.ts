import { describe, expect, it } from "vitest";
import { isSessionError, SessionError } from "../../src/errors.js";

describe("SessionError across copies of the package", () => {
  it("is recognised when thrown by another copy (a bundler's second instance of sessionkit)", async () => {
    // The built module, loaded as a second copy beside the sources under test.
    const other = (await import(
      new URL("../../dist/errors.js", import.meta.url).href
    )) as typeof import("../../src/errors.js");
    expect(other.SessionError).not.toBe(SessionError);
    const error = new other.SessionError("STORE_UNAVAILABLE", "down");
    expect(error instanceof SessionError).toBe(true);
    expect(isSessionError(error, "STORE_UNAVAILABLE")).toBe(true);
    expect(new SessionError("CSRF_FAILED", "x") instanceof other.SessionError).toBe(true);
  });

  it("is not claimed by other errors, or by objects that only look alike", () => {
    expect(new Error("x") instanceof SessionError).toBe(false);
    expect({ name: "SessionError", code: "STORE_UNAVAILABLE" } instanceof SessionError).toBe(false);
    expect((null as unknown as object) instanceof SessionError).toBe(false);
    expect(Object.keys(new SessionError("CSRF_FAILED", "x"))).not.toContain("sessionkit");
  });
});
