/** Test helpers: free ports on 127.0.0.1 and throw-away directories. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export { freeTcpPort, freeUdpPort } from "../../tools/ports.js";

/** A fresh directory under the system temp dir, and a function that removes it. */
export function tempDir(prefix = "mcastbots-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Repository root (tests run from it). */
export const REPO = join(import.meta.dirname, "..", "..");

/**
 * Poll until f() returns something other than undefined or false, and return it. The limit only
 * stops a broken test (it throws naming what was awaited); it measures nothing.
 */
export async function until<T>(what: string, f: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
