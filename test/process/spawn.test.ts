/**
 * spawnBots as a user runs it (the built program, real bots, the loopback group on a free
 * port, TMPDIR pointed at a throw-away directory): directories, bots seen on the group, how
 * they end, and that nothing is left running.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { alive, listen, processesUnder, runTool, senders, stopRun } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const SPAWN = "tools/bin/spawnBots.js";

function botPids(output: string): number[] {
  return [...output.matchAll(/\(pid (\d+)\)/g)].map((m) => Number(m[1]));
}

async function fastBotArgs(lifespan: number): Promise<string[]> {
  return [
    `-lifespan=${lifespan}`,
    "-heartbeat=0.5",
    "-backoff=0.2",
    `-chanPort=${await freeUdpPort()}`,
    `-filePort=${await freeTcpPort()}`,
  ];
}

/** The run directories spawnBots made under a TMPDIR. */
function runDirs(tmp: string): string[] {
  return readdirSync(tmp)
    .filter((e) => e.startsWith("mcastbots-spawnBots-"))
    .map((e) => join(tmp, e));
}

function portOf(args: string[]): number {
  return Number(args.find((a) => a.startsWith("-chanPort="))!.split("=")[1]);
}

describe("spawnBots", () => {
  const cleanups = cleanupsAfterEach();

  it("runs N=3 bots in fresh directories until their lifespan ends, all exit 0, nothing left", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const args = await fastBotArgs(2);
    const group = await listen(portOf(args));
    cleanups.push(group.close);

    const run = runTool(SPAWN, ["3", ...args], tmp.dir);
    const { code } = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);

    // Its own run directory, named on screen and kept for reading, holding exactly the N bots.
    const [runDir, ...more] = runDirs(tmp.dir);
    expect(more).toEqual([]);
    expect(out).toContain(`stay in ${runDir}`);
    expect(readdirSync(runDir!).sort()).toEqual(["Bot1", "Bot2", "Bot3"]);
    for (const name of ["Bot1", "Bot2", "Bot3"]) {
      expect(existsSync(join(runDir!, name, "dnabot.ini")), name).toBe(true);
      expect(readFileSync(join(runDir!, name, "bot.out"), "utf8")).toMatch(/BEAT/);
    }

    const beaters = senders(group.messages, "BEAT");
    expect(beaters.size).toBe(3);
    const exits = group.messages.filter((m) => m.opcode === "EXIT");
    expect(senders(exits)).toEqual(beaters);
    for (const m of exits) expect(m.tags.reason).toBe("lifespan");

    expect(out).toMatch(/3 bots started: 3 lifespan, 0 killed, 0 signalled, 0 crashed, 0 forced/);
    const pids = botPids(out);
    expect(pids).toHaveLength(3);
    for (const pid of pids) expect(alive(pid)).toBe(false);
    expect(processesUnder(tmp.dir)).toEqual([]);
  });

  it("stops every bot cleanly on SIGTERM and reports it", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const args = await fastBotArgs(60);
    const group = await listen(portOf(args));
    cleanups.push(group.close);

    const run = runTool(SPAWN, ["3", "-tail", ...args], tmp.dir);
    cleanups.push(() => run.child.kill("SIGKILL"));
    await until(
      () => `BEATs of 3 bots: ${run.output()}`,
      () => senders(group.messages, "BEAT").size === 3,
      20_000,
    );
    const { code, out } = await stopRun(run);
    expect(code, out).toBe(0);
    expect(out).toMatch(/3 bots started: 0 lifespan, 0 killed, 3 signalled, 0 crashed, 0 forced/);

    // Each bot said goodbye, and -tail showed its lines under its own id.
    await until("EXITs of 3 bots", () => senders(group.messages, "EXIT").size === 3, 2000);
    const exits = group.messages.filter((m) => m.opcode === "EXIT");
    expect(senders(exits)).toEqual(senders(group.messages, "BEAT"));
    for (const m of exits) {
      expect(m.tags.reason).toBe("signal");
      expect(out).toContain(`[${m.sender}] `);
    }
    expect(processesUnder(tmp.dir)).toEqual([]);
  });

  it("never leaves orphans: bots stop themselves when spawnBots is SIGKILLed", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const args = await fastBotArgs(60);
    const group = await listen(portOf(args));
    cleanups.push(group.close);

    const run = runTool(SPAWN, ["2", ...args], tmp.dir);
    await until(
      () => `BEATs of 2 bots: ${run.output()}`,
      () => senders(group.messages, "BEAT").size === 2,
      20_000,
    );
    const pids = botPids(run.output());
    expect(pids).toHaveLength(2);
    run.child.kill("SIGKILL");
    await run.exited;
    await until("every bot process gone", () => pids.every((p) => !alive(p)), 10_000);
    // They left the group properly, not just vanished.
    await until("EXITs of 2 bots", () => senders(group.messages, "EXIT").size === 2, 2000);
  });

  it("two runs at once each make their own directory and touch nothing they did not make", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    // What an older spawnBots (or a person) left in the temp directory: never touched.
    mkdirSync(join(tmp.dir, "Bot1"));
    writeFileSync(join(tmp.dir, "Bot1", "thesis.tex"), "years of work\n");
    const args = await fastBotArgs(1);
    const runs = [runTool(SPAWN, ["2", ...args], tmp.dir), runTool(SPAWN, ["2", ...args], tmp.dir)];
    for (const run of runs) {
      const { code } = await run.exited;
      expect(code, run.output()).toBe(0);
      expect(run.output()).toMatch(/2 bots started: 2 lifespan, 0 killed, 0 signalled, 0 crashed, 0 forced/);
    }
    const dirs = runDirs(tmp.dir);
    expect(dirs).toHaveLength(2);
    for (const dir of dirs) {
      expect(readdirSync(dir).sort()).toEqual(["Bot1", "Bot2"]);
      for (const bot of ["Bot1", "Bot2"]) expect(readFileSync(join(dir, bot, "bot.out"), "utf8")).toMatch(/BEAT/);
    }
    expect(readFileSync(join(tmp.dir, "Bot1", "thesis.tex"), "utf8")).toBe("years of work\n");
  });

  it("checks the bot options once: a bad value is one line and exit 2, no bot started", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const run = runTool(SPAWN, ["2", "-heartbeat=soon"], tmp.dir);
    const { code } = await run.exited;
    expect(code).toBe(2);
    expect(run.output().trim().split("\n")).toHaveLength(1);
    expect(run.output()).toMatch(/heartbeat/);
    expect(readdirSync(tmp.dir)).toEqual([]);
    // A mistyped option, too: the programs' parser, strict.
    const typo = runTool(SPAWN, ["2", "-lifespna=5"], tmp.dir);
    expect((await typo.exited).code).toBe(2);
    expect(typo.output().trim().split("\n")).toEqual([expect.stringMatching(/unknown option -lifespna/)]);
    expect(readdirSync(tmp.dir)).toEqual([]);
  });
});
