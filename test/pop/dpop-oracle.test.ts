import * as DPoP from "dpop";
import { describe, expect, it } from "vitest";
import { createSessionManager } from "../../src/index.js";
import { memoryStore } from "../../src/stores/memory/index.js";
import { generateKeySet } from "../../src/tokens/keys.js";

// The `dpop` package (an independent RFC 9449 client implementation) as the oracle: proofs it
// makes are accepted for what they were made for, bind the session to its key (the thumbprint
// it computes is ours), and are refused for anything else.
const ORIGIN = "https://api.example";
// Every algorithm the dpop package signs with ("Ed25519" is RFC 9864's name for EdDSA with an
// Ed25519 key: this oracle found that we accepted only the older "EdDSA").
const ALGS = ["ES256", "Ed25519", "PS256", "RS256"] as const;

describe.each(["id", "jwt", "hybrid"] as const)(
  "DPoP proofs from the dpop package: %s",
  (strategy) => {
    it.each(ALGS)(
      "%s: sign-in binds, requests with its proofs pass, misdirected ones do not",
      async (alg) => {
        const manager = createSessionManager({
          strategy,
          store: memoryStore(),
          cleanup: false,
          dpop: { nonce: true },
          ...(strategy === "id" ? {} : { keys: generateKeySet(), issuer: ORIGIN, audience: "api" }),
        });
        const keypair = await DPoP.generateKeyPair(alg);
        const login = `${ORIGIN}/login`;
        const signIn = async (nonce?: string) =>
          manager.create({
            userId: "alice",
            transport: "header",
            request: new Request(login, {
              method: "POST",
              headers: { dpop: await DPoP.generateProof(keypair, login, "POST", nonce) },
            }),
          });
        const asked = await signIn().catch((e: { headers: Record<string, string> }) => e.headers);
        const nonce = (asked as Record<string, string>)["dpop-nonce"];
        expect(nonce).toBeTruthy();
        const issued = await signIn(nonce);
        expect(issued.session.deviceBound).toBe(true);
        if (strategy !== "id") {
          const claims = JSON.parse(
            Buffer.from(issued.token.split(".")[1] ?? "", "base64url").toString(),
          ) as { cnf: { jkt: string } };
          expect(claims.cnf.jkt).toBe(await DPoP.calculateThumbprint(keypair.publicKey));
        }
        const me = `${ORIGIN}/me`;
        const request = async (url: string, method: string) =>
          manager.authenticate(
            new Request(me, {
              method: "GET",
              headers: {
                authorization: `DPoP ${issued.token}`,
                dpop: await DPoP.generateProof(keypair, url, method, nonce, issued.token),
              },
            }),
          );
        expect((await request(me, "GET")).session?.userId).toBe("alice");
        expect((await request(`${ORIGIN}/other`, "GET")).failure?.reason).toBe("dpop_invalid");
        expect((await request(me, "POST")).failure?.reason).toBe("dpop_invalid");
        manager.close();
      },
    );
  },
);

describe("DPoP: an algorithm not configured", () => {
  it("answers a proof signed with an algorithm left out 401 with the ones accepted, never 5xx", async () => {
    const manager = createSessionManager({
      strategy: "id",
      store: memoryStore(),
      cleanup: false,
      dpop: { algorithms: ["ES256"] },
    });
    const keypair = await DPoP.generateKeyPair("Ed25519");
    const login = `${ORIGIN}/login`;
    const refused = await manager
      .create({
        userId: "alice",
        transport: "header",
        request: new Request(login, {
          method: "POST",
          headers: { dpop: await DPoP.generateProof(keypair, login, "POST") },
        }),
      })
      .catch((e: { code: string; headers: Record<string, string> }) => e);
    expect(refused).toMatchObject({ code: "DPOP_REFUSED" });
    expect((refused as { headers: Record<string, string> }).headers["www-authenticate"]).toMatch(
      /algs="ES256"/,
    );
    manager.close();
  });
});
