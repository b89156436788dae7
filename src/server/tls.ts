import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { createSecureContext } from "node:tls";
import { configError } from "../errors.js";

/** The PEM files `--tls-cert` and `--tls-key` name. */
export interface TlsFiles {
  certPath: string;
  keyPath: string;
}

/** What `node:https` is given, checked: a certificate chain and its own private key. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** Lines for the start-up log: what will make browsers refuse this certificate. */
  warnings: string[];
}

/**
 * Reads and checks the pair at start, so that a wrong file stops the server with one line
 * naming it, instead of every handshake failing later with an OpenSSL error nobody sees.
 */
export function loadTls(files: TlsFiles, host: string, now = Date.now()): TlsMaterial {
  const cert = read("--tls-cert", files.certPath);
  const key = read("--tls-key", files.keyPath);
  const certText = cert.toString("latin1");
  const keyText = key.toString("latin1");
  // node:https takes PEM only; X509Certificate would also parse DER and hide the mistake.
  if (!certText.includes("-----BEGIN CERTIFICATE-----")) {
    const hint = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(certText)
      ? " (it holds a private key: are --tls-cert and --tls-key swapped?)"
      : "";
    throw configError(`--tls-cert: ${files.certPath} is not a PEM certificate${hint}`);
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw configError(`--tls-cert: ${files.certPath} holds no readable PEM certificate`);
  }
  const privateKey = parseKey(key, keyText, files.keyPath);
  if (!x509.checkPrivateKey(privateKey)) {
    throw configError(
      `--tls-key: ${files.keyPath} is not the private key of the certificate in ${files.certPath}`,
    );
  }
  try {
    // What the handshake will use: catches what OpenSSL refuses beyond the pair itself
    // (a key too small for its security level, a broken chain entry).
    createSecureContext({ cert, key });
  } catch (error) {
    throw configError(`--tls-cert: ${files.certPath}: ${firstLine(error)}`);
  }
  return { cert, key, warnings: warnings(x509, files.certPath, host, now) };
}

function read(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw configError(
      `${flag}: cannot read ${path} (${typeof code === "string" ? code : firstLine(error)})`,
    );
  }
}

function parseKey(key: Buffer, text: string, path: string): KeyObject {
  if (text.includes("-----BEGIN CERTIFICATE-----") && !/PRIVATE KEY-----/.test(text)) {
    throw configError(
      `--tls-key: ${path} holds a certificate, not a private key (are --tls-cert and --tls-key swapped?)`,
    );
  }
  // Said from the PEM itself: OpenSSL's error for a missing passphrase varies by version.
  if (
    text.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
    text.includes("Proc-Type: 4,ENCRYPTED")
  ) {
    throw configError(
      `--tls-key: ${path} is encrypted, and the server has no way to ask for its passphrase: give it an unencrypted key (openssl pkey -in ENCRYPTED -out KEY)`,
    );
  }
  try {
    return createPrivateKey(key);
  } catch {
    throw configError(`--tls-key: ${path} is not a PEM private key`);
  }
}

/**
 * Not refused: a server may rightly start with a certificate about to be replaced, or for a
 * name it is reached by through a proxy. Said, because a browser will refuse it.
 */
function warnings(x509: X509Certificate, path: string, host: string, now: number): string[] {
  const out: string[] = [];
  const from = Date.parse(x509.validFrom);
  const to = Date.parse(x509.validTo);
  if (to < now) out.push(`warning: the certificate in ${path} expired on ${x509.validTo}`);
  if (from > now)
    out.push(`warning: the certificate in ${path} is valid only from ${x509.validFrom}`);
  // A wildcard address is reached by whatever name the certificate has.
  const wildcard = host === "0.0.0.0" || host === "::";
  const named = isIP(host) ? x509.checkIP(host) : x509.checkHost(host);
  if (!wildcard && named === undefined) {
    out.push(
      `warning: the certificate in ${path} is not for ${host}; browsers will refuse https://${isIP(host) === 6 ? `[${host}]` : host}`,
    );
  }
  return out;
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}
