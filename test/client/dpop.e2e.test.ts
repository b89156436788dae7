import * as jose from "jose";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";
import {
  type DpopServer,
  proofParts,
  STRATEGIES,
  type Strategy,
  sha256,
  startDpopServer,
  thiefProof,
} from "./dpop-server.js";

// sessionkit/client with `dpop: true` in a real browser (Debian's Chromium, playwright-core):
// the key pair made by WebCrypto and kept in IndexedDB, proofs on every request, a reload and
// a second tab signing with the same key, and a token copied out of localStorage refused from
// Node, while the page goes on working. The page runs src/client as it is, transpiled.
const available = chromiumAvailable();

// The page's side: one client per strategy, tokens in localStorage, the key in IndexedDB.
const PAGE = `<!doctype html><meta charset="utf-8"><title>DPoP</title>
<script type="module">
import { createSessionClient, localStorageTokens } from "/client/index.js";
const clients = {};
const client = (s) => (clients[s] ??= createSessionClient({
  strategy: s,
  tokens: localStorageTokens(s + "."),
  dpop: true,
  channel: "lab-" + s,
  refreshPath: "/api/" + s + "/refresh",
  accessLifetimeMs: 60 * 60 * 1000,
}));
async function signIn(s) {
  const response = await client(s).fetch("/api/" + s + "/login", { method: "POST" });
  if (response.ok) client(s).signedIn(await response.json());
  return response.status;
}
const me = async (s) => (await client(s).fetch("/api/" + s + "/me")).status;
/** What IndexedDB holds for a strategy's client, and whether its private key exports. */
function storedKey(s) {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open("lab-" + s + "-dpop");
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const db = open.result;
      if (!db.objectStoreNames.contains("keys")) { db.close(); resolve(null); return; }
      const read = db.transaction("keys").objectStore("keys").get("dpop");
      read.onsuccess = async () => {
        db.close();
        const pair = read.result;
        if (!pair) { resolve(null); return; }
        let exported = "exported";
        try { await crypto.subtle.exportKey("jwk", pair.privateKey); } catch (e) { exported = e.name; }
        resolve({
          extractable: pair.privateKey.extractable,
          algorithm: pair.privateKey.algorithm,
          usages: pair.privateKey.usages,
          exported,
        });
      };
    };
  });
}
globalThis.lab = {
  signIn,
  me,
  storedKey,
  refresh: (s) => client(s).refresh(),
  signOut: (s) => client(s).signOut("/api/" + s + "/logout"),
  token: (s, kind) => localStorage.getItem(s + "." + kind),
};
</script>`;

interface StoredKey {
  extractable: boolean;
  algorithm: { name: string; namedCurve?: string };
  usages: string[];
  exported: string;
}
/** What the test calls on the page (this file has no DOM types). */
interface Lab {
  signIn(s: Strategy): Promise<number>;
  me(s: Strategy): Promise<number>;
  storedKey(s: Strategy): Promise<StoredKey | null>;
  refresh(s: Strategy): Promise<boolean>;
  signOut(s: Strategy): Promise<void>;
  token(s: Strategy, kind: "access" | "refresh"): string | null;
}

/** Calls `lab[name](...args)` in the page. */
function call<K extends keyof Lab>(
  page: Page,
  name: K,
  ...args: Parameters<Lab[K]>
): Promise<Awaited<ReturnType<Lab[K]>>> {
  return page.evaluate(
    ([n, a]) => {
      const lab = (globalThis as unknown as { lab: Record<string, (...x: unknown[]) => unknown> })
        .lab;
      return lab[n]?.(...a);
    },
    [name, args] as const,
  ) as Promise<Awaited<ReturnType<Lab[K]>>>;
}

describe.skipIf(!available)("sessionkit/client DPoP in Chromium", () => {
  let browser: Browser;
  let server: DpopServer;
  const contexts: BrowserContext[] = [];

  beforeAll(async () => {
    server = await startDpopServer({ page: PAGE });
    browser = await launchChromium();
  });
  afterAll(async () => {
    for (const c of contexts) await c.close();
    await browser?.close();
    await server?.close();
  });

  const open = async (context: BrowserContext): Promise<Page> => {
    const page = await context.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => "lab" in globalThis);
    return page;
  };
  const exchanges = (strategy: Strategy, action: string) =>
    server.log.filter((e) => e.path === `/api/${strategy}/${action}`);
  const lastProof = (strategy: Strategy, action: string) =>
    proofParts(exchanges(strategy, action).at(-1)?.dpop);

  it.each(STRATEGIES)(
    "%s: a bound session that survives reloads and tabs, and a stolen token that does not work elsewhere",
    async (strategy) => {
      const context = await browser.newContext();
      contexts.push(context);
      const page = await open(context);
      const me = `${server.url}/api/${strategy}/me`;

      expect(await call(page, "signIn", strategy)).toBe(200);
      const signIn = await lastProof(strategy, "login");
      // The public key's members only: never a private one in a header.
      expect(Object.keys(signIn.header.jwk ?? {}).sort()).toEqual(["crv", "kty", "x", "y"]);
      expect(signIn.payload).toMatchObject({
        htm: "POST",
        htu: `${server.url}/api/${strategy}/login`,
      });
      const token = (await call(page, "token", strategy, "access")) ?? "";
      if (strategy !== "id") {
        expect((jose.decodeJwt(token) as { cnf?: { jkt?: string } }).cnf?.jkt).toBe(signIn.jkt);
      }

      // Several calls, each with a fresh proof from the one key, covering the token.
      const jtis = new Set<unknown>();
      for (let i = 0; i < 3; i++) {
        expect(await call(page, "me", strategy)).toBe(200);
        const sent = exchanges(strategy, "me").at(-1);
        expect(sent?.authorization).toBe(`DPoP ${token}`);
        const proof = await proofParts(sent?.dpop);
        expect(proof.jkt).toBe(signIn.jkt);
        expect(proof.payload).toMatchObject({ htm: "GET", htu: me, ath: sha256(token) });
        jtis.add(proof.payload.jti);
      }
      expect(jtis.size).toBe(3);

      // The private key in IndexedDB is a WebCrypto key that can sign and never be read out.
      const stored = await call(page, "storedKey", strategy);
      expect(stored).toMatchObject({
        extractable: false,
        algorithm: { name: "ECDSA", namedCurve: "P-256" },
        usages: ["sign"],
        exported: "InvalidAccessError",
      });

      // A reload, then a second tab: both sign with the key kept in IndexedDB.
      await page.reload();
      await page.waitForFunction(() => "lab" in globalThis);
      expect(await call(page, "me", strategy)).toBe(200);
      expect((await lastProof(strategy, "me")).jkt).toBe(signIn.jkt);
      const tab = await open(context);
      expect(await call(tab, "me", strategy)).toBe(200);
      expect((await lastProof(strategy, "me")).jkt).toBe(signIn.jkt);

      // What an injected script can take: the tokens in localStorage. From another machine
      // (Node here) they are refused, as Bearer and with a proof from the thief's own key.
      const stolen = (await call(page, "token", strategy, "access")) ?? "";
      const asBearer = await fetch(me, { headers: { authorization: `Bearer ${stolen}` } });
      expect(asBearer.status).toBe(401);
      expect(asBearer.headers.get("www-authenticate")).toMatch(/^DPoP /);
      const withOtherKey = await fetch(me, {
        headers: { authorization: `DPoP ${stolen}`, dpop: await thiefProof("GET", me, stolen) },
      });
      expect(withOtherKey.status).toBe(401);
      expect(withOtherKey.headers.get("www-authenticate")).toContain('error="invalid_token"');
      // Nor can a proof the page sent be replayed with it.
      const replayed = await fetch(me, {
        headers: {
          authorization: `DPoP ${stolen}`,
          dpop: exchanges(strategy, "me").at(-1)?.dpop ?? "",
        },
      });
      expect(replayed.status).toBe(401);
      if (strategy === "hybrid") {
        const refreshUrl = `${server.url}/api/hybrid/refresh`;
        const refreshToken = await call(page, "token", strategy, "refresh");
        const stolenRefresh = await fetch(refreshUrl, {
          method: "POST",
          headers: {
            "content-type": "application/json",
            dpop: await thiefProof("POST", refreshUrl),
          },
          body: JSON.stringify({ refreshToken }),
        });
        expect(stolenRefresh.status).toBe(401);
      }
      expect(await call(page, "me", strategy)).toBe(200);

      if (strategy === "hybrid") {
        // The client's refresh (the reloaded page's first): a proof without ath, the refresh
        // token in the body, and a new access token bound to the same key. (Waiting for the
        // token to expire would take its 30 s of verifier skew.)
        const refreshesBefore = exchanges("hybrid", "refresh").filter(
          (e) => e.status === 200,
        ).length;
        expect(await call(page, "refresh", strategy)).toBe(true);
        const refreshes = exchanges("hybrid", "refresh").filter((e) => e.status === 200);
        expect(refreshes.length).toBe(refreshesBefore + 1);
        const refresh = await proofParts(refreshes.at(-1)?.dpop);
        expect(refresh.jkt).toBe(signIn.jkt);
        expect(refresh.payload).toMatchObject({
          htm: "POST",
          htu: `${server.url}/api/hybrid/refresh`,
        });
        expect(refresh.payload).not.toHaveProperty("ath");
        const renewed = (await call(page, "token", strategy, "access")) ?? "";
        expect(renewed).not.toBe(token);
        expect((jose.decodeJwt(renewed) as { cnf?: { jkt?: string } }).cnf?.jkt).toBe(signIn.jkt);
        expect(await call(page, "me", strategy)).toBe(200);
        expect(exchanges("hybrid", "me").at(-1)?.authorization).toBe(`DPoP ${renewed}`);
      }

      // Sign-out deletes the key: the next sign-in binds a new one.
      await call(page, "signOut", strategy);
      expect(await call(page, "storedKey", strategy)).toBeNull();
      expect(await call(page, "token", strategy, "access")).toBeNull();
      expect(await call(page, "signIn", strategy)).toBe(200);
      expect((await lastProof(strategy, "login")).jkt).not.toBe(signIn.jkt);
      expect(await call(page, "me", strategy)).toBe(200);
    },
  );
});
