import { createJwtVerifier, decodeJwtUnverified, loadKeySet } from "../tokens/index.js";
import { parseSubcommand } from "./args.js";
import { type Io, UsageError } from "./io.js";
import { readJson } from "./keys.js";

/** `sessionkit jwt decode|verify`. */
export async function jwtCommand(args: string[], io: Io): Promise<number> {
  const { sub, values, positionals } = parseSubcommand("jwt", args, {
    decode: {},
    verify: { jwks: "string", keys: "string", iss: "string", aud: "string" },
  });
  const token = positionals[0];
  if (positionals.length !== 1 || token === undefined)
    throw new UsageError(`jwt ${sub} needs one TOKEN`);
  if (sub === "decode") {
    const decoded = decodeJwtUnverified(token);
    if (!decoded) {
      io.err("sessionkit: not a compact JWT (three base64url JSON segments)");
      return 1;
    }
    io.err("NOT VERIFIED: decoded only; nothing about this token was checked");
    io.out(JSON.stringify(decoded, null, 2));
    return 0;
  }
  if ((values.jwks === undefined) === (values.keys === undefined))
    throw new UsageError("jwt verify needs --jwks FILE|URL or --keys FILE (one of them)");
  const source = values.jwks ?? values.keys ?? "";
  const set =
    values.jwks && /^https?:\/\//.test(values.jwks)
      ? await fetchJwks(values.jwks)
      : readJson(source);
  const header = decodeJwtUnverified(token)?.header;
  const alg = typeof header === "object" && header !== null && "alg" in header ? header.alg : null;
  const symmetric = typeof alg === "string" && alg.startsWith("HS");
  const hint =
    "hint: a token signed with an HS* (shared-secret) key verifies only with the key file itself: --keys FILE";
  if (isEmptySet(set)) {
    io.err(`sessionkit: ${source} has no keys: nothing can verify with it`);
    if (values.jwks)
      io.err(
        "hint: a key set of HS* (shared-secret) keys publishes an empty JWKS; verify with the key file itself: --keys FILE",
      );
    return 1;
  }
  const verifier = createJwtVerifier(loadKeySet(set), {
    issuer: values.iss ?? null,
    audience: values.aud ?? null,
    type: null,
  });
  const result = verifier.verify(token);
  if (!result.ok) {
    io.err(`sessionkit: invalid: ${result.reason}`);
    if (symmetric && values.jwks) io.err(hint);
    return 1;
  }
  const unchecked = [
    values.iss === undefined ? "issuer (no --iss)" : "",
    values.aud === undefined ? "audience (no --aud)" : "",
  ].filter(Boolean);
  io.err(
    `valid: signature (${result.header.alg}, key ${result.header.kid}), exp and nbf checked${
      unchecked.length
        ? `; any ${unchecked.join(" and any ")} accepted`
        : "; issuer and audience checked"
    }`,
  );
  // The lesson a verifier teaches least: a signature outlives a sign-out.
  io.err(
    "not checked: whether the session is live (a signature stays valid until exp after a sign-out or revocation; the store knows: sessionkit sessions list)",
  );
  io.out(JSON.stringify({ header: result.header, claims: result.claims }, null, 2));
  return 0;
}

const isEmptySet = (set: unknown) =>
  typeof set === "object" &&
  set !== null &&
  Array.isArray((set as { keys?: unknown }).keys) &&
  (set as { keys: unknown[] }).keys.length === 0;

async function fetchJwks(url: string): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(5000),
    headers: { accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}
