import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromiumAvailable, launchChromium } from "../helpers/chromium.js";
import { documentationFiles, fencedBlocks, ROOT, readDoc } from "../helpers/markdown.js";

// Every Mermaid diagram of the README and docs/ is drawn by the code host when a reader opens
// the page; one with a syntax error shows as an error box instead. Here each one is parsed and
// rendered by mermaid itself, in Chromium, as the host would: each must give an <svg>.
// Without Chromium on a user's machine this is skipped with one line; under CI=true a missing
// browser fails instead.
const available = chromiumAvailable("diagram tests");

const diagrams = documentationFiles().flatMap((file) =>
  fencedBlocks(file, readDoc(file)).filter((block) => block.lang === "mermaid"),
);

type Outcome = { svg: string; error: null } | { svg: null; error: string };

/** Parses and renders one diagram in the page, reporting mermaid's error instead of throwing. */
function draw(page: Page, text: string): Promise<Outcome> {
  return page.evaluate(async (source) => {
    const { mermaid } = globalThis as unknown as {
      mermaid: {
        parse(text: string): Promise<unknown>;
        render(id: string, text: string): Promise<{ svg: string }>;
      };
    };
    try {
      await mermaid.parse(source);
      const id = `d${Math.random().toString(36).slice(2)}`;
      const { svg } = await mermaid.render(id, source);
      return { svg, error: null };
    } catch (error) {
      return { svg: null, error: String((error as Error)?.message ?? error) };
    }
  }, text);
}

describe.skipIf(!available)("the Mermaid diagrams of the README and docs/ render", () => {
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    page = await browser.newPage();
    // No network: the bundle is injected from node_modules, and nothing else is fetched.
    await page.route("**/*", (route) => route.abort());
    await page.setContent("<!doctype html><html><body></body></html>");
    await page.addScriptTag({ path: join(ROOT, "node_modules/mermaid/dist/mermaid.min.js") });
    await page.evaluate(() => {
      const { mermaid } = globalThis as unknown as {
        mermaid: { initialize(config: object): void };
      };
      mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
  });

  it("finds the diagrams: the architecture, DBSC, DPoP, the strategies, CSRF, the feed", () => {
    const where = new Set(diagrams.map((d) => d.file));
    for (const file of [
      "README.md",
      "docs/dbsc.md",
      "docs/device-bound.md",
      "docs/strategies.md",
      "docs/security.md",
      "docs/deployment.md",
    ]) {
      expect(where).toContain(file);
    }
    expect(diagrams.length).toBeGreaterThanOrEqual(8);
  });

  it.each(diagrams.map((d) => [`${d.file}:${d.line}`, d] as const))(
    "%s renders to an <svg> without error",
    async (_, diagram) => {
      const outcome = await draw(page, diagram.text);
      expect(outcome.error).toBeNull();
      expect(outcome.svg).toMatch(/^<svg[\s>]/);
      expect(outcome.svg).not.toMatch(/Syntax error/i);
    },
    30_000,
  );

  it("fails on a copy of a diagram with a syntax error planted in it", async () => {
    const [first] = diagrams;
    if (!first) throw new Error("no diagram found");
    const lines = first.text.split("\n");
    lines.splice(1, 0, "  this is -->> not ]] mermaid ((");
    const outcome = await draw(page, lines.join("\n"));
    expect(outcome.svg).toBeNull();
    expect(outcome.error).toMatch(/error|expect/i);
    // And the untouched original still draws: the page was not left broken by the failure.
    expect((await draw(page, first.text)).error).toBeNull();
  }, 30_000);
});
