import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CLI = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the built reference server as a real process on a free port (`--port 0`) and waits
 * for its "listening on" line. Low scrypt cost, set explicitly, keeps sign-ins fast.
 */
export function startServerProcess(
  dir: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<ServerProcess> {
  return startNodeProcess(
    [
      CLI,
      "serve",
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--database",
      join(dir, "db.sqlite"),
      "--keys",
      join(dir, "keys.json"),
      ...args,
    ],
    { cwd: dir, env: { SESSIONKIT_SCRYPT_LOG2N: "10", ...env } },
  );
}

/** Runs `node ...argv` and waits for a "listening on http://..." line in its output. */
export async function startNodeProcess(
  argv: string[],
  options: { cwd: string; env?: Record<string, string> },
): Promise<ServerProcess> {
  const child = spawn(process.execPath, argv, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    output += d.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output}`)), 15_000);
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout?.on("data", check);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return {
    url,
    child,
    output: () => output,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(child.exitCode);
        const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
        child.once("exit", (code) => {
          clearTimeout(kill);
          resolve(code);
        });
        child.kill("SIGTERM");
      }),
  };
}

/** A tiny HTTP client for one browser-like user: keeps the session cookie, sends Origin. */
export function client(base: string, origin: string | null = base) {
  const jar = new Map<string, string>();
  const request = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const h = new Headers(headers);
    if (origin !== null && !h.has("origin")) h.set("origin", origin);
    if (jar.size > 0 && !h.has("cookie"))
      h.set("cookie", [...jar].map(([k, v]) => `${k}=${v}`).join("; "));
    if (body !== undefined) h.set("content-type", "application/json");
    const response = await fetch(base + path, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: "manual",
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === "" || /Max-Age=0/.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    // Bodies are read as loose JSON: their shape is what each assertion checks.
    return { status: response.status, headers: response.headers, json: json as any, text };
  };
  return { jar, request };
}

/**
 * Repeats a request until it answers `expected` or `withinMs` runs out, and returns the last
 * status, for the caller to assert: used where a change must arrive (a revocation crossing
 * instances, a store coming back), with the bound being part of what is tested.
 */
export async function statusWithin(
  request: () => Promise<{ status: number }>,
  expected: number,
  withinMs: number,
  pauseMs = 10,
): Promise<number> {
  const deadline = Date.now() + withinMs;
  let status = (await request()).status;
  while (status !== expected && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    status = (await request()).status;
  }
  return status;
}
