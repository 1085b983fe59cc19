/** Test helpers: free ports on 127.0.0.1 and throw-away directories. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export { freeTcpPort, freeUdpPort } from "../../tools/ports.js";

/** Every directory tempDir() made in this test file (removed by sweepTempDirs at its end). */
const made = new Set<string>();

/**
 * A fresh directory under the system temp dir, and a function that removes it. Whatever a test
 * forgets to remove goes at the end of its file (sweepTempDirs, run by test/helpers/sweep.ts).
 */
export function tempDir(prefix = "mcastbots-test-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.add(dir);
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true });
      made.delete(dir);
    },
  };
}

/** Remove every directory tempDir() made that is still there. */
export function sweepTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

/** Repository root (tests run from it). */
export const REPO = join(import.meta.dirname, "..", "..");
