import type { PublicJwk } from "../pop/thumbprint.js";
import { NO_KEY } from "./dpop.js";

/**
 * What a session is bound to, as the manager writes it into `StoredSession.binding`: the
 * thumbprint of a key the client holds (DPoP: RFC 9449, the key that signs each request's
 * proof; DBSC: the browser's key, with the public key itself, which signs its refreshes).
 * Once written, a store never changes it (`SessionStore.bind`).
 */
export type Binding =
  | { kind: "dpop"; jkt: string }
  | { kind: "dbsc"; jkt: string; jwk: PublicJwk }
  /** Text that no longer reads as a binding: bound to a key nobody holds, so always refused. */
  | { kind: "unreadable"; jkt: null };

export function writeBinding(binding: Exclude<Binding, { kind: "unreadable" }>): string {
  return JSON.stringify(binding);
}

const cache = new Map<string, Binding>();

/**
 * The binding of a record, or `null` when it has none. A binding that does not parse fails
 * closed: a session once bound must never fall back to working without its key.
 */
export function readBinding(text: string | null | undefined): Binding | null {
  if (text === null || text === undefined) return null;
  const hit = cache.get(text);
  if (hit) return hit;
  const binding = parse(text);
  // Bindings repeat across requests of one session: parse each text once (bounded).
  if (cache.size >= 1024) cache.clear();
  cache.set(text, binding);
  return binding;
}

function parse(text: string): Binding {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "unreadable", jkt: null };
  }
  if (typeof value !== "object" || value === null) return { kind: "unreadable", jkt: null };
  const { kind, jkt, jwk } = value as { kind?: unknown; jkt?: unknown; jwk?: unknown };
  if (typeof jkt !== "string" || jkt === "") return { kind: "unreadable", jkt: null };
  if (kind === "dpop") return { kind, jkt };
  if (kind === "dbsc" && typeof jwk === "object" && jwk !== null) {
    return { kind, jkt, jwk: jwk as PublicJwk };
  }
  return { kind: "unreadable", jkt: null };
}

/**
 * The DPoP thumbprint a record's binding holds, `null` when it holds none, and a thumbprint no
 * key has when the binding is unreadable (it fails closed).
 */
export function boundJkt(text: string | null | undefined): string | null {
  const binding = readBinding(text);
  if (binding === null || binding.kind === "dbsc") return null;
  return binding.kind === "dpop" ? binding.jkt : NO_KEY;
}

/** Whether a record's binding is DBSC's: its cookie is renewed by the device's proofs only. */
export function deviceBound(text: string | null | undefined): boolean {
  return readBinding(text)?.kind === "dbsc";
}
