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
 * renewal is honoured only until its grace ends, and then only to hand over its successor.
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
  const inGrace =
    record.previousSecretHash !== null &&
    record.previousValidUntil !== null &&
    now < record.previousValidUntil &&
    hashesEqual(hash, record.previousSecretHash);
  if (!inGrace) {
    // The replaced secret, presented after its grace: for a refresh token, that is reuse.
    const replaced =
      record.previousSecretHash !== null && hashesEqual(hash, record.previousSecretHash);
    return replaced ? "reused" : "bad_secret";
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
 * the same client ends up with the same new token.
 */
export async function renewOpaqueToken(
  store: SessionStore,
  reader: RecordReader,
  verified: VerifiedToken,
  now: number,
  graceMs: number,
  expiresAt: number,
): Promise<Renewal> {
  const { record, secret } = verified;
  const next = generateOpaqueToken(record.id);
  const rotated = await store.rotate(record.id, {
    now,
    expectedSecretHash: hashSecret(secret),
    secretHash: next.secretHash,
    successor: sealSuccessor(secret, record.id, next.secret),
    graceUntil: now + graceMs,
    expiresAt,
  });
  if (rotated) return { record: rotated, token: next.token, rotated: true, refused: null };
  // The swap lost: `verified` may come from a cache that predates a renewal made elsewhere,
  // so only the store's current record says whether this secret is still honoured.
  const fresh = { get: reader.fresh, fresh: reader.fresh };
  const again = await verifyOpaqueToken(fresh, `${record.id}.${secret}`, now);
  if (typeof again === "string") return { record, token: null, rotated: false, refused: again };
  return { record: again.record, token: again.replacement, rotated: false, refused: null };
}
