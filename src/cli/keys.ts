import { readFileSync, writeFileSync } from "node:fs";
import {
  createJwtVerifier,
  decodeJwtUnverified,
  generateKeySet,
  JWS_ALGORITHMS,
  type JwsAlgorithm,
  loadKeySet,
  publicKeySet,
  rotateKeySet,
} from "../tokens/index.js";
import { parseSubcommand } from "./args.js";
import { type Io, UsageError } from "./io.js";

const alg = (value: string | undefined): JwsAlgorithm | undefined => {
  if (value === undefined) return undefined;
  if (!JWS_ALGORITHMS.includes(value as JwsAlgorithm)) {
    throw new UsageError(`--alg: "${value}" is not one of ${JWS_ALGORITHMS.join(", ")}`);
  }
  return value as JwsAlgorithm;
};

const readJson = (path: string): unknown => {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message.split("\n")[0]}`);
  }
};

/** `sessionkit keys generate|rotate|jwks`. */
export async function keysCommand(args: string[], io: Io): Promise<number> {
  const { sub, values, positionals } = parseSubcommand(args, {
    alg: { type: "string" },
    kid: { type: "string" },
    keys: { type: "string" },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  if (sub === "generate") {
    io.out(JSON.stringify(generateKeySet(alg(values.alg), values.kid), null, 2));
    return 0;
  }
  if (!values.keys) throw new UsageError(`keys ${sub ?? ""} needs --keys FILE`.replace("  ", " "));
  if (sub === "rotate") {
    const rotated = rotateKeySet(loadKeySet(readJson(values.keys), { requirePrivate: true }), {
      ...(values.alg === undefined ? {} : { alg: alg(values.alg) }),
      ...(values.kid === undefined ? {} : { kid: values.kid }),
    });
    writeFileSync(values.keys, `${JSON.stringify(rotated, null, 2)}\n`, { mode: 0o600 });
    io.out(
      `${values.keys}: ${rotated.keys[0]?.kid} now signs; ${rotated.keys.length - 1} previous key(s) still verify`,
    );
    return 0;
  }
  if (sub === "jwks") {
    io.out(JSON.stringify(publicKeySet(loadKeySet(readJson(values.keys))), null, 2));
    return 0;
  }
  throw new UsageError(
    sub ? `unknown keys subcommand "${sub}"` : "keys needs generate, rotate or jwks",
  );
}

/** `sessionkit jwt decode|verify`. */
export async function jwtCommand(args: string[], io: Io): Promise<number> {
  const { sub, values, positionals } = parseSubcommand(args, {
    jwks: { type: "string" },
    iss: { type: "string" },
    aud: { type: "string" },
  });
  const token = positionals[0];
  if (positionals.length !== 1 || token === undefined)
    throw new UsageError(`jwt ${sub ?? ""} needs one TOKEN`);
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
  if (sub === "verify") {
    if (!values.jwks) throw new UsageError("jwt verify needs --jwks FILE|URL");
    const jwks = /^https?:\/\//.test(values.jwks)
      ? await fetchJwks(values.jwks)
      : readJson(values.jwks);
    const verifier = createJwtVerifier(loadKeySet(jwks), {
      issuer: values.iss ?? null,
      audience: values.aud ?? null,
      type: null,
    });
    const result = verifier.verify(token);
    if (!result.ok) {
      io.err(`sessionkit: invalid: ${result.reason}`);
      return 1;
    }
    io.out(JSON.stringify({ header: result.header, claims: result.claims }, null, 2));
    return 0;
  }
  throw new UsageError(sub ? `unknown jwt subcommand "${sub}"` : "jwt needs decode or verify");
}

async function fetchJwks(url: string): Promise<unknown> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(5000),
    headers: { accept: "application/json" },
  });
  if (!response.ok) throw new Error(`${url} answered ${response.status}`);
  return response.json();
}
