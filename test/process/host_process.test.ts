/**
 * The bot-host program as a supervisor sees it: `node dnabot -hostList=FILE` running 4 bots in
 * one process, driven by a real `node supervisor` (PING, UPLD, KILL, RSET) on a free loopback
 * port. The bots must behave as 4 separate bots would.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { alive, listen, startProgram } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const cleanups = cleanupsAfterEach();

const ENV = { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" };

const start = (program: "dnabot" | "supervisor", args: string[], cwd: string, input?: string) =>
  startProgram(program, args, { cwd, env: ENV, cleanups, stdin: "pipe", input });

const exitRecord = (dir: string) =>
  existsSync(join(dir, "exit.json")) ? JSON.parse(readFileSync(join(dir, "exit.json"), "utf8")) : undefined;

describe("bot host process", { timeout: 90_000 }, () => {
  it("4 bots in one process answer a real supervisor's PING, UPLD, KILL and RSET as 4 bots would", async () => {
    const tmp = tempDir("mcastbots-hostproc-");
    cleanups.push(tmp.cleanup);
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const dirs = [1, 2, 3, 4].map((i) => join(tmp.dir, `Bot${i}`));
    for (const [i, d] of dirs.entries()) {
      mkdirSync(d);
      writeFileSync(join(d, "dnabot.ini"), "[DNABot]\ndiscovery = 0\n");
      writeFileSync(join(d, "notes.txt"), `notes of bot ${i + 1}\n`);
    }
    writeFileSync(join(tmp.dir, "hosts.txt"), `${dirs.join("\n")}\n`);
    const supDir = join(tmp.dir, "sup");
    mkdirSync(supDir);
    const common = [`-chanPort=${chanPort}`, `-filePort=${filePort}`, "-heartbeat=1", "-backoff=0.3"];
    const group = await listen(chanPort);
    cleanups.push(group.close);

    const host = start("dnabot", ["-hostList=hosts.txt", "-fg", "-info", "-lifespan=60", ...common], tmp.dir);
    const ids = await until("4 bots beating", () => {
      const seen = new Set(group.messages.filter((m) => m.opcode === "BEAT").map((m) => m.sender));
      return seen.size >= 4 ? [...seen].sort() : undefined;
    });
    expect(ids).toHaveLength(4);
    // Each bot's first message is its number 1, as a bot of its own would send.
    for (const id of ids) expect(group.messages.find((m) => m.sender === id)?.seq).toBe(1);
    // Which directory is which bot: each bot uploads its own notes.
    const victim = ids[0] as string;

    const sup = start(
      "supervisor",
      [...common, "-uploadWait=10"],
      supDir,
      `WAIT 1\nPING *\nUPLD * notes.txt\nWAIT 2\nKILL ${victim}\nWAIT 1.5\nRSET *\nWAIT 1.5\n`,
    );
    expect(await sup.exited).toBe(0);
    const out = sup.output();
    const uploaded = new Map<string, string>();
    for (const id of ids) {
      expect(out).toContain(`+ ${id} joined`);
      const file = join(supDir, "uploads", `${id}_notes.txt`);
      expect(existsSync(file), `${id}'s upload`).toBe(true);
      uploaded.set(id, readFileSync(file, "utf8"));
    }
    // Four different files: each bot's upload root is its own directory.
    expect(new Set(uploaded.values()).size).toBe(4);
    for (const [id, text] of uploaded)
      expect(text).toMatch(new RegExp(`^200 ${id}:notes\\.txt\\nnotes of bot [1-4]\\n$`));

    // The KILL ended that bot alone: 255, killed, in its own directory; the host goes on.
    expect(out).toContain(`- ${victim} left (killed)`);
    const victimDir = dirs.find((d) => exitRecord(d)?.id === victim) as string;
    expect(exitRecord(victimDir)).toEqual({ id: victim, status: 255, reason: "killed" });
    expect(readFileSync(join(victimDir, "results.data"), "utf8")).toBe("");
    expect(dirs.filter((d) => exitRecord(d) !== undefined)).toEqual([victimDir]);
    expect(alive(host.proc.pid as number)).toBe(true);
    // RSET * reached the three others, each answering under its own id.
    for (const id of ids.slice(1)) expect(host.output()).toContain(`Bot ${id} reset by HUMAN-`);
    expect(host.output()).not.toContain(`Bot ${victim} reset by`);

    // SIGTERM: every bot leaves with reason signal, then the host exits 0.
    host.proc.kill("SIGTERM");
    expect(await host.exited).toBe(0);
    const records = dirs.map(exitRecord);
    expect(records.map((r) => r.reason).sort()).toEqual(["killed", "signal", "signal", "signal"]);
    expect(new Set(records.map((r) => r.id))).toEqual(new Set(ids));
    await until(
      "every bot's EXIT",
      () => new Set(group.messages.filter((m) => m.opcode === "EXIT").map((m) => m.sender)).size === 4,
    );
    for (const m of group.messages.filter((x) => x.opcode === "EXIT" && x.sender !== victim)) {
      expect(m.tags.reason).toBe("signal");
    }
    // One log for the process: every bot's lines, each with its id.
    for (const id of ids) expect(host.output()).toContain(`Bot ${id} activated {"bot":"${id}"}`);
  });
});
