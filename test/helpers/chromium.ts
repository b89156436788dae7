import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Browser, chromium } from "playwright-core";

/** Debian's Chromium, which every browser test drives (no browser is downloaded). */
export const CHROMIUM = "/usr/bin/chromium";

/** Where the browser tests leave their screenshots. */
export const SHOTS = join(process.cwd(), "test-results", "screenshots");

/**
 * Whether Chromium is here. Without it the browser tests of `what` skip with one line saying
 * so; under CI=true a missing browser fails the run instead, so CI never passes by skipping.
 */
export function chromiumAvailable(what = "browser tests"): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`${CHROMIUM} is missing, and CI requires the ${what}`);
  console.warn(`skipping the ${what}: ${CHROMIUM} not found (apt-get install chromium)`);
  return false;
}

/** Chromium as the tests launch it: headless, no sandbox (containers), no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}
