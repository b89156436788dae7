import { type DpopFailure, dpopChallenge, verifyDpopProof } from "../pop/dpop.js";
import type { ProofAlgorithm } from "../pop/jwk.js";
import type { Nonces } from "../pop/nonce.js";
import type { ReplayCache } from "../pop/replay.js";
import type { Scheme } from "./credentials.js";
import type { FailureReason, RequestLike } from "./types.js";

/** DPoP settings after validation (`options.dpop`). */
export interface DpopSettings {
  algorithms: readonly ProofAlgorithm[];
  /** Every header-transport sign-in and request must prove a key; no plain Bearer tokens. */
  required: boolean;
  maxAgeMs: number;
  replay: ReplayCache;
  nonces: Nonces | null;
  /** The public origin the clients sign in `htu`, when the request's own URL is not it. */
  origin: string | null;
}

/** A refusal of the DPoP layer: the failure reason, and the challenge and headers to send. */
export interface DpopRefusal {
  reason: Extract<FailureReason, "dpop_invalid" | "dpop_required" | "dpop_nonce">;
  challenge: string;
  nonce: string | null;
  /** For logs: what was wrong with the proof. */
  detail: string;
}

/**
 * DPoP (RFC 9449) as the strategies apply it: the proof a sign-in presents binds the new
 * session to its key, and every later request with a bound token must carry a fresh proof
 * signed by that key, for that method and URI, with the token's hash (`ath`). A bound token
 * presented as Bearer, or an unbound one presented as DPoP, is refused: the scheme says which
 * rules apply, and a token must not change its rules by changing its scheme.
 */
export function createDpopGate(settings: DpopSettings, clock: () => number) {
  const refusal = (failure: DpopFailure | null, detail: string): DpopRefusal => {
    const challenge = dpopChallenge(failure, { algorithms: settings.algorithms });
    const reason =
      failure?.error === "use_dpop_nonce"
        ? "dpop_nonce"
        : failure?.code === "unbound_token" || failure === null
          ? "dpop_required"
          : "dpop_invalid";
    return {
      reason,
      challenge: challenge.headers["www-authenticate"] ?? "DPoP",
      nonce: challenge.headers["dpop-nonce"] ?? null,
      detail,
    };
  };

  /** The one DPoP header of a request: a comma means several (a compact JWS has none). */
  const proofOf = (request: RequestLike): string | null | "several" => {
    const value = request.headers.get("dpop");
    if (value === null) return null;
    return value.includes(",") ? "several" : value.trim();
  };

  /** The URI the client signs: the configured public origin with the request's path. */
  const targetOf = (request: RequestLike): string => {
    const url = request.url ?? "/";
    const absolute = /^https?:\/\//i.test(url);
    if (!settings.origin) return url;
    if (!absolute) return settings.origin + (url.startsWith("/") ? url : `/${url}`);
    try {
      const parsed = new URL(url);
      return settings.origin + parsed.pathname;
    } catch {
      return url;
    }
  };

  const verify = (request: RequestLike, proof: string, accessToken?: string, jkt?: string) =>
    verifyDpopProof(
      proof,
      { method: request.method ?? "GET", url: targetOf(request) },
      {
        algorithms: settings.algorithms,
        now: clock(),
        maxAgeMs: settings.maxAgeMs,
        replay: settings.replay,
        ...(settings.nonces ? { nonces: settings.nonces } : {}),
        ...(accessToken === undefined ? {} : { accessToken }),
        ...(jkt === undefined ? {} : { expectedJkt: jkt }),
      },
    );

  return {
    settings,

    /**
     * At sign-in: the thumbprint of the key the request proves it holds (the new session is
     * bound to it), `null` when it carries no proof and none is required, or a refusal.
     */
    signIn(request: RequestLike): { jkt: string | null } | DpopRefusal {
      const proof = proofOf(request);
      if (proof === "several") return refusal(null, "several DPoP headers");
      if (proof === null) {
        return settings.required ? refusal(null, "no DPoP proof") : { jkt: null };
      }
      const checked = verify(request, proof);
      return "jkt" in checked ? { jkt: checked.jkt } : refusal(checked, checked.detail);
    },

    /**
     * A request presenting `token` with `scheme`, for a session bound to `boundJkt` (or not):
     * `null` when it may go on, or a refusal. `accessToken`: whether `token` is what `ath`
     * covers (an access token or an `id` token: yes; a refresh token sent in a body: no).
     */
    check(
      request: RequestLike,
      scheme: Scheme,
      token: string,
      boundJkt: string | null,
      hashed = true,
    ): DpopRefusal | null {
      if (boundJkt === null) {
        if (scheme === "dpop") return refusal(null, "a DPoP scheme with an unbound token");
        return settings.required ? refusal(null, "an unbound token where DPoP is required") : null;
      }
      if (scheme !== "dpop" && hashed) {
        return refusal(null, "a DPoP-bound token presented without the DPoP scheme");
      }
      const proof = proofOf(request);
      if (proof === "several") return refusal(null, "several DPoP headers");
      if (proof === null) return refusal(null, "a bound token without a DPoP proof");
      const checked = verify(request, proof, hashed ? token : undefined, boundJkt);
      return "jkt" in checked ? null : refusal(checked, checked.detail);
    },

    /** The challenge a header-transport failure carries when DPoP is on. */
    challenge: (): string =>
      dpopChallenge(null, { algorithms: settings.algorithms }).headers["www-authenticate"] ??
      "DPoP",
  };
}

export type DpopGate = ReturnType<typeof createDpopGate>;

/** A thumbprint no key has: what an unreadable binding is bound to. */
export const NO_KEY = "!";

/**
 * The DPoP verdict on a request presenting a session's token: `null` to go on, or a
 * refusal. `jkt`: the thumbprint the session is bound to (`null`: unbound). A bound session
 * is refused over a cookie (it was issued for header transport, to a client holding the key)
 * and whenever this manager has DPoP off: a binding never stops counting.
 */
export function dpopVerdict(
  gate: DpopGate | null,
  request: RequestLike,
  credential: { transport: "cookie" | "header"; scheme: Scheme; token: string },
  jkt: string | null,
  hashed = true,
): DpopRefusal | null {
  if (jkt !== null && (gate === null || credential.transport === "cookie")) {
    return {
      reason: "dpop_required",
      challenge: gate ? gate.challenge() : "DPoP",
      nonce: null,
      detail: gate
        ? "a DPoP-bound session presented in a cookie"
        : "a DPoP-bound session, DPoP off",
    };
  }
  if (gate === null || credential.transport === "cookie") return null;
  return gate.check(request, credential.scheme, credential.token, jkt, hashed);
}

/**
 * `dpopVerdict` for what a request proves at sign-out and sign-in: as for any request, except
 * that a sign-in whose own proof showed the key (`provenJkt`) proves the sessions bound to it
 * (its proof was spent by that check and would read as a replay here).
 */
export function presentedVerdict(
  gate: DpopGate | null,
  request: RequestLike,
  credential: { transport: "cookie" | "header"; scheme: Scheme; token: string },
  jkt: string | null,
  provenJkt: string | null,
  hashed = true,
): DpopRefusal | null {
  if (jkt !== null && jkt === provenJkt && credential.transport === "header") return null;
  return dpopVerdict(gate, request, credential, jkt, hashed);
}
