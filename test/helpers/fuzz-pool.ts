import { createHmac, randomBytes } from "node:crypto";
import type { SessionManager } from "../../src/index.js";
import { encodeBase64url } from "../../src/tokens/base64url.js";
import { signJws } from "../../src/tokens/jws.js";
import { type ImportedKey, importKeySet, type JwkSet } from "../../src/tokens/keys.js";
import { hashSecret } from "../../src/tokens/opaque.js";
import type { Forgery, Strategy, TokenRef, TokenSource } from "./request-arbitrary.js";

interface Issued {
  strategy: Strategy;
  token: string;
  refresh: string | null;
  sessionId: string;
  csrf: string;
  /** The cookies its sign-in set, as a browser sends them back. */
  jar: string;
}
interface Person {
  id: string;
  username: string;
}
export interface PoolOptions {
  managers: Partial<Record<Strategy, SessionManager>>;
  attacker: Person;
  victim: Person;
  password: string;
  /** The server's signing keys, to sign tokens that must still be refused. */
  keys?: JwkSet;
}

const TRANSPORTS = ["cookie", "header"] as const;
const b64json = (value: unknown) => encodeBase64url(Buffer.from(JSON.stringify(value)));
const isJwt = (token: string) => token.split(".").length === 3;
const seconds = () => Math.floor(Date.now() / 1000);

/**
 * The tokens of one fuzz run: for every strategy and transport, a live session of the attacker
 * (re-issued before each run, after the previous ones were revoked, which become the "revoked"
 * tokens), and one session of a victim whose tokens the requests never carry.
 */
export class TokenPool implements TokenSource {
  readonly #o: PoolOptions;
  readonly #key: ImportedKey | null;
  #live = new Map<string, Issued>();
  #revoked = new Map<string, Issued>();
  readonly #victim = new Map<Strategy, Issued>();
  #anonCsrf = "";
  /** Tokens the pool signed itself this run with the server's key (forgeries to refuse). */
  keySigned = new Set<string>();
  readonly password: string;

  constructor(options: PoolOptions) {
    this.#o = options;
    this.password = options.password;
    this.#key = options.keys
      ? (importKeySet(options.keys, { requirePrivate: true })[0] ?? null)
      : null;
  }

  get strategies(): Strategy[] {
    return Object.keys(this.#o.managers) as Strategy[];
  }
  manager(strategy: Strategy): SessionManager {
    const m = this.#o.managers[strategy];
    if (!m) throw new Error(`no ${strategy} manager`);
    return m;
  }

  async #issue(strategy: Strategy, who: Person, transport: "cookie" | "header"): Promise<Issued> {
    const manager = this.manager(strategy);
    const { session, token, refreshToken, headers } = await manager.create({
      userId: who.id,
      transport,
    });
    const csrf = manager.csrfToken(session);
    const jar = [...headers.getSetCookie(), ...csrf.headers.getSetCookie()]
      .map((line) => line.split(";")[0] ?? "")
      .join("; ");
    return {
      strategy,
      token,
      refresh: refreshToken ?? null,
      sessionId: session.id,
      csrf: csrf.token,
      jar,
    };
  }

  /** Revokes the attacker's sessions (they become the revoked tokens) and issues new ones. */
  async reseed(): Promise<void> {
    if (this.#victim.size === 0) {
      for (const s of this.strategies)
        this.#victim.set(s, await this.#issue(s, this.#o.victim, "cookie"));
    }
    const live = new Map<string, Issued>();
    for (const s of this.strategies) {
      await this.manager(s).revokeUser(this.#o.attacker.id);
      for (const t of TRANSPORTS) live.set(`${s}/${t}`, await this.#issue(s, this.#o.attacker, t));
    }
    if (this.#live.size > 0) this.#revoked = this.#live;
    this.#live = live;
    // Kept across reseeds: a request rendered before this one may still carry such a token
    // (shrinking renders again), and the server honours it as long as its session lives.
    const first = this.strategies[0];
    this.#anonCsrf = first ? this.manager(first).csrfToken(null).token : "";
  }

  #entry(ref: TokenRef): Issued | undefined {
    return (ref.age === "live" ? this.#live : this.#revoked).get(
      `${ref.strategy}/${ref.transport}`,
    );
  }

  token(ref: TokenRef): string {
    if (ref.slot === "anon-csrf") return this.#anonCsrf;
    const e = this.#entry(ref);
    if (!e) return "";
    if (ref.slot === "jar") return e.jar;
    return ref.slot === "refresh" ? (e.refresh ?? e.token) : ref.slot === "csrf" ? e.csrf : e.token;
  }

  sessionId(owner: "attacker" | "victim", ref: TokenRef): string {
    return (
      (owner === "victim" ? this.#victim.get(ref.strategy) : this.#entry(ref))?.sessionId ?? ""
    );
  }

  username(who: "attacker" | "victim"): string {
    return this.#o[who].username;
  }

  /** Every token of the live, revoked and victim sessions. */
  tokens(): Set<string> {
    const all = [...this.#live.values(), ...this.#revoked.values(), ...this.#victim.values()];
    return new Set(all.flatMap((e) => (e.refresh ? [e.token, e.refresh] : [e.token])));
  }
  /** The SHA-256 of each of their opaque secrets, as the store keeps them. */
  secretHashes(): string[] {
    return [...this.tokens()]
      .filter((t) => !isJwt(t))
      .map((t) => hashSecret(t.slice(t.indexOf(".") + 1)));
  }

  /** The live sessions of this run, and the victim's (which no request may end). */
  liveSessions(): Issued[] {
    return [...this.#live.values()];
  }
  victimSessions(): Issued[] {
    return [...this.#victim.values()];
  }
  liveTokens(strategy: Strategy): Set<string> {
    return new Set(
      this.liveSessions()
        .filter((e) => e.strategy === strategy)
        .map((e) => e.token),
    );
  }
  /** `name=value` of each cookie a live session's sign-in set, the CSRF cookie aside. */
  liveCookies(strategy: Strategy): Set<string> {
    const csrf = `${this.manager(strategy).cookieNames.csrf}=`;
    return new Set(
      this.liveSessions()
        .filter((e) => e.strategy === strategy)
        .flatMap((e) => e.jar.split("; ").filter((pair) => pair !== "" && !pair.startsWith(csrf))),
    );
  }
  liveRefreshTokens(): Set<string> {
    return new Set(this.liveSessions().flatMap((e) => (e.refresh ? [e.refresh] : [])));
  }
  /**
   * The CSRF tokens bound to the sessions whose cookies the request carries (any cookie whose
   * value is one of their tokens): a token minted for another session, or for none, proves
   * nothing for these.
   */
  csrfBoundTo(cookieValues: string[]): Set<string> {
    const carried = new Set(cookieValues);
    // A token the test signed with the server's key names its session as well as the one
    // the server issued (a lapsed one still proves it for sign-out).
    const named = new Set<string>();
    for (const value of cookieValues) {
      if (!this.keySigned.has(value)) continue;
      try {
        const claims = JSON.parse(Buffer.from(value.split(".")[1] ?? "", "base64url").toString());
        if (typeof claims.sid === "string") named.add(claims.sid);
      } catch {
        // not a JWT: names nothing
      }
    }
    return new Set(
      this.liveSessions()
        .filter(
          (e) =>
            carried.has(e.token) ||
            (e.refresh !== null && carried.has(e.refresh)) ||
            named.has(e.sessionId),
        )
        .map((e) => e.csrf),
    );
  }
  get anonCsrf(): string {
    return this.#anonCsrf;
  }

  forge(forgery: Forgery, ref: TokenRef, other: TokenRef): string {
    const base = this.token({ ...ref, slot: "token" });
    const second = this.token(other);
    if (forgery === "opaque-victim" || forgery === "opaque-cross" || !isJwt(base)) {
      const id = forgery === "opaque-victim" ? this.sessionId("victim", ref) : base.split(".")[0];
      const secret =
        forgery === "opaque-cross"
          ? (second.split(".")[1] ?? "")
          : encodeBase64url(randomBytes(32));
      return `${id}.${secret}`;
    }
    const [head = "", body = "", signature = ""] = base.split(".");
    const header = JSON.parse(Buffer.from(head, "base64url").toString()) as Record<string, unknown>;
    const claims = JSON.parse(Buffer.from(body, "base64url").toString()) as Record<string, unknown>;
    const hmac = (secret: Buffer | string, h: Record<string, unknown>, c = body) => {
      const input = `${b64json(h)}.${c}`;
      return `${input}.${encodeBase64url(createHmac("sha256", secret).update(input).digest())}`;
    };
    const key = this.#key;
    const resign = (
      c: Record<string, unknown>,
      h: Record<string, unknown> = { typ: header.typ },
      k = key,
    ) => {
      if (!k) return hmac(randomBytes(32), { ...header, ...h }, b64json(c));
      const token = signJws(c, k, h);
      this.keySigned.add(token);
      return token;
    };
    const now = seconds();
    switch (forgery) {
      case "alg-none":
        return `${b64json({ alg: "none", typ: header.typ })}.${body}.`;
      case "random-key":
        return hmac(randomBytes(32), header);
      case "typ-swap":
        return resign(claims, { typ: header.typ === "at+jwt" ? "JWT" : "at+jwt" });
      case "aud-swap": {
        const aud = isJwt(second)
          ? JSON.parse(Buffer.from(second.split(".")[1] ?? "", "base64url").toString()).aud
          : null;
        return resign({
          ...claims,
          aud: aud === claims.aud || !aud ? "https://evil.example" : aud,
        });
      }
      case "expired":
        return resign({ ...claims, iat: now - 7200, exp: now - 3600 });
      case "revoked-sid": {
        const old = this.token({ ...ref, slot: "token", age: "revoked" });
        const oldClaims = isJwt(old)
          ? JSON.parse(Buffer.from(old.split(".")[1] ?? "", "base64url").toString())
          : claims;
        return resign({
          ...oldClaims,
          iat: now,
          exp: now + 300,
          jti: encodeBase64url(randomBytes(12)),
        });
      }
      case "forbidden-header":
        return resign(claims, {
          typ: header.typ,
          jku: "https://evil.example/jwks.json",
          crit: ["exp"],
        });
      case "kid-unknown":
        return key
          ? resign(claims, { typ: header.typ }, { ...key, kid: "evil" })
          : hmac(randomBytes(32), { ...header, kid: "evil" });
      case "hmac-public-key": {
        // Algorithm confusion: the public key's PEM as an HMAC secret.
        const pem = key?.publicKey?.export({ type: "spki", format: "pem" });
        return hmac(pem ? String(pem) : randomBytes(32), { ...header, alg: "HS256" });
      }
      case "splice":
        return isJwt(second)
          ? `${head}.${second.split(".")[1]}.${signature}`
          : `${head}.${body}.${second}`;
      case "payload-edit": {
        const victim = this.#victim.get(ref.strategy);
        return `${head}.${b64json({ ...claims, sub: this.#o.victim.id, sid: victim?.sessionId ?? claims.sid })}.${signature}`;
      }
    }
    return base;
  }
}
