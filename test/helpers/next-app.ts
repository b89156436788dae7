import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

const APP = new URL("../../examples/next/", import.meta.url).pathname;
const NEXT = new URL("../../node_modules/next/dist/bin/next", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * examples/next built (`next build`, into a directory of its own) and served (`next start`) as
 * users run it, against sessionkit's dist (`npm test` builds it first). `env` is the app's own
 * (ORIGIN, SESSION_*). `stop` ends the server and removes the build.
 */
export async function startNextApp(name: string, env: (port: number) => Record<string, string>) {
  if (!existsSync(new URL("../../dist/adapters/next.js", import.meta.url))) {
    throw new Error("dist/ is missing: run `npm run build` (npm test does it first)");
  }
  const port = await freePort();
  const distDir = `.next-${name}-${process.pid}`;
  const fullEnv = {
    ...process.env,
    NODE_ENV: "production",
    NEXT_TELEMETRY_DISABLED: "1",
    NEXT_DIST_DIR: distDir,
    ...env(port),
  };
  await promisify(execFile)(process.execPath, [NEXT, "build"], {
    cwd: APP,
    env: fullEnv,
    maxBuffer: 16 * 1024 * 1024,
  });
  let output = "";
  const server: ChildProcess = spawn(
    process.execPath,
    [NEXT, "start", "-p", String(port), "-H", "127.0.0.1"],
    { cwd: APP, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] },
  );
  const collect = (d: Buffer) => {
    output += d.toString();
  };
  server.stdout?.on("data", collect);
  server.stderr?.on("data", collect);
  const stop = async () => {
    if (server.exitCode === null) {
      const exited = new Promise((resolve) => server.once("exit", resolve));
      server.kill("SIGTERM");
      const timer = setTimeout(() => server.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(join(APP, distDir), { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/about`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    if (i > 150 || server.exitCode !== null) {
      await stop();
      throw new Error(`next start failed:\n${output}`);
    }
    await sleep(200);
  }
  return { port, stop, output: () => output };
}
