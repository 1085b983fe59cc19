/** `npm run load` end to end, small: it runs, sees every bot, reports, and guards the original's bots. */
import { readdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { tempDir } from "../helpers/net.js";
import { processesUnder, runTool } from "../helpers/procs.js";

describe("load report", () => {
  it("runs 3 bots for 2 s on a free port and reports what it saw", async () => {
    const tmp = tempDir();
    try {
      const run = runTool("dist/tools/load.js", ["3", "2"], tmp.dir);
      const { code } = await run.exited;
      const out = run.output();
      expect(code, out).toBe(0);
      expect(out).toMatch(/Bots started: +3 of 3/);
      expect(out).toMatch(/Bots seen on the group: +3 /);
      expect(out).toMatch(/Heartbeats \(BEAT\/NEWS\): +\d+ received of \d+ expected/);
      expect(out).toMatch(/Memory of the bots: +peak \d+\.\d MB/);
      expect(out).toMatch(/3 bots started: 0 lifespan, 0 killed, 3 signalled, 0 crashed, 0 forced/);
      expect(processesUnder(tmp.dir)).toEqual([]);
      // Its run directory was its own and is gone.
      expect(readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });

  const onRealNetwork = Object.values(networkInterfaces()).some((a) => a?.some((x) => !x.internal));
  it.runIf(onRealNetwork)("refuses to run the original's bots outside a private network namespace", async () => {
    const tmp = tempDir();
    try {
      const run = runTool("dist/tools/load.js", ["1", "1", `-python=${tmp.dir}`], tmp.dir);
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.output()).toMatch(/unshare -n/);
    } finally {
      tmp.cleanup();
    }
  });
});
