// The part of mocha that express-session's suite uses, on vitest: `done` callbacks, `before`,
// and the shared `this` of a describe block (nested blocks see their parents' values).
import { beforeAll, describe as vDescribe, it as vIt } from "vitest";

type Done = (error?: unknown) => void;
type Body = (this: Record<string, unknown>, done: Done) => unknown;

let context: Record<string, unknown> = {};

/** Runs a mocha-style body: with a `done` parameter it finishes when `done` is called. */
function run(body: Body, ctx: Record<string, unknown>): Promise<unknown> | unknown {
  if (body.length === 0) return body.call(ctx, () => {});
  return new Promise((resolve, reject) => {
    body.call(ctx, (error?: unknown) => (error ? reject(error) : resolve(undefined)));
  });
}

export function describe(name: string, body: () => void): void {
  const parent = context;
  const ctx = Object.create(parent) as Record<string, unknown>;
  vDescribe(name, () => {
    context = ctx;
    try {
      body.call(ctx);
    } finally {
      context = parent;
    }
  });
}

export function it(name: string, body: Body): void {
  const ctx = context;
  vIt(name, () => run(body, ctx) as Promise<void>);
}

export function before(body: Body): void {
  const ctx = context;
  beforeAll(() => run(body, ctx) as Promise<void>);
}

/**
 * A test of express-session that does not apply to sessionkit, with the reason (it is listed
 * in docs/migrate-from-express-session.md). It is reported as skipped, with the reason in its
 * name.
 */
export function na(name: string, reason: string, _body?: Body): void {
  vIt.skip(`${name} [not applicable: ${reason}]`, () => {});
}

/**
 * A test where sessionkit behaves differently on purpose: `body` asserts what sessionkit does
 * instead, so the difference itself is tested.
 */
export function differs(name: string, reason: string, body: Body): void {
  it(`${name} [differs on purpose: ${reason}]`, body);
}

/** express-session's suite uses the `after` package: `done` after `count` calls. */
export function after(count: number, done: Done): Done {
  let left = count;
  let failed = false;
  return (error?: unknown) => {
    if (failed) return;
    if (error) {
      failed = true;
      return done(error);
    }
    if (--left === 0) done();
  };
}
