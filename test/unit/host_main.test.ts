/**
 * The bot-host program's wiring (list file, per-directory configuration, exit records, signals,
 * one log) run in-process over the in-memory network, with real temporary directories.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { botSeed, MAX_HOST_BOTS, parseHostList, runIdNumber, sharedKeyMismatch } from "../../dnabot/host_list.js";
import { type HostIo, runHost } from "../../dnabot/host_main.js";
import { Channel, Link, PlainEndpoint } from "../../shared/channel.js";
import { flushMicrotasks, ManualClock } from "../../shared/clock.js";
import type { ChanMessage } from "../../shared/codec.js";
import { loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { tempDir } from "../helpers/net.js";
import { sink } from "../helpers/sink.js";

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function fixture(n: number, ini: (i: number) => string = () => "[DNABot]\nbackoff = 1\nheartbeat = 5\n") {
  const { dir, cleanup } = tempDir("mcastbots-host-");
  cleanups.push(cleanup);
  const dirs: string[] = [];
  for (let i = 1; i <= n; i++) {
    const d = join(dir, `Bot${i}`);
    mkdirSync(d);
    writeFileSync(join(d, "dnabot.ini"), ini(i));
    dirs.push(d);
  }
  // Relative names: relative to the list file's directory.
  writeFileSync(
    join(dir, "hosts.txt"),
    `# three bots\n${dirs.map((d, i) => (i === 0 ? d : `Bot${i + 1}`)).join("\n")}\n\n`,
  );
  return { dir, dirs, list: join(dir, "hosts.txt") };
}

function world(cwd: string) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const out = sink();
  const err = sink();
  let signal: ((s: string) => void) | undefined;
  const sup = new Channel(net.endpoint("127.0.0.9"), { id: "HUMAN-77" });
  const heard: ChanMessage[] = [];
  sup.on("message", (m) => heard.push(m));
  const io: HostIo = {
    cwd,
    stdout: out.stream,
    stderr: err.stream,
    clock,
    openEndpoint: async () => new PlainEndpoint(new Link(net.endpoint("127.0.0.2"))),
    onSignal: (fn) => {
      signal = fn;
      return () => {
        signal = undefined;
      };
    },
  };
  return {
    io,
    clock,
    sup,
    heard,
    stdout: out.text,
    stderr: err.text,
    signal: (s: string) => signal?.(s),
    run: async (ms: number) => {
      await flushMicrotasks();
      await clock.run(ms, 10);
    },
  };
}

const args = (listFile: string, overrides: Record<string, string> = {}) => ({
  listFile,
  overrides: { discovery: "0", frankenstein: "0", ...overrides },
  configFile: undefined,
  fg: true,
  level: "info" as const,
});

describe("host list", () => {
  it("reads one directory per line, relative to the list's directory, skipping blanks and # lines", () => {
    const r = parseHostList(" /a/b \n# x\n\nc\r\n../d\n", "/lists");
    expect(r).toEqual({ ok: true, dirs: ["/a/b", "/lists/c", "/d"] });
  });

  it("refuses an empty list, a directory named twice, and more bots than a host can name", () => {
    expect(parseHostList("# nothing\n\n", "/")).toEqual({ ok: false, problem: { kind: "empty" } });
    expect(parseHostList("/a\n/b\n/a/\n", "/")).toEqual({
      ok: false,
      problem: { kind: "duplicate", line: 3, dir: "/a/" },
    });
    const many = Array.from({ length: MAX_HOST_BOTS + 1 }, (_, i) => `/b${i}`).join("\n");
    expect(parseHostList(many, "/")).toMatchObject({ ok: false, problem: { kind: "too-many" } });
  });

  it("names the first key the bots of one host must share but do not, and gives each bot its own seed", () => {
    const a = loadConfig({ overrides: {}, readFile: () => undefined }).config;
    expect(sharedKeyMismatch(a, { ...a, lifespan: 5 })).toBeUndefined();
    expect(sharedKeyMismatch(a, { ...a, chanPort: 9 })).toBe("chanPort");
    expect(new Set([0, 1, 2, 3].map((i) => botSeed(7, i))).size).toBe(4);
    expect(botSeed(7, 2)).toBe(botSeed(7, 2));
  });
});

describe("ids of a run's numbered bot directories", () => {
  it("are distinct across the run however the bots are split into hosts, and differ between runs", () => {
    const run = (parent: string) =>
      Array.from({ length: 65_535 }, (_, i) => runIdNumber(`${parent}/Bot${String(i + 1).padStart(5, "0")}`));
    const a = run("/tmp/mcastbots-load-abc");
    expect(new Set(a).size).toBe(65_535);
    for (const n of a) expect(n).toBeGreaterThanOrEqual(1);
    for (const n of a) expect(n).toBeLessThanOrEqual(65_535);
    const b = run("/tmp/mcastbots-load-xyz");
    expect(a.slice(0, 100)).not.toEqual(b.slice(0, 100));
    expect(runIdNumber("/tmp/run/notes")).toBeUndefined();
    expect(runIdNumber("/tmp/run/Bot0")).toBeUndefined();
    expect(runIdNumber("/tmp/run/Bot65536")).toBeUndefined();
  });
});

describe("the host program", () => {
  it("runs a bot per listed directory, records each ending in DIR/exit.json, and returns 0 after the last", async () => {
    const f = fixture(3);
    const w = world(f.dir);
    const done = runHost(args("hosts.txt"), w.io);
    await w.run(1_500);
    const beats = new Set(w.heard.filter((m) => m.opcode === "BEAT").map((m) => m.sender));
    expect(beats.size).toBe(3);
    for (const d of f.dirs) expect(readFileSync(join(d, "results.data"), "utf8")).toBe("");
    // KILL one: it alone ends, 255 killed.
    const [victim] = [...beats] as [string];
    w.sup.send("KILL", victim);
    await w.run(2_000);
    const exits = f.dirs.map((d) =>
      existsSync(join(d, "exit.json")) ? JSON.parse(readFileSync(join(d, "exit.json"), "utf8")) : undefined,
    );
    expect(exits.filter(Boolean)).toEqual([{ id: victim, status: 255, reason: "killed" }]);
    // A signal: the others leave with reason signal, then the host returns 0.
    w.signal("SIGTERM");
    await w.run(2_000);
    expect(await done).toBe(0);
    const all = f.dirs.map((d) => JSON.parse(readFileSync(join(d, "exit.json"), "utf8")));
    expect(all.map((e) => e.reason).sort()).toEqual(["killed", "signal", "signal"]);
    expect(new Set(all.map((e) => e.id))).toEqual(beats);
    // One log, every bot line carrying the bot's id.
    for (const id of beats) expect(w.stdout()).toContain(`Bot ${id} activated {"bot":"${id}"}`);
    expect(w.stderr()).toBe("");
  });

  it("configures each bot from its own dnabot.ini, the command line on top", async () => {
    const f = fixture(2, (i) => `[DNABot]\nbackoff = 1\nresults = found${i}.txt\n`);
    const w = world(f.dir);
    const done = runHost(args(f.list), w.io);
    await w.run(1_500);
    expect(readFileSync(join(f.dirs[0] as string, "found1.txt"), "utf8")).toBe("");
    expect(readFileSync(join(f.dirs[1] as string, "found2.txt"), "utf8")).toBe("");
    w.signal("SIGINT");
    await w.run(2_000);
    expect(await done).toBe(0);
  });

  it("refuses, with one line and status 2, a missing list, a missing directory, a bad value and bots that cannot share a channel", async () => {
    const f = fixture(2, (i) => `[DNABot]\nchanPort = ${8400 + i}\n`);
    const w = world(f.dir);
    expect(await runHost(args("nope.txt"), w.io)).toBe(2);
    expect(w.stderr()).toMatch(/^dnabot: cannot read the host list nope.txt: ENOENT\n$/);
    expect(await runHost(args(f.list), w.io)).toBe(2);
    expect(w.stderr().split("\n")[1]).toMatch(
      /Bot2: chanPort=8402 differs from 8401 in .*Bot1; the bots of one host share one channel$/,
    );
    writeFileSync(f.list, `${f.dirs[0]}\nmissing\n`);
    expect(await runHost(args(f.list), w.io)).toBe(2);
    expect(w.stderr()).toContain("missing in the host list is not a directory");
    writeFileSync(f.list, `${f.dirs[0]}\n`);
    expect(await runHost(args(f.list, { lifespan: "soon" }), w.io)).toBe(2);
    expect(w.stderr()).toContain("bad configuration lifespan=");
    expect(w.stderr().trim().split("\n")).toHaveLength(4);
  });
});
