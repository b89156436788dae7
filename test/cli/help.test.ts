import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CLI } from "../helpers/server.js";

// The built binary, as a person types it: help for any command in any of the three ways,
// and every mistake on the command line answered in one line of the CLI's own words.
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const FORMS: Array<[string, string | undefined, string]> = [
  ["serve", undefined, "usage: sessionkit serve [--port N]"],
  ["migrate", undefined, "usage: sessionkit migrate [--database"],
  ["sessions", "list", "usage: sessionkit sessions list --user NAME|ID"],
  ["sessions", "revoke", "usage: sessionkit sessions revoke ID | --user NAME|ID"],
  ["keys", "generate", "usage: sessionkit keys generate"],
  ["keys", "rotate", "usage: sessionkit keys rotate --keys FILE"],
  ["keys", "jwks", "usage: sessionkit keys jwks --keys FILE"],
  ["jwt", "decode", "usage: sessionkit jwt decode TOKEN"],
  ["jwt", "verify", "usage: sessionkit jwt verify TOKEN"],
];

describe("sessionkit help", () => {
  it("prints a command's usage and exits 0 for `CMD --help`, `CMD SUB --help`, `-h` and `help CMD [SUB]`", () => {
    for (const [command, sub, first] of FORMS) {
      const words = sub ? [command, sub] : [command];
      for (const argv of [
        [...words, "--help"],
        [...words, "-h"],
        ["help", ...words],
        [command, "--help"],
      ]) {
        const r = cli(...argv);
        expect(r.code, argv.join(" ")).toBe(0);
        expect(r.err, argv.join(" ")).toBe("");
        expect(r.out, argv.join(" ")).toContain(first);
      }
    }
  });

  it("shows only the subcommand asked for, and every subcommand for the command alone", () => {
    const one = cli("keys", "generate", "--help").out;
    expect(one).not.toContain("keys rotate");
    const all = cli("keys", "--help").out;
    for (const sub of ["generate", "rotate", "jwks"]) expect(all).toContain(`keys ${sub}`);
  });

  it("help after options or other arguments still answers with the usage, not a usage error", () => {
    const r = cli("keys", "rotate", "--kid", "x", "--help");
    expect(r.code).toBe(0);
    expect(r.out).toContain("usage: sessionkit keys rotate");
    // After --, --help is a value: here a session id, which does not exist.
    const literal = cli("sessions", "revoke", "--database", ":memory:", "--", "--help");
    expect(literal.code).toBe(1);
    expect(literal.err.trim()).toBe("sessionkit: no session --help");
  });

  it("says what jwt verify does without --iss and --aud", () => {
    expect(cli("jwt", "verify", "--help").out.replace(/\s+/g, " ")).toContain(
      "Without --iss and --aud any issuer and any audience pass",
    );
  });

  it("agrees with the README's CLI section, synopsis for synopsis", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("## CLI\n"));
    const block = /```\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
    const lines = block.split("\n").filter((l) => l.startsWith("sessionkit ") && !/serve/.test(l));
    expect(lines).toHaveLength(FORMS.length - 1);
    const flat = (text: string) => text.replace(/\s+/g, " ");
    const help = flat(cli("help").out);
    for (const line of lines) expect(help).toContain(flat(line.slice("sessionkit ".length)));
  });

  it("wraps every usage text at 80 columns", () => {
    const texts = [
      cli("help").out,
      ...FORMS.map(([c, s]) => cli("help", c, ...(s ? [s] : [])).out),
    ];
    for (const text of texts) {
      for (const line of text.split("\n")) expect(line.length, line).toBeLessThanOrEqual(80);
    }
  });
});

describe("sessionkit usage errors", () => {
  const cases: Array<[string[], string]> = [
    [
      ["keys", "generate", "--alg"],
      "sessionkit: keys generate: --alg needs a value (see: sessionkit keys generate --help)",
    ],
    [
      ["keys", "generate", "--alg", "--kid", "x"],
      "sessionkit: keys generate: --alg needs a value; for one that begins with -, write --alg=--kid (see: sessionkit keys generate --help)",
    ],
    [
      ["keys", "generate", "--keys", "f.json"],
      "sessionkit: keys generate: unknown option --keys (see: sessionkit keys generate --help)",
    ],
    [
      ["sessions", "list", "--user", "a", "--json=yes"],
      "sessionkit: sessions list: --json takes no value (see: sessionkit sessions list --help)",
    ],
    [["serve", "-x"], "sessionkit: serve: unknown option -x (see: sessionkit serve --help)"],
    [["migrate", "extra"], "sessionkit: migrate: unexpected argument extra"],
    [["keys"], "sessionkit: keys needs generate, rotate or jwks (see: sessionkit keys --help)"],
    [["jwt", "sign"], 'sessionkit: unknown jwt subcommand "sign" (see: sessionkit jwt --help)'],
    [["help", "frobnicate"], 'sessionkit: unknown command "frobnicate" (try: sessionkit help)'],
  ];

  it("answers each in one line of its own words and exits 2 (never node's parseArgs text)", () => {
    for (const [argv, message] of cases) {
      const r = cli(...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.out, argv.join(" ")).toBe("");
      expect(r.err, argv.join(" ")).toBe(`${message}\n`);
      expect(r.err).not.toMatch(/Unknown option|argument missing|positional argument/);
    }
  });
});
