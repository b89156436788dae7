import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";

/** Whether an executable named `tool` is found on PATH. */
export function onPath(tool: string): boolean {
  return (process.env.PATH ?? "")
    .split(delimiter)
    .some((dir) => dir && existsSync(join(dir, tool)));
}

/**
 * A certificate for `localhost` that Chromium trusts without any flag: a throwaway CA made with
 * openssl in `dir`, added to the NSS database under `home` (Chromium on Linux reads
 * `$HOME/.pki/nssdb`, so start it with that HOME). Needs openssl and certutil (libnss3-tools).
 */
export function localhostTls(dir: string, home: string): { cert: Buffer; key: Buffer } {
  const run = (tool: string, args: string[]) =>
    execFileSync(tool, args, { cwd: dir, stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  run("openssl", [
    ...["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1"],
    ...["-subj", "/CN=sessionkit DBSC test CA", "-addext", "basicConstraints=critical,CA:TRUE"],
    ...["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
  ]);
  run("openssl", [
    "req",
    ...ec,
    "-keyout",
    "leaf.key",
    "-out",
    "leaf.csr",
    "-subj",
    "/CN=localhost",
  ]);
  writeFileSync(
    join(dir, "leaf.ext"),
    "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
  );
  run("openssl", [
    ...["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key"],
    ...["-CAcreateserial", "-out", "leaf.pem", "-days", "1", "-extfile", "leaf.ext"],
  ]);
  const nssdb = join(home, ".pki", "nssdb");
  mkdirSync(nssdb, { recursive: true });
  run("certutil", ["-d", `sql:${nssdb}`, "-N", "--empty-password"]);
  run("certutil", ["-d", `sql:${nssdb}`, "-A", "-t", "C,,", "-n", "dbsc-test-ca", "-i", "ca.pem"]);
  return { cert: readFileSync(join(dir, "leaf.pem")), key: readFileSync(join(dir, "leaf.key")) };
}
