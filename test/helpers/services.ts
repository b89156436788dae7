import { connect } from "node:net";

/**
 * Whether a TCP service answers on 127.0.0.1. On a developer's machine without it, the tests
 * that need it are skipped with one visible line saying so; under CI=true (where the service
 * is part of the machine) an unreachable service is a failure, never a skip.
 */
export async function serviceAvailable(
  name: string,
  port: number,
  host = "127.0.0.1",
): Promise<boolean> {
  const up = await new Promise<boolean>((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
  if (!up) {
    if (process.env.CI)
      throw new Error(`${name} is unreachable at ${host}:${port}, and CI requires it`);
    console.warn(`skipping ${name} tests: ${name} is unreachable at ${host}:${port}`);
  }
  return up;
}
