import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import * as jose from "jose";
import ts from "typescript";
import {
  applyNodeHeaders,
  authenticateNode,
  sendRefusal,
  sendSessionError,
  toRequestLike,
} from "../../src/adapters/node.js";
import { refusalFor } from "../../src/adapters/outcome.js";
import { createSessionManager, type Duration, type SessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";

// A small API with DPoP on, for sessionkit/client with `dpop` (test/client-dpop*.test.ts):
// one session manager per strategy behind node:http, the node adapter answering refusals as
// applications do, and the client's own sources served to a browser page. Also the tests'
// oracle (jose) for the proofs the client sends, and a thief's proofs.
export const STRATEGIES = ["id", "jwt", "hybrid"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface Exchange {
  method: string;
  path: string;
  status: number;
  authorization: string | null;
  dpop: string | null;
}

export interface DpopServer {
  url: string;
  managers: Record<Strategy, SessionManager>;
  /** Every request answered, in order. */
  log: Exchange[];
  close(): Promise<void>;
}

export interface DpopServerOptions {
  /** DPoP nonces (`dpop.nonce`). */
  nonce?: boolean;
  /** HTML served at `/`. */
  page?: string;
  /** Access token lifetime of `hybrid`, and the managers' clock: to expire tokens at will. */
  hybridAccess?: Duration;
  clock?: () => number;
}

/** `ath` as RFC 9449 §4.2 has it: base64url of the token's SHA-256. */
export const sha256 = (text: string) => createHash("sha256").update(text).digest("base64url");

/**
 * A proof checked by jose, the oracle (signature by the embedded key, `typ`, ES256): its
 * payload, header, and the thumbprint of its key. Rejects for a proof jose would not accept.
 */
export async function proofParts(proof: string | null | undefined) {
  const { payload, protectedHeader } = await jose.jwtVerify(proof ?? "", jose.EmbeddedJWK, {
    typ: "dpop+jwt",
    algorithms: ["ES256"],
  });
  const jkt = await jose.calculateJwkThumbprint(protectedHeader.jwk ?? {});
  return { payload, header: protectedHeader, jkt };
}

/** A sound proof from a key of the thief's own, for a token copied out of the client. */
export async function thiefProof(method: string, url: string, token?: string): Promise<string> {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256");
  const payload = { jti: crypto.randomUUID(), htm: method, htu: url, iat: Date.now() / 1000 };
  return new jose.SignJWT(token ? { ...payload, ath: sha256(token) } : payload)
    .setProtectedHeader({ alg: "ES256", typ: "dpop+jwt", jwk: await jose.exportJWK(publicKey) })
    .sign(privateKey);
}

const CLIENT_DIR = fileURLToPath(new URL("../../src/client/", import.meta.url));

/**
 * src/client as a browser loads it (`/client/index.js`): each file transpiled on its own,
 * so that the page runs the sources under test, not a `dist` someone else may be rebuilding.
 */
export function clientModules(): Map<string, string> {
  const modules = new Map<string, string>();
  for (const file of readdirSync(CLIENT_DIR).filter((f) => f.endsWith(".ts"))) {
    const source = readFileSync(CLIENT_DIR + file, "utf8");
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    });
    modules.set(`/client/${file.replace(/\.ts$/, ".js")}`, outputText);
  }
  return modules;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let text = "";
  for await (const chunk of req) text += chunk;
  try {
    const value: unknown = JSON.parse(text || "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Headers | null = null) {
  applyNodeHeaders(res, headers);
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("cache-control", "no-store");
  res.end(JSON.stringify(body));
}

export async function startDpopServer(options: DpopServerOptions = {}): Promise<DpopServer> {
  const managerFor = (strategy: Strategy) =>
    createSessionManager({
      strategy,
      store: memoryStore(),
      cleanup: false,
      dpop: options.nonce ? { nonce: true } : {},
      ...(options.clock ? { clock: options.clock } : {}),
      ...(strategy === "id"
        ? {}
        : {
            keys: generateKeySet("ES256"),
            issuer: "https://dpop.test",
            audience: "api",
            ...(strategy === "hybrid" && options.hybridAccess
              ? { lifetimes: { access: options.hybridAccess } }
              : {}),
          }),
    });
  const managers = {
    id: managerFor("id"),
    jwt: managerFor("jwt"),
    hybrid: managerFor("hybrid"),
  } satisfies Record<Strategy, SessionManager>;
  const modules = options.page ? clientModules() : new Map<string, string>();
  const log: Exchange[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const method = req.method ?? "GET";
    if (method === "GET" && path === "/" && options.page) {
      res.setHeader("content-type", "text/html; charset=utf-8");
      return res.end(options.page);
    }
    const module = modules.get(path);
    if (method === "GET" && module !== undefined) {
      res.setHeader("content-type", "text/javascript; charset=utf-8");
      return res.end(module);
    }
    const route = /^\/api\/(id|jwt|hybrid)\/(login|me|refresh|logout)$/.exec(path);
    const strategy = route?.[1] as Strategy | undefined;
    const action = route?.[2];
    const manager = strategy ? managers[strategy] : undefined;
    if (!manager) return json(res, 404, { code: "not_found" });
    try {
      if (method === "POST" && action === "login") {
        // The sign-in's DPoP proof (in the request) binds the new session to the client's key.
        const issued = await manager.create({
          userId: "alice",
          transport: "header",
          request: toRequestLike(req),
        });
        return json(
          res,
          200,
          { accessToken: issued.token, refreshToken: issued.refreshToken ?? null },
          issued.headers,
        );
      }
      if (method === "GET" && action === "me") {
        const session = await authenticateNode(manager, req, res);
        if (session) json(res, 200, { userId: session.userId, strategy });
        return;
      }
      if (method === "POST" && action === "refresh") {
        const { refreshToken } = await readJson(req);
        if (typeof refreshToken !== "string") return json(res, 400, { code: "no_refresh_token" });
        const result = await manager.refresh(toRequestLike(req), { refreshToken });
        if (!result.session) {
          applyNodeHeaders(res, result.headers);
          return sendRefusal(res, refusalFor(result.failure));
        }
        const { accessToken, refreshToken: next } = result;
        return json(res, 200, { accessToken, refreshToken: next }, result.headers);
      }
      if (method === "POST" && action === "logout") {
        const { revoked, headers } = await manager.logout(toRequestLike(req));
        return json(res, 200, { revoked }, headers);
      }
      return json(res, 404, { code: "not_found" });
    } catch (error) {
      if (!sendSessionError(res, error)) json(res, 500, { code: "error", detail: String(error) });
    }
  };

  const server = createServer((req, res) => {
    res.on("finish", () => {
      log.push({
        method: req.method ?? "GET",
        path: new URL(req.url ?? "/", "http://x").pathname,
        status: res.statusCode,
        authorization: req.headers.authorization ?? null,
        dpop: typeof req.headers.dpop === "string" ? req.headers.dpop : null,
      });
    });
    void handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    managers,
    log,
    close: async () => {
      for (const manager of Object.values(managers)) manager.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
