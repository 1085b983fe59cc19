/** The check that the suite leaves nothing in the temporary directory, and the sweep behind it. */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { sweepTempDirs, tempDir } from "../helpers/net.js";
import { startTempGuard } from "../helpers/temp_guard.js";

describe("temp guard", () => {
  it("names what a run left behind, with sizes, and removes its directory", () => {
    const outer = tempDir("guard-");
    try {
      const guard = startTempGuard(outer.dir);
      mkdirSync(join(guard.root, "Bot1"));
      writeFileSync(join(guard.root, "Bot1", "bot.out"), "x".repeat(10));
      writeFileSync(join(guard.root, "big.data"), "y".repeat(5));
      expect(guard.finish().sort()).toEqual(["Bot1 (10 bytes)", "big.data (5 bytes)"]);
      expect(existsSync(guard.root)).toBe(false);
    } finally {
      outer.cleanup();
    }
  });

  it("reports nothing for a clean run", () => {
    const outer = tempDir("guard-");
    try {
      const guard = startTempGuard(outer.dir);
      expect(guard.finish()).toEqual([]);
    } finally {
      outer.cleanup();
    }
  });

  it("sweeps the temp directories a test forgot, and only those", () => {
    const forgotten = tempDir("forgotten-");
    const removed = tempDir("removed-");
    removed.cleanup();
    const notMine = mkdtempSync(join(tmpdir(), "not-made-by-tempDir-"));
    writeFileSync(join(forgotten.dir, "f"), "left");
    sweepTempDirs();
    expect(existsSync(forgotten.dir)).toBe(false);
    expect(existsSync(notMine)).toBe(true);
    rmSync(notMine, { recursive: true });
  });
});
