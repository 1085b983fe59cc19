/**
 * spawnBots packing bots into bot hosts (`-perProcess=2`): for a real supervisor the hosted bots
 * behave like separate bots (PING, UPLD, KILL, RSET), each in its own directory, one log per
 * host, and the tally counts every bot from its exit record.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, freeUdpPort, REPO, tempDir } from "../helpers/net.js";
import { listen, processesUnder, runTool, senders, stopRun } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const SPAWN = "tools/bin/spawnBots.js";

describe("spawnBots with bot hosts", () => {
  const cleanups = cleanupsAfterEach();

  it("4 bots in 2 hosts answer PING, UPLD, KILL and RSET like separate bots; each ending counted", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const common = [`-chanPort=${chanPort}`, `-filePort=${filePort}`, "-heartbeat=0.5", "-backoff=0.2"];
    const group = await listen(chanPort);
    cleanups.push(group.close);

    const run = runTool(SPAWN, ["4", "-perProcess=2", "-lifespan=60", ...common], tmp.dir);
    cleanups.push(() => run.child.kill("SIGKILL"));
    await until(
      () => `BEATs of 4 bots: ${run.output()}`,
      () => senders(group.messages, "BEAT").size === 4,
      20_000,
    );
    const ids = [...senders(group.messages, "BEAT")].sort();
    expect(run.output()).toMatch(/Starting 4 bots in \S+, 2 per process in 2 bot hosts/);

    // A real supervisor, scripted.
    const supDir = join(tmp.dir, "supervisor");
    mkdirSync(supDir);
    const sup = spawn(process.execPath, [join(REPO, "supervisor"), ...common, "-uploadWait=10", "-quiet"], {
      cwd: supDir,
      env: { ...process.env, LANG: "C", LC_ALL: "C" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let supOut = "";
    sup.stdout.on("data", (d) => {
      supOut += d;
    });
    sup.stderr.on("data", (d) => {
      supOut += d;
    });
    cleanups.push(() => sup.kill("SIGKILL"));
    const supExited = new Promise<number | null>((r) => sup.once("exit", (code) => r(code)));
    sup.stdin.end(`PING *\nUPLD *\nWAIT 2\nRSET ${ids[1]}\nKILL ${ids[0]}\nWAIT 1\n`);
    expect(await supExited, supOut).toBe(0);
    // Every bot uploaded its own results file.
    expect(readdirSync(join(supDir, "uploads")).sort()).toEqual(ids.map((id) => `${id}_results.data`));

    // The KILLed bot alone left, with reason killed; the others beat on.
    await until("the KILLed bot's EXIT", () => senders(group.messages, "EXIT").size === 1, 5000);
    const exit = group.messages.find((m) => m.opcode === "EXIT")!;
    expect(exit.sender).toBe(ids[0]);
    expect(exit.tags.reason).toBe("killed");

    const { code, out } = await stopRun(run);
    expect(code, out).toBe(0);
    expect(out).toMatch(/4 bots started: 0 lifespan, 1 killed, 3 signalled, 0 crashed, 0 forced/);
    await until("EXITs of 4 bots", () => senders(group.messages, "EXIT").size === 4, 3000);

    // The run directory: each bot its own directory with its exit record, one log per host.
    const [runName] = readdirSync(tmp.dir).filter((e) => e.startsWith("mcastbots-spawnBots-"));
    const runDir = join(tmp.dir, runName!);
    expect(readdirSync(runDir).sort()).toEqual([
      "Bot1",
      "Bot2",
      "Bot3",
      "Bot4",
      "Host1.list",
      "Host1.out",
      "Host2.list",
      "Host2.out",
    ]);
    const records = ["Bot1", "Bot2", "Bot3", "Bot4"].map(
      (b) => JSON.parse(readFileSync(join(runDir, b, "exit.json"), "utf8")) as { id: string; reason: string },
    );
    expect(records.map((r) => r.id).sort()).toEqual(ids);
    expect(records.find((r) => r.id === ids[0])?.reason).toBe("killed");
    const logs = readFileSync(join(runDir, "Host1.out"), "utf8") + readFileSync(join(runDir, "Host2.out"), "utf8");
    for (const id of ids) expect(logs).toContain(id);
    // RSET reached its bot alone: one host logged it, on a line of that bot.
    const rsetLines = logs.split("\n").filter((l) => / RSET /.test(l) && /received/i.test(l));
    expect(rsetLines).toHaveLength(1);
    expect(rsetLines[0]).toContain(ids[1]);
    expect(processesUnder(tmp.dir)).toEqual([]);
  });
});
