/**
 * spawnBots as a user runs it (the built program, real bots, the loopback group on a free
 * port, TMPDIR pointed at a throw-away directory): directories, bots seen on the group, how
 * they end, and that nothing is left running.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { splitTags } from "../../shared/codec.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { alive, listen, processesUnder, runTool, senders, waitFor } from "../helpers/procs.js";

const SPAWN = "dist/tools/spawnBots.js";

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

function portOf(args: string[]): number {
  return Number(args.find((a) => a.startsWith("-chanPort="))!.split("=")[1]);
}

describe("spawnBots", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

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

    for (const name of ["Bot1", "Bot2", "Bot3"]) {
      expect(existsSync(join(tmp.dir, name, "dnabot.ini")), name).toBe(true);
      expect(readFileSync(join(tmp.dir, name, "bot.out"), "utf8")).toMatch(/BEAT/);
    }
    expect(existsSync(join(tmp.dir, "Bot4"))).toBe(false);

    const beaters = senders(group.messages, "BEAT");
    expect(beaters.size).toBe(3);
    const exits = group.messages.filter((m) => m.opcode === "EXIT");
    expect(senders(exits)).toEqual(beaters);
    for (const m of exits) expect(splitTags(m.args).tags.reason).toBe("lifespan");

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
    expect(await waitFor(() => senders(group.messages, "BEAT").size === 3, 20_000), run.output()).toBe(true);
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);
    expect(out).toMatch(/3 bots started: 0 lifespan, 0 killed, 3 signalled, 0 crashed, 0 forced/);

    // Each bot said goodbye, and -tail showed its lines under its own id.
    await waitFor(() => senders(group.messages, "EXIT").size === 3, 2000);
    const exits = group.messages.filter((m) => m.opcode === "EXIT");
    expect(senders(exits)).toEqual(senders(group.messages, "BEAT"));
    for (const m of exits) {
      expect(splitTags(m.args).tags.reason).toBe("signal");
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
    expect(await waitFor(() => senders(group.messages, "BEAT").size === 2, 20_000), run.output()).toBe(true);
    const pids = botPids(run.output());
    expect(pids).toHaveLength(2);
    run.child.kill("SIGKILL");
    await run.exited;
    expect(await waitFor(() => pids.every((p) => !alive(p)), 10_000)).toBe(true);
    // They left the group properly, not just vanished.
    expect(await waitFor(() => senders(group.messages, "EXIT").size === 2, 2000)).toBe(true);
  });

  it("refuses to delete a directory that is not a bot directory", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    mkdirSync(join(tmp.dir, "Bot1"));
    writeFileSync(join(tmp.dir, "Bot1", "thesis.tex"), "years of work\n");
    const run = runTool(SPAWN, ["1", ...(await fastBotArgs(1))], tmp.dir);
    const { code } = await run.exited;
    expect(code).toBe(1);
    expect(run.output()).toMatch(/does not look like a bot directory/);
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
    expect(existsSync(join(tmp.dir, "Bot1"))).toBe(false);
  });
});
