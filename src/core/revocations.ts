import type { SessionStore } from "../stores/types.js";

/** Seconds the token verifiers accept past `exp` (clock skew); the revocation set covers them. */
export const VERIFIER_SKEW_S = 30;

/**
 * The in-memory revocation set of the `jwt` strategy: revoked session ids, each kept until the
 * last token it could have been issued stops verifying. Fed by the store's change feed, so
 * checking a token against it is a map lookup with no I/O.
 *
 * A revocation names the record's `expiresAt`; the manager never signs a token whose `exp`
 * is past it (a re-issue that finds the record gone signs nothing, and `access` may not exceed
 * `idle`), and the verifier accepts a token up to `VERIFIER_SKEW_S` past its `exp`: so each
 * entry lives until `expiresAt` plus that skew.
 */
/** Per store, from when its feed knows every revocation, on its first follower's clock. */
const epochs = new WeakMap<SessionStore, number>();

export class RevocationSet {
  readonly #until = new Map<string, number>();
  #unsubscribe: () => void = () => {};
  /** On the manager's clock: a token issued before may have been revoked unheard. */
  #knownSince = Number.NEGATIVE_INFINITY;

  follow(store: SessionStore, clock: () => number): void {
    const since = store.revocationsKnownSince?.();
    if (since !== undefined) {
      // The store answers on the wall clock; moved once onto the manager's (maybe injected)
      // clock, by the first manager that follows the store, so that a manager made later in
      // the same process, after an injected clock has jumped, draws the same line.
      let known = epochs.get(store);
      if (known === undefined) {
        known = clock() - (Date.now() - since);
        epochs.set(store, known);
      }
      this.#knownSince = known;
    }
    this.#unsubscribe = store.subscribe((change) =>
      this.add(change.id, change.expiresAt + VERIFIER_SKEW_S * 1000),
    );
  }

  add(sessionId: string, until: number): void {
    this.#until.set(sessionId, Math.max(until, this.#until.get(sessionId) ?? 0));
  }

  has(sessionId: string, now: number): boolean {
    const until = this.#until.get(sessionId);
    if (until === undefined) return false;
    if (until > now) return true;
    this.#until.delete(sessionId);
    return false;
  }

  /** Whether a token of this session with this `iat` (seconds) must be refused. */
  refuses(sessionId: string, iat: unknown, now: number): boolean {
    if (typeof iat !== "number" || Math.round(iat * 1000) < this.#knownSince) return true;
    return this.has(sessionId, now);
  }

  /**
   * The `iat` (seconds) of a token signed at `now`: whole seconds, except within the second
   * in which the feed's knowledge starts. There a whole second could not tell a token signed
   * before that moment (by a process whose revocations are lost) from one signed after, so
   * `iat` keeps the milliseconds (a NumericDate may hold a fraction, RFC 7519 section 2).
   */
  issuedAt(now: number): number {
    return now < Math.ceil(this.#knownSince / 1000) * 1000 ? now / 1000 : Math.floor(now / 1000);
  }

  get size(): number {
    return this.#until.size;
  }

  close(): void {
    this.#unsubscribe();
  }
}
