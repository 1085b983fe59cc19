/** `npm run load` end to end, small: it runs, hears every bot, reports, and guards the original's bots. */
import { readdirSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import type { LoadResult } from "../../tools/load_stats.js";
import { tempDir } from "../helpers/net.js";
import { processesUnder, runTool } from "../helpers/procs.js";

// Quick bots: the default heartbeat (10 s) would make a short run count nothing.
const QUICK = ["-heartbeat=1", "-backoff=0.5"];

describe("load report", () => {
  it("runs 3 bots for 2 s on a free port and reports what it saw", async () => {
    const tmp = tempDir();
    try {
      const run = runTool("tools/bin/load.js", ["3", "2", ...QUICK], tmp.dir);
      const { code } = await run.exited;
      const out = run.output();
      expect(code, out).toBe(0);
      expect(out).toMatch(/Bots started: +3 of 3, in 3 processes/);
      expect(out).toMatch(/Bots heard on the group: +3 /);
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

  it("-json prints one JSON object with the figures and the time series", async () => {
    const tmp = tempDir();
    try {
      const run = runTool("tools/bin/load.js", ["2", "3", "-json", ...QUICK], tmp.dir);
      let stdout = "";
      run.child.stdout?.on("data", (d) => {
        stdout += d;
      });
      const { code } = await run.exited;
      expect(code, run.output()).toBe(0);
      const r = JSON.parse(stdout) as LoadResult;
      expect(r).toMatchObject({ kind: "ours", bots: 2, botsStarted: 2, processes: 2, perProcess: 1, botsHeard: 2 });
      expect(r.crashed).toBe(0);
      expect(r.seconds).toBeGreaterThanOrEqual(3);
      expect(r.heartbeat).toBe(1);
      expect(r.heartbeatsExpected).toBeGreaterThan(0);
      expect(r.heartbeatsReceived).toBeLessThanOrEqual(r.heartbeatsExpected);
      expect(r.heartbeatsReceived).toBeGreaterThan(0);
      expect(r.peakRssBytes).toBeGreaterThan(1024 * 1024);
      // Two idle bots may use less than a clock tick in 3 s; starting up they use more.
      expect(r.cpuSeconds).toBeGreaterThanOrEqual(0);
      expect(r.cpuSecondsBefore).toBeGreaterThan(0);
      expect(r.messagesPerSecond).toBeGreaterThan(0);
      expect(r.series.length).toBeGreaterThanOrEqual(3);
      expect(r.series.at(-1)!.botsHeard).toBe(2);
      expect(r.series.reduce((n, i) => n + i.beatsReceived, 0)).toBeGreaterThan(0);
      expect(r.series.some((i) => i.rssBytes > 0)).toBe(true);
      expect(readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });

  const onRealNetwork = Object.values(networkInterfaces()).some((a) => a?.some((x) => !x.internal));
  it.runIf(onRealNetwork)("refuses to run the original's bots outside a private network namespace", async () => {
    const tmp = tempDir();
    try {
      const run = runTool("tools/bin/load.js", ["1", "1", `-python=${tmp.dir}`], tmp.dir);
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.output()).toMatch(/unshare -n/);
    } finally {
      tmp.cleanup();
    }
  });
});
