/**
 * The suite leaves nothing in the temporary directory: a vitest globalSetup. Before any test
 * runs, every test worker and every program they start is given a private, empty TMPDIR (a
 * fresh directory under the real one, so parallel runs of other people on this machine do not
 * disturb the comparison); after the run, anything still in it is named and fails the run
 * (exit status 1), and the private directory is removed either way.
 */
import { lstatSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempGuard {
  /** The private temporary directory the tests run with. */
  root: string;
  /** What was left in it ("name (N bytes)"), then removes it. */
  finish: () => string[];
}

/** Bytes under a path (files and directories, links not followed). */
function sizeOf(path: string): number {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const e of readdirSync(path)) n += sizeOf(join(path, e));
  return n;
}

export function startTempGuard(parent: string = tmpdir()): TempGuard {
  const root = mkdtempSync(join(parent, "mcastbots-vitest-"));
  return {
    root,
    finish: () => {
      const left = readdirSync(root).map((e) => `${e} (${sizeOf(join(root, e))} bytes)`);
      rmSync(root, { recursive: true, force: true });
      return left;
    },
  };
}

export default function setup(): () => void {
  const guard = startTempGuard();
  process.env.TMPDIR = guard.root;
  return () => {
    const left = guard.finish();
    if (left.length === 0) return;
    process.stderr.write(
      `\nThe tests left ${left.length} entries in the temporary directory (they were removed now):\n  ${left.join("\n  ")}\n`,
    );
    process.exitCode = 1;
  };
}
