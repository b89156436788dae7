import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

// Editor help: every function and class a user can import (each entry of the exports map,
// re-exports followed) shows an `@example` on hover, and every example compiles, strict,
// against the sources, so that one naming an option or an import that does not exist fails.
// Each example is a module of its own; the names an app brings (a database pool, a user
// lookup) it declares with `declare const` / `declare function`. Examples are resolved as an
// app's bundler or Next.js resolves them, and the express-session layer's apart from the rest:
// an app has one of the two Express layers, whose `req.session` types differ.
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  name: string;
  exports: Record<string, string | { default: string }>;
};
/** `sessionkit/...` specifier → its source entry file. */
const entries = new Map(
  Object.entries(pkg.exports).flatMap(([subpath, target]) =>
    typeof target === "string"
      ? []
      : [
          [
            `${pkg.name}${subpath.slice(1)}`,
            join(ROOT, target.default.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts")),
          ] as const,
        ],
  ),
);

const config = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.json"), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  },
});
if (!config) throw new Error("tsconfig.json did not parse");
const options: ts.CompilerOptions = {
  ...config.options,
  noEmit: true,
  declaration: false,
  sourceMap: false,
  paths: Object.fromEntries([...entries].map(([specifier, file]) => [specifier, [file]])),
};

/** Every file parsed once, for all the programs below. */
const parsed = new Map<string, ts.SourceFile | undefined>();

/** A compiler host over the disk and the in-memory `extra` files, with the parse cache. */
function cachingHost(compilerOptions: ts.CompilerOptions, extra: Map<string, string>) {
  const host = ts.createCompilerHost(compilerOptions, true);
  const getSourceFile = host.getSourceFile.bind(host);
  return {
    ...host,
    fileExists: (f: string) => extra.has(f) || host.fileExists(f),
    readFile: (f: string) => extra.get(f) ?? host.readFile(f),
    getSourceFile(fileName, languageVersion, onError) {
      const text = extra.get(fileName);
      if (text !== undefined) return ts.createSourceFile(fileName, text, languageVersion, true);
      if (!parsed.has(fileName))
        parsed.set(fileName, getSourceFile(fileName, languageVersion, onError));
      return parsed.get(fileName);
    },
  } satisfies ts.CompilerHost;
}

/** The examples as an app's bundler resolves them (`next/server` has no exports map). */
const exampleOptions: ts.CompilerOptions = {
  ...options,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
};

/** The compile errors of `files` (name → code), in one program of their own. */
function compileErrors(files: Map<string, string>, origin: Map<string, string>): string[] {
  const program = ts.createProgram({
    rootNames: [...files.keys()],
    options: exampleOptions,
    host: cachingHost(exampleOptions, files),
  });
  return [...files.keys()].flatMap((file) => {
    const source = program.getSourceFile(file);
    if (!source) return [`${origin.get(file)}: not loaded`];
    return [
      ...program.getSyntacticDiagnostics(source),
      ...program.getSemanticDiagnostics(source),
    ].map((d) => {
      const line = d.start === undefined ? 0 : source.getLineAndCharacterOfPosition(d.start).line;
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      return `${origin.get(file)}, line ${line + 1}: ${text}`;
    });
  });
}

interface Documented {
  /** How a user imports it: `sessionkit/stores/memory: memoryStore`. */
  name: string;
  /** A function or class: it must have an example. Types and constants may. */
  callable: boolean;
  examples: string[];
}

/** Every export of every entry point, with the `@example`s of its doc. */
function exportedSymbols(program: ts.Program): Documented[] {
  const checker = program.getTypeChecker();
  const seen = new Map<ts.Symbol, Documented>();
  for (const [specifier, file] of entries) {
    const source = program.getSourceFile(file);
    const module = source && checker.getSymbolAtLocation(source);
    if (!module) throw new Error(`${specifier}: ${file} did not load`);
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol =
        exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      if (seen.has(symbol)) continue;
      // Functions, classes, and constants that hold one (the Fastify plugin, `Store`).
      const type = symbol.flags & ts.SymbolFlags.Value ? checker.getTypeOfSymbol(symbol) : null;
      const callable = !!(
        type?.getCallSignatures().length || type?.getConstructSignatures().length
      );
      const examples = symbol
        .getJsDocTags(checker)
        .filter((tag) => tag.name === "example")
        .map((tag) => ts.displayPartsToString(tag.text));
      seen.set(symbol, { name: `${specifier}: ${exported.name}`, callable, examples });
    }
  }
  return [...seen.values()];
}

/** The code of the ```ts fences of one example. */
const fencedCode = (example: string) =>
  [...example.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] ?? "").join("\n");

describe("doc comments of the public API", () => {
  const program = ts.createProgram({
    rootNames: [...entries.values()],
    options,
    host: cachingHost(options, new Map()),
  });
  const documented = exportedSymbols(program);

  it("give every exported function and class an @example", () => {
    const callables = documented.filter((d) => d.callable);
    expect(callables.length).toBeGreaterThan(30);
    const missing = callables.filter((d) => d.examples.length === 0).map((d) => d.name);
    expect(missing).toEqual([]);
  });

  it("hold examples in a ```ts fence that compile, strict, against the sources", () => {
    // In memory only, never written; under the root, so that imports resolve as in the package.
    const dir = join(ROOT, ".doc-examples");
    const files = new Map<string, string>();
    const origin = new Map<string, string>();
    const unfenced: string[] = [];
    for (const { name, examples } of documented) {
      examples.forEach((example, i) => {
        const code = fencedCode(example);
        if (code.trim() === "") {
          // An `@word` inside the example (a scoped package name) ends the tag early.
          unfenced.push(`${name} (@example ${i + 1}): no whole \`\`\`ts fence`);
          return;
        }
        const file = join(dir, `example-${files.size}.mts`);
        files.set(file, code.includes("import ") ? code : `${code}\nexport {};\n`);
        origin.set(file, `${name} (@example ${i + 1})`);
      });
    }
    expect(unfenced).toEqual([]);
    const expressSession = (file: string) =>
      files.get(file)?.includes('"sessionkit/adapters/express-session"') === true;
    const group = (inGroup: boolean) =>
      new Map([...files].filter(([file]) => expressSession(file) === inGroup));
    expect([...compileErrors(group(false), origin), ...compileErrors(group(true), origin)]).toEqual(
      [],
    );
  }, 60_000);
});
