import { readFileSync, writeFileSync } from "node:fs";
import {
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

/** A JSON file the user named; unreadable or invalid, it is a usage error naming the file. */
export const readJson = (path: string): unknown => {
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new UsageError(`${path}: ${(error as Error).message.split("\n")[0]}`);
  }
};

/** `sessionkit keys generate|rotate|jwks`. */
export async function keysCommand(args: string[], io: Io): Promise<number> {
  const { sub, values, positionals } = parseSubcommand("keys", args, {
    generate: { alg: "string", kid: "string" },
    rotate: { keys: "string", alg: "string", kid: "string" },
    jwks: { keys: "string" },
  });
  if (positionals.length > 0)
    throw new UsageError(`keys ${sub}: unexpected argument ${positionals[0]}`);
  if (sub === "generate") {
    io.out(JSON.stringify(generateKeySet(alg(values.alg), values.kid), null, 2));
    return 0;
  }
  if (!values.keys) throw new UsageError(`keys ${sub} needs --keys FILE`);
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
  const set = loadKeySet(readJson(values.keys));
  const jwks = publicKeySet(set);
  io.out(JSON.stringify(jwks, null, 2));
  // stdout stays the JSON (it is published as is); what it lacks is said on stderr.
  const leftOut = set.keys.length - jwks.keys.length;
  if (jwks.keys.length === 0) {
    io.err(
      `note: ${values.keys} holds only HS* (shared-secret) keys, which are never published: this JWKS is empty and verifies nothing. Verify their tokens with the key file (sessionkit jwt verify TOKEN --keys ${values.keys}), or generate asymmetric keys (keys generate --alg ES256) for a JWKS others can use.`,
    );
  } else if (leftOut > 0) {
    io.err(`note: ${leftOut} HS* (shared-secret) key(s) of ${values.keys} left out`);
  }
  return 0;
}
