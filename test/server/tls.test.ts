import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SessionError } from "../../src/errors.js";
import { resolveServerConfig } from "../../src/server/config.js";
import { loadTls } from "../../src/server/tls.js";
import { CLI } from "../helpers/server.js";
import { tempDir } from "../helpers/tmp.js";

// HTTPS in the reference server: a throwaway CA and a localhost certificate made per run with
// the openssl binary, the real server process started with them, real TLS clients (node's
// https trusting only that CA, and Chromium). Without openssl or Chromium on a user's machine
// those parts are skipped with one line; under CI=true either missing is a failure (.ci/run
// installs both).
const CHROMIUM = "/usr/bin/chromium";
const hasOpenssl = spawnSync("openssl", ["version"]).status === 0;
const hasChromium = existsSync(CHROMIUM);
for (const [ok, what] of [
  [hasOpenssl, "openssl"],
  [hasChromium, CHROMIUM],
] as const) {
  if (ok) continue;
  if (process.env.CI) throw new Error(`${what} is missing, and CI requires the HTTPS tests`);
  console.warn(`skipping HTTPS tests that need ${what} (apt-get install openssl chromium)`);
}

const PASSWORD = "correct horse battery";

/** The README's commands: a local CA, and a certificate for localhost signed by it. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  openssl(
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30"],
    ...["-subj", "/CN=sessionkit local CA"],
    ...["-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign"],
    ...["-keyout", "ca.key", "-out", "ca.crt"],
  );
  openssl(
    ...["req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost"],
    ...["-keyout", "localhost.key", "-out", "localhost.csr"],
  );
  writeFileSync(
    join(dir, "localhost.ext"),
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nextendedKeyUsage=serverAuth\n",
  );
  openssl(
    ...["x509", "-req", "-in", "localhost.csr", "-CA", "ca.crt", "-CAkey", "ca.key"],
    ...["-CAcreateserial", "-days", "30", "-extfile", "localhost.ext", "-out", "localhost.crt"],
  );
  return {
    ca: readFileSync(join(dir, "ca.crt")),
    caKey: join(dir, "ca.key"),
    cert: join(dir, "localhost.crt"),
    key: join(dir, "localhost.key"),
  };
}

const serveArgs = (dir: string) => [
  CLI,
  ...["serve", "--port", "0", "--host", "127.0.0.1"],
  ...["--database", join(dir, "db.sqlite"), "--keys", join(dir, "keys.json")],
];
const serveEnv = { ...process.env, SESSIONKIT_SCRYPT_LOG2N: "10" };

/** The server as a real process, up once it prints its https start line. */
async function startHttpsServer(dir: string, tls: string[]) {
  const child: ChildProcess = spawn(process.execPath, [...serveArgs(dir), ...tls], {
    cwd: dir,
    env: serveEnv,
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
    child.stdout?.on("data", () => {
      const match = /listening on (\S+)/.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  const stop = () =>
    new Promise<number | null>((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      const kill = setTimeout(() => child.kill("SIGKILL"), 5000);
      child.once("exit", (code) => {
        clearTimeout(kill);
        resolve(code);
      });
      child.kill("SIGTERM");
    });
  return { url, output: () => output, stop };
}

/** What the assertions read of a JSON body. */
interface Body {
  user?: { username?: string };
  session?: { id?: string };
  code?: string;
  accessToken?: string;
}

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  // Bodies are read as the server's JSON may be: each assertion checks what it names.
  json: Body | null;
  peerName: string | string[] | undefined;
}

/** One user over node's https, trusting only `ca`: keeps the cookies, sends `origin`. */
function httpsClient(base: string, ca: Buffer | undefined, origin: string | null = base) {
  const jar = new Map<string, string>();
  const request = (method: string, path: string, body?: unknown, extra = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = { ...extra };
      if (origin !== null && headers.origin === undefined) headers.origin = origin;
      if (jar.size > 0) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
      const data = body === undefined ? undefined : JSON.stringify(body);
      if (data !== undefined) headers["content-type"] = "application/json";
      const req = httpsRequest(
        base + path,
        { method, headers, ...(ca ? { ca } : {}), agent: false },
        (res) => {
          const peerName = (res.socket as TLSSocket).getPeerCertificate().subject?.CN;
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            for (const line of res.headers["set-cookie"] ?? []) {
              const [pair = ""] = line.split(";");
              const eq = pair.indexOf("=");
              const value = pair.slice(eq + 1);
              if (value === "" || /Max-Age=0/.test(line)) jar.delete(pair.slice(0, eq));
              else jar.set(pair.slice(0, eq), value);
            }
            const text = Buffer.concat(chunks).toString();
            let json: Body | null = null;
            try {
              json = text ? (JSON.parse(text) as Body) : null;
            } catch {
              json = null; // not JSON: an assertion on it fails on the missing member
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, json, peerName });
          });
        },
      );
      req.on("error", reject);
      req.end(data);
    });
  return { jar, request };
}

/** Starts the binary and waits for it to stop: the result of a start that must be refused. */
function refusedStart(dir: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...serveArgs(dir), ...args], {
    cwd: dir,
    env: { ...serveEnv, ...env },
    encoding: "utf8",
    timeout: 15_000,
  });
  return { status: r.status, stderr: r.stderr.trim(), stdout: r.stdout };
}

describe("--tls-cert and --tls-key: both or neither", () => {
  const config = (flags: Record<string, string>, env: Record<string, string> = {}) =>
    resolveServerConfig(flags, env).tls;

  it("is plain http with neither, or with both variables empty", () => {
    expect(config({})).toBeNull();
    expect(config({}, { SESSIONKIT_TLS_CERT: "", SESSIONKIT_TLS_KEY: " " })).toBeNull();
  });

  it("takes the pair from flags, variables, or one of each (the flag winning)", () => {
    const pair = { certPath: "c.pem", keyPath: "k.pem" };
    expect(config({ "tls-cert": "c.pem", "tls-key": "k.pem" })).toEqual(pair);
    expect(config({}, { SESSIONKIT_TLS_CERT: "c.pem", SESSIONKIT_TLS_KEY: "k.pem" })).toEqual(pair);
    expect(
      config(
        { "tls-cert": "c.pem" },
        { SESSIONKIT_TLS_CERT: "x.pem", SESSIONKIT_TLS_KEY: "k.pem" },
      ),
    ).toEqual(pair);
  });

  it("refuses one without the other, naming the missing flag and variable", () => {
    expect(() => config({ "tls-cert": "c.pem" })).toThrow(SessionError);
    expect(() => config({ "tls-cert": "c.pem" })).toThrow(
      "--tls-cert (SESSIONKIT_TLS_CERT) needs --tls-key (SESSIONKIT_TLS_KEY) too: both for https, neither for http",
    );
    expect(() => config({}, { SESSIONKIT_TLS_KEY: "k.pem" })).toThrow(
      "--tls-key (SESSIONKIT_TLS_KEY) needs --tls-cert (SESSIONKIT_TLS_CERT) too",
    );
  });

  const dir = tempDir();
  it("stops the real binary at start with exit 2 and that one line, creating nothing", () => {
    const r = refusedStart(dir, ["--tls-cert", "whatever.pem"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(
      "sessionkit: --tls-cert (SESSIONKIT_TLS_CERT) needs --tls-key (SESSIONKIT_TLS_KEY) too: both for https, neither for http",
    );
    const env = refusedStart(dir, [], { SESSIONKIT_TLS_KEY: "whatever.key" });
    expect(env.status).toBe(2);
    expect(env.stderr.split("\n")).toHaveLength(1);
    expect(env.stderr).toContain("--tls-key (SESSIONKIT_TLS_KEY) needs --tls-cert");
    expect(existsSync(join(dir, "keys.json"))).toBe(false);
  });
});

describe.skipIf(!hasOpenssl)("the reference server over HTTPS (real process)", () => {
  const dir = tempDir();
  const bad = tempDir();
  let certs: ReturnType<typeof makeCertificates>;
  let server: Awaited<ReturnType<typeof startHttpsServer>>;
  let base: string;
  let n = 0;

  beforeAll(async () => {
    certs = makeCertificates(dir);
    server = await startHttpsServer(dir, ["--tls-cert", certs.cert, "--tls-key", certs.key]);
    base = server.url;
  });
  afterAll(async () => {
    expect(await server?.stop()).toBe(0);
  });

  const signedIn = async () => {
    const username = `tls${++n}${Date.now() % 100000}`;
    const c = httpsClient(base, certs.ca);
    expect((await c.request("POST", "/api/users", { username, password: PASSWORD })).status).toBe(
      201,
    );
    const login = await c.request("POST", "/api/id/login", { username, password: PASSWORD });
    expect(login.status).toBe(200);
    return { c, username, login };
  };

  it("says https:// in its start line and serves the given certificate, which only the CA's trust accepts", async () => {
    expect(base).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.output()).toContain(`sessionkit listening on ${base} (`);
    expect(server.output()).not.toMatch(/warning: the certificate/);
    const health = await httpsClient(base, certs.ca).request("GET", "/healthz");
    expect(health.status).toBe(200);
    expect(health.peerName).toBe("localhost");
    // No HSTS: it would pin localhost to https for every port, npm start's http included.
    expect(health.headers["strict-transport-security"]).toBeUndefined();
    await expect(httpsClient(base, undefined).request("GET", "/healthz")).rejects.toMatchObject({
      code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    });
  });

  it("signs up, signs in with a Secure __Host- cookie, and /me answers that session", async () => {
    const { c, username, login } = await signedIn();
    const cookie = (login.headers["set-cookie"] ?? []).find((l) => l.startsWith("__Host-sid="));
    expect(cookie).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    const me = await c.request("GET", "/api/id/me");
    expect(me.status).toBe(200);
    expect(me.json?.user?.username).toBe(username);
    expect(me.json?.session?.id).toBe(login.json?.session?.id);
  });

  it("allows its own https origin under each loopback name, and refuses a cross-origin POST and its http:// twin", async () => {
    const { c, username } = await signedIn();
    const port = new URL(base).port;
    for (const origin of [`https://localhost:${port}`, `https://[::1]:${port}`]) {
      const other = httpsClient(base, certs.ca, origin);
      const r = await other.request("POST", "/api/id/login", { username, password: PASSWORD });
      expect(r.status, origin).toBe(200);
    }
    for (const origin of ["https://evil.example", `http://127.0.0.1:${port}`]) {
      const attacker = httpsClient(base, certs.ca, origin);
      const signIn = await attacker.request("POST", "/api/id/login", {
        username,
        password: PASSWORD,
      });
      expect(signIn.status, origin).toBe(403);
      expect(signIn.json?.code).toBe("csrf_failed");
      const logout = await c.request("POST", "/api/id/logout", undefined, { origin });
      expect(logout.status, origin).toBe(403);
    }
    // The refused sign-outs changed nothing.
    expect((await c.request("GET", "/api/id/me")).status).toBe(200);
    expect((await c.request("POST", "/api/id/logout")).status).toBe(204);
    expect((await c.request("GET", "/api/id/me")).status).toBe(401);
  });

  it("issues jwt tokens under its https origin", async () => {
    const { c, username } = await signedIn();
    const r = await c.request("POST", "/api/jwt/login", {
      username,
      password: PASSWORD,
      transport: "header",
    });
    expect(r.status).toBe(200);
    const payload = JSON.parse(
      Buffer.from(String(r.json?.accessToken).split(".")[1] ?? "", "base64url").toString(),
    );
    expect(payload.iss).toBe(`https://localhost:${new URL(base).port}`);
    const me = await c.request("GET", "/api/jwt/me", undefined, {
      authorization: `Bearer ${r.json?.accessToken}`,
    });
    expect(me.status).toBe(200);
  });

  it("refuses at start, with exit 2 and one line naming the file, a pair that cannot serve", () => {
    const garbage = join(bad, "garbage.pem");
    writeFileSync(garbage, "not a certificate\n");
    const encrypted = join(bad, "encrypted.key");
    writeFileSync(
      encrypted,
      execFileSync("openssl", ["pkey", "-in", certs.key, "-aes256", "-passout", "pass:secret"]),
    );
    const cases: Array<[string[], string]> = [
      [
        ["--tls-cert", certs.cert, "--tls-key", certs.caKey],
        `sessionkit: --tls-key: ${certs.caKey} is not the private key of the certificate in ${certs.cert}`,
      ],
      [
        ["--tls-cert", certs.key, "--tls-key", certs.cert],
        `sessionkit: --tls-cert: ${certs.key} is not a PEM certificate (it holds a private key: are --tls-cert and --tls-key swapped?)`,
      ],
      [
        ["--tls-cert", join(bad, "missing.crt"), "--tls-key", certs.key],
        `sessionkit: --tls-cert: cannot read ${join(bad, "missing.crt")} (ENOENT)`,
      ],
      [
        ["--tls-cert", certs.cert, "--tls-key", garbage],
        `sessionkit: --tls-key: ${garbage} is not a PEM private key`,
      ],
      [
        ["--tls-cert", certs.cert, "--tls-key", encrypted],
        `sessionkit: --tls-key: ${encrypted} is encrypted, and the server has no way to ask for its passphrase: give it an unencrypted key (openssl pkey -in ENCRYPTED -out KEY)`,
      ],
    ];
    for (const [args, message] of cases) {
      const r = refusedStart(bad, args);
      expect(r.stderr, args.join(" ")).toBe(message);
      expect(r.status, args.join(" ")).toBe(2);
    }
    // Refused before the key file or the database was created.
    expect(existsSync(join(bad, "keys.json"))).toBe(false);
    expect(existsSync(join(bad, "db.sqlite"))).toBe(false);
  });

  it("starts with a certificate browsers will refuse, saying why: another name, expired, not yet valid", () => {
    const files = { certPath: certs.cert, keyPath: certs.key };
    expect(loadTls(files, "localhost").warnings).toEqual([]);
    expect(loadTls(files, "::1").warnings).toEqual([]);
    expect(loadTls(files, "0.0.0.0").warnings).toEqual([]);
    expect(loadTls(files, "app.example").warnings).toEqual([
      `warning: the certificate in ${certs.cert} is not for app.example; browsers will refuse https://app.example`,
    ]);
    const day = 86_400_000;
    expect(loadTls(files, "localhost", Date.now() + 31 * day).warnings).toEqual([
      expect.stringMatching(/^warning: the certificate in .* expired on \w{3} .* GMT$/),
    ]);
    expect(loadTls(files, "localhost", Date.now() - day).warnings).toEqual([
      expect.stringMatching(/^warning: the certificate in .* is valid only from \w{3} .* GMT$/),
    ]);
  });

  describe.skipIf(!hasChromium)("in Chromium", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("registers and signs in through the page over https, with the Secure session cookie", async () => {
      // The test CA is not in this browser's trust store; the certificate itself was checked
      // by the node client above.
      const context = await browser.newContext({ ignoreHTTPSErrors: true });
      const page = await context.newPage();
      await page.goto(base);
      expect(new URL(page.url()).protocol).toBe("https:");
      const username = `tlsbrowser${Date.now() % 100000}`;
      await page.fill("#register-username", username);
      await page.fill("#register-password", PASSWORD);
      await Promise.all([page.waitForEvent("load"), page.click("#register-form button")]);
      await page.waitForSelector("#me");
      await page.click("#logout");
      await page.waitForSelector("#login-form");
      await page.fill("#login-username", username);
      await page.fill("#login-password", PASSWORD);
      await page.selectOption("#login-strategy", "id");
      await Promise.all([page.waitForEvent("load"), page.click("#login-form button[type=submit]")]);
      await page.waitForSelector("#me");
      expect(await page.textContent("#me")).toContain(username);
      const status = await page.evaluate(
        async () => (await fetch("/api/id/me", { credentials: "same-origin" })).status,
      );
      expect(status).toBe(200);
      const sid = (await context.cookies()).find((c) => c.name === "__Host-sid");
      expect(sid).toMatchObject({ secure: true, httpOnly: true, sameSite: "Lax" });
      await context.close();
    });
  });
});
