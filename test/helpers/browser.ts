/**
 * Browser tests: playwright-core drives Debian's `chromium` (installed by .ci/run; playwright
 * downloads no browser of its own). Tests skip with NO_BROWSER as the reason where it is missing.
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

const CANDIDATES = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];

export const CHROMIUM: string | undefined = CANDIDATES.find((p): p is string => p !== undefined && existsSync(p));

export const NO_BROWSER: string | undefined =
  CHROMIUM === undefined ? "no chromium (apt-get install chromium, or set CHROMIUM_PATH)" : undefined;

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  // No sandbox: the tests run as root in CI, where Chromium refuses to start sandboxed.
  return chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}
