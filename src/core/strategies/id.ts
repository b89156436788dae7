import type { SessionStore, StoredSession } from "../../stores/types.js";

/** Where records come from: possibly a cache (`get`), and the store itself (`fresh`). */
export interface RecordReader {
  get(id: string, now: number): Promise<StoredSession | null>;
  fresh(id: string, now: number): Promise<StoredSession | null>;
}

import {
  generateOpaqueToken,
  hashesEqual,
  hashSecret,
  parseOpaqueToken,
} from "../../tokens/opaque.js";
import { openSuccessor, sealSuccessor } from "../seal.js";
import type { FailureReason } from "../types.js";
import { isRetired, nextReplaced, previousHash } from "./retired.js";

export interface VerifiedToken {
  record: StoredSession;
  secret: string;
  /** True when the presented secret is the current one, false when honoured within the grace. */
  current: boolean;
  /** A token to hand back to the client: the successor after a renewal or a lost race. */
  replacement: string | null;
}

/**
 * Verifies an opaque `id.secret` token against the store: the session must exist and be live,
 * and the secret's SHA-256 must equal the stored hash (constant-time). A secret replaced by a
 * renewal is honoured only until its grace ends, and then only to hand over its successor;
 * after it, that secret or an older one the record remembers (`retired.ts`) is `reused`.
 */
export async function verifyOpaqueToken(
  reader: RecordReader,
  token: string,
  now: number,
): Promise<VerifiedToken | FailureReason> {
  const parsed = parseOpaqueToken(token);
  if (!parsed) return "malformed";
  const hash = hashSecret(parsed.secret);
  const cached = await reader.get(parsed.id, now);
  const first = cached ? check(cached, parsed.secret, hash, now) : "unknown_session";
  // A cached record may predate a renewal made elsewhere: only the store can say no.
  if (typeof first !== "string" || reader.get === reader.fresh) return first;
  const record = await reader.fresh(parsed.id, now);
  return record ? check(record, parsed.secret, hash, now) : "unknown_session";
}

function check(
  record: StoredSession,
  secret: string,
  hash: string,
  now: number,
): VerifiedToken | FailureReason {
  if (!record.secretHash) return "unknown_session";
  if (hashesEqual(hash, record.secretHash)) {
    return { record, secret, current: true, replacement: null };
  }
  const previous = previousHash(record.previousSecretHash);
  const graceOver = record.previousValidUntil === null || now >= record.previousValidUntil;
  const inGrace = previous !== null && !graceOver && hashesEqual(hash, previous);
  if (!inGrace) {
    // A replaced secret, presented after its grace: for a refresh token, that is reuse. An
    // older one that may still be inside its own grace (a client that lost two races in a
    // row) is refused, but not taken for reuse.
    const replaced = previous !== null && hashesEqual(hash, previous);
    const older = isRetired(hash, record.previousSecretHash, graceOver);
    return replaced || older ? "reused" : "bad_secret";
  }
  const successor = record.successor ? openSuccessor(secret, record.id, record.successor) : null;
  return {
    record,
    secret,
    current: false,
    replacement: successor ? `${record.id}.${successor}` : null,
  };
}

/**
 * What a renewal ended with. `rotated`: this call's swap won, and `record` is what the store
 * wrote. Otherwise `record` was read back from the store, or, when the presented secret is no
 * longer honoured there (`refused`), it is the caller's own, possibly stale, copy: never to be
 * served or cached.
 */
export type Renewal =
  | { record: StoredSession; token: string | null; rotated: boolean; refused: null }
  | { record: StoredSession; token: null; rotated: false; refused: FailureReason };

/**
 * Issues a new secret for the same session in one compare-and-swap. When another request won
 * the race, the winner's successor is read back and returned, so every concurrent request of
 * the same client ends up with the same new token. `keepRetired`: how many secrets older than
 * the one replaced the record goes on remembering, to recognise their reuse (0 for `id`,
 * whose old tokens are refused all the same, so its records stay as small as they were).
 */
export async function renewOpaqueToken(
  store: SessionStore,
  reader: RecordReader,
  verified: VerifiedToken,
  now: number,
  graceMs: number,
  expiresAt: number,
  keepRetired = 0,
): Promise<Renewal> {
  const { record, secret } = verified;
  const swap = { now, graceUntil: now + graceMs, expiresAt, keepRetired };
  const rotated = await swapSecret(store, record, hashSecret(secret), secret, swap);
  if (rotated) return { ...rotated, rotated: true, refused: null };
  // The swap lost: `verified` may come from a cache that predates a renewal made elsewhere,
  // so only the store's current record says whether this secret is still honoured.
  const fresh = { get: reader.fresh, fresh: reader.fresh };
  const again = await verifyOpaqueToken(fresh, `${record.id}.${secret}`, now);
  if (typeof again === "string") return { record, token: null, rotated: false, refused: again };
  return { record: again.record, token: again.replacement, rotated: false, refused: null };
}

/**
 * One compare-and-swap of a record's secret, expected to be the one hashed `current`: that
 * one becomes the replaced secret, honoured until `graceUntil`, and a new secret's successor
 * is sealed under `sealedFor`, which only a holder of that secret can open. `null` when the
 * swap lost (the record's secret is no longer `current`, or it is gone).
 */
export async function swapSecret(
  store: SessionStore,
  record: StoredSession,
  current: string,
  sealedFor: string,
  at: { now: number; graceUntil: number; expiresAt: number; keepRetired: number },
): Promise<{ record: StoredSession; token: string } | null> {
  const { now, keepRetired } = at;
  const next = generateOpaqueToken(record.id);
  const rotated = await store.rotate(record.id, {
    now,
    expectedSecretHash: current,
    previousSecretHash: nextReplaced(
      current,
      record.previousSecretHash,
      record.previousValidUntil,
      now,
      keepRetired,
    ),
    secretHash: next.secretHash,
    successor: sealSuccessor(sealedFor, record.id, next.secret),
    graceUntil: at.graceUntil,
    expiresAt: at.expiresAt,
  });
  return rotated ? { record: rotated, token: next.token } : null;
}
