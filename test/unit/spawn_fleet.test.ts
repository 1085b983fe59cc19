/** The pure parts of the fleet tools: names, endings, directory safety, argument splitting. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import type { ProgramIO } from "../../shared/cli.js";
import {
  BotFleet,
  botDirName,
  classifyEnding,
  defaultGraceSeconds,
  defaultPerProcess,
  detectBotId,
  FleetError,
  HOST_BOTS,
  hostedEnding,
  makeBotDir,
  makeRunDir,
  PACK_ABOVE,
  packBots,
  parseExitRecord,
} from "../../tools/botfleet.js";
import { main as demoMain } from "../../tools/demo.js";
import { main as loadMain } from "../../tools/load.js";
import { parseCpuTicks, parseStatusKb } from "../../tools/procstats.js";
import { main as spawnBotsMain } from "../../tools/spawnBots.js";
import { checkBotArgs, parseToolArgs, withDefaultLogFlags } from "../../tools/toolargs.js";
import { tempDir } from "../helpers/net.js";

describe("botDirName", () => {
  it("pads to the width of N, as the original did", () => {
    expect(botDirName("Bot", 3, 3)).toBe("Bot3");
    expect(botDirName("Bot", 1, 10)).toBe("Bot01");
    expect(botDirName("Bot", 10, 10)).toBe("Bot10");
    expect(botDirName("Bot", 7, 200)).toBe("Bot007");
  });
});

describe("classifyEnding", () => {
  it("tells lifespan from a requested stop by whether we asked", () => {
    expect(classifyEnding(0, null, false, false)).toBe("lifespan");
    expect(classifyEnding(0, null, true, false)).toBe("signalled");
  });
  it("counts exit 255 as killed, SIGKILL after the grace as forced, the rest as crashed", () => {
    expect(classifyEnding(255, null, false, false)).toBe("killed");
    expect(classifyEnding(null, "SIGKILL", true, true)).toBe("forced");
    expect(classifyEnding(null, "SIGTERM", false, false)).toBe("signalled");
    expect(classifyEnding(1, null, false, false)).toBe("crashed");
    expect(classifyEnding(null, "SIGSEGV", false, false)).toBe("crashed");
    expect(classifyEnding(null, "SIGKILL", false, false)).toBe("crashed");
  });
});

describe("detectBotId", () => {
  it("finds the 8-hex id in a log line", () => {
    expect(detectBotId("[10:16:36] INFO: Bot BEEDB3A1 activated")).toBe("BEEDB3A1");
    expect(detectBotId("[10:16:36] DEBUG: delay start by 0.15 s")).toBeUndefined();
  });
});

describe("run and bot directories", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("makes a new run directory every time, never an existing one", () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const a = makeRunDir("spawnBots", tmp.dir);
    const b = makeRunDir("spawnBots", tmp.dir);
    expect(a).not.toBe(b);
    expect(dirname(a)).toBe(tmp.dir);
    expect(basename(a)).toMatch(/^mcastbots-spawnBots-/);
    expect(readdirSync(a)).toEqual([]);
  });

  it("copies the prototype into a new bot directory and refuses to reuse an existing one", () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const proto = join(tmp.dir, "proto");
    mkdirSync(proto);
    writeFileSync(join(proto, "dnabot.ini"), "[DNABot]\n");
    const bot = join(tmp.dir, "Bot1");
    makeBotDir(bot, proto);
    expect(readFileSync(join(bot, "dnabot.ini"), "utf8")).toBe("[DNABot]\n");
    writeFileSync(join(bot, "results.data"), "mine\n");
    expect(() => makeBotDir(bot, proto)).toThrow(/EEXIST/);
    expect(readFileSync(join(bot, "results.data"), "utf8")).toBe("mine\n");
    expect(() => makeBotDir(join(tmp.dir, "Bot2"), join(tmp.dir, "nope"))).toThrow(FleetError);
    expect(existsSync(join(tmp.dir, "Bot2"))).toBe(false);
  });

  it("gives a replacement its own new directory and keeps the one that ended in the tally", async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const runDir = makeRunDir("demo", tmp.dir);
    // `true` ends at once with status 0: a bot that reached its lifespan.
    const fleet = new BotFleet({
      count: 2,
      runDir,
      prefix: "DemoBot",
      protoDir: undefined,
      command: () => ({ file: "/bin/true", args: [] }),
    });
    fleet.prepare();
    await fleet.start();
    await fleet.whenAllEnded();
    writeFileSync(join(runDir, "DemoBot1", "bot.out"), "the first bot's last words\n", { flag: "a" });
    const next = await fleet.replace(fleet.bots[0]!);
    expect(next?.name).toBe("DemoBot3");
    await fleet.whenAllEnded();
    expect(readdirSync(runDir).sort()).toEqual(["DemoBot1", "DemoBot2", "DemoBot3"]);
    expect(readFileSync(join(runDir, "DemoBot1", "bot.out"), "utf8")).toContain("last words");
    expect(fleet.started).toBe(3);
    expect(fleet.tally()).toEqual({ lifespan: 3, killed: 0, signalled: 0, crashed: 0, forced: 0 });
    // A bot that has not ended is not replaced, and nothing is started once the fleet stops.
    await fleet.stop();
    expect(await fleet.replace(fleet.bots[1]!)).toBeUndefined();
    expect(fleet.bots).toHaveLength(3);
  });
});

describe("packing bots into processes", () => {
  it("runs each bot as its own process up to PACK_ABOVE bots, then in as few hosts as hold HOST_BOTS each", () => {
    expect(defaultPerProcess(1)).toBe(1);
    expect(defaultPerProcess(PACK_ABOVE)).toBe(1);
    expect(defaultPerProcess(PACK_ABOVE + 1)).toBe(PACK_ABOVE + 1);
    expect(defaultPerProcess(HOST_BOTS)).toBe(HOST_BOTS);
    // One bot more than a host holds: two hosts of about half each, not a full one and one bot.
    expect(defaultPerProcess(HOST_BOTS + 1)).toBe(Math.ceil((HOST_BOTS + 1) / 2));
    expect(Math.ceil(20_000 / defaultPerProcess(20_000))).toBe(2);
  });

  it("gives a host more time to stop its bots than a bot of its own", () => {
    expect(defaultGraceSeconds(1)).toBe(5);
    expect(defaultGraceSeconds(10_000)).toBe(30);
  });

  it("splits bots evenly, every bot exactly once, in order", () => {
    expect(packBots(7, 3)).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7],
    ]);
    expect(packBots(3, 1)).toEqual([[1], [2], [3]]);
    expect(packBots(2, 10)).toEqual([[1, 2]]);
    for (const [n, k] of [
      [20_000, 1001],
      [101, 7],
      [5, 5],
    ] as const) {
      const groups = packBots(n, k);
      expect(groups.flat()).toEqual(Array.from({ length: n }, (_, i) => i + 1));
      expect(Math.max(...groups.map((g) => g.length))).toBeLessThanOrEqual(k);
      expect(Math.max(...groups.map((g) => g.length)) - Math.min(...groups.map((g) => g.length))).toBeLessThanOrEqual(
        1,
      );
      expect(groups).toHaveLength(Math.ceil(n / k));
    }
  });
});

describe("a hosted bot's ending", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("reads exit.json, and ignores one that is not what a host writes", () => {
    expect(parseExitRecord('{"id":"0A1B2C3D","status":255,"reason":"killed"}\n')).toEqual({
      id: "0A1B2C3D",
      status: 255,
      reason: "killed",
    });
    expect(parseExitRecord('{"id":"0A1B2C3D","status":"0"}')).toBeUndefined();
    expect(parseExitRecord("null")).toBeUndefined();
    expect(parseExitRecord('{"id":"0A1B2C3D","sta')).toBeUndefined();
  });

  it("comes from its exit record when there is one, else from how its host ended", () => {
    const rec = (status: number, reason: string) => ({ id: "0A1B2C3D", status, reason });
    expect(hostedEnding(rec(0, "lifespan"), null, false)).toBe("lifespan");
    expect(hostedEnding(rec(255, "killed"), null, false)).toBe("killed");
    expect(hostedEnding(rec(0, "signal"), null, false)).toBe("signalled");
    expect(hostedEnding(rec(1, "error"), null, false)).toBe("crashed");
    // No record: the host died before the bot ended.
    expect(hostedEnding(undefined, "SIGKILL", true)).toBe("forced");
    expect(hostedEnding(undefined, "SIGKILL", false)).toBe("crashed");
    expect(hostedEnding(undefined, null, false)).toBe("crashed");
  });

  it("a fleet packed into hosts gives each host a list of its bots' directories and tallies every bot", async () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const runDir = makeRunDir("spawnBots", tmp.dir);
    // A stand-in host (contract 4): for each listed directory, an exit record; the last one none.
    const script = [
      'n=0; while read -r d; do n=$((n+1)); echo "bot $n in $d";',
      'case $n in 1) echo \'{"id":"00000001","status":0,"reason":"lifespan"}\' > "$d/exit.json";;',
      '2) echo \'{"id":"00000002","status":255,"reason":"killed"}\' > "$d/exit.json";; esac; done < "$1"',
    ].join(" ");
    const fleet = new BotFleet({
      count: 5,
      runDir,
      prefix: "Bot",
      protoDir: undefined,
      perProcess: 3,
      command: () => ({ file: "/bin/false", args: [] }),
      hostCommand: (list) => ({ file: "/bin/sh", args: ["-c", script, "host", list] }),
    });
    expect(fleet.processes.map((p) => p.bots.map((b) => b.name))).toEqual([
      ["Bot1", "Bot2", "Bot3"],
      ["Bot4", "Bot5"],
    ]);
    fleet.prepare();
    expect(readFileSync(join(runDir, "Host1.list"), "utf8")).toBe(
      `${["Bot1", "Bot2", "Bot3"].map((b) => join(runDir, b)).join("\n")}\n`,
    );
    await fleet.start();
    await fleet.whenAllEnded();
    expect(fleet.started).toBe(5);
    expect(fleet.processesStarted).toBe(2);
    // One log per host, every bot's directory of its own.
    expect(readFileSync(join(runDir, "Host2.out"), "utf8")).toBe(
      `bot 1 in ${join(runDir, "Bot4")}\nbot 2 in ${join(runDir, "Bot5")}\n`,
    );
    expect(fleet.bots.map((b) => b.id)).toEqual(["00000001", "00000002", undefined, "00000001", "00000002"]);
    // Each host's third bot left no record although its host exited 0: crashed.
    expect(fleet.tally()).toEqual({ lifespan: 2, killed: 2, signalled: 0, crashed: 1, forced: 0 });
  });
});

describe("parseToolArgs (the programs' parser, shared/cli.ts)", () => {
  it("takes the tool's own options out and passes the bots' on in a normal form", () => {
    const r = parseToolArgs(
      "spawnBots",
      ["12", "-y", "-LIFESPAN=5", "-tail", "-grace=2", "-config", "x.ini", "-fg", "--debug", "-lang=fr"],
      { flags: ["y", "tail"], values: ["grace"] },
    );
    if (!r.ok) throw new Error(r.error);
    expect(r.args.positional).toEqual(["12"]);
    expect([...r.args.flags].sort()).toEqual(["tail", "y"]);
    expect(r.args.values.get("grace")).toBe("2");
    expect(r.args.botArgs).toEqual(["-fg", "-debug", "-config", "x.ini", "-lifespan=5", "-lang=fr"]);
  });

  it("refuses an option nobody knows, in one line, and knows -h", () => {
    const r = parseToolArgs("spawnBots", ["3", "-lifespna=5"], { flags: [], values: [] });
    expect(r).toEqual({ ok: false, error: expect.stringMatching(/^spawnBots: unknown option -lifespna/) });
    const h = parseToolArgs("spawnBots", ["-h"], { flags: [], values: [] });
    expect(h.ok && h.args.flags.has("help")).toBe(true);
    expect(parseToolArgs("spawnBots", ["-config"], { flags: [], values: [] }).ok).toBe(false);
  });

  it("passes another program's options apart (the demo's supervisor)", () => {
    const r = parseToolArgs("demo", ["-quiet", "-uploadWait=3", "-chanPort=9000", "-bots=2"], {
      flags: [],
      values: ["bots"],
      passFlags: ["quiet"],
      passValues: ["uploadWait"],
    });
    if (!r.ok) throw new Error(r.error);
    expect(r.args.passArgs).toEqual(["-quiet", "-uploadWait=3"]);
    expect(r.args.botArgs).toEqual(["-chanPort=9000"]);
    expect(r.args.values.get("bots")).toBe("2");
  });

  it("checks the bots' values once, as a bot would", () => {
    const bad = checkBotArgs("spawnBots", ["-heartbeat=soon"]);
    expect(bad.ok).toBe(false);
    const good = checkBotArgs("spawnBots", ["-fg", "-heartbeat=2"]);
    expect(good.ok && good.config.heartbeat).toBe(2);
  });

  it("always logs to the output file (-fg), at debug level unless a level is given", () => {
    expect(withDefaultLogFlags(["-lifespan=5"])).toEqual(["-fg", "-debug", "-lifespan=5"]);
    expect(withDefaultLogFlags(["-info"])).toEqual(["-fg", "-info"]);
    expect(withDefaultLogFlags(["-fg", "-debug"])).toEqual(["-fg", "-debug"]);
  });
});

describe("/proc parsing", () => {
  it("reads VmHWM and VmRSS in kB", () => {
    const status = "Name:\tnode\nVmPeak:\t  999 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n";
    expect(parseStatusKb(status, "VmHWM")).toBe(51200);
    expect(parseStatusKb(status, "VmRSS")).toBe(40960);
    expect(parseStatusKb(status, "VmSwap")).toBeUndefined();
  });
  it("adds utime and stime, even when the command name has spaces and parentheses", () => {
    const stat = "1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 100 0 0";
    expect(parseCpuTicks(stat)).toBe(300);
  });
});

describe("the tools as functions: main(argv, env, io) → exit status", () => {
  function io(): ProgramIO & { out: () => string; err: () => string } {
    let out = "";
    let err = "";
    const sink = (add: (s: string) => void) =>
      new Writable({
        write(chunk, _enc, done) {
          add(String(chunk));
          done();
        },
      });
    return {
      stdout: sink((s) => {
        out += s;
      }),
      stderr: sink((s) => {
        err += s;
      }),
      stdin: Readable.from([]),
      cwd: process.cwd(),
      onSignal: () => () => {},
      out: () => out,
      err: () => err,
    };
  }
  const env = { LANG: "C" };

  it("-help prints the usage and returns 0; mistakes are one line and 2, nothing made", async () => {
    const tmp = tempDir();
    try {
      const e = { ...env, TMPDIR: tmp.dir };
      for (const [main, name] of [
        [spawnBotsMain, "spawnBots"],
        [loadMain, "load"],
        [demoMain, "demo"],
      ] as const) {
        const help = io();
        expect(await main(["-help"], e, help), name).toBe(0);
        expect(help.out()).toMatch(/^Usage: /);
        const typo = io();
        expect(await main(["3", "-lifespna=5"], e, typo), name).toBe(2);
        expect(typo.err()).toMatch(/unknown option -lifespna/);
        expect(typo.err().trim().split("\n")).toHaveLength(1);
      }
      const zero = io();
      expect(await spawnBotsMain(["0"], e, zero)).toBe(2);
      expect(zero.err()).toMatch(/whole number from 1 to 20000/);
      const bad = io();
      expect(await spawnBotsMain(["2", "-perProcess=0"], e, bad)).toBe(2);
      expect(readdirSync(tmp.dir)).toEqual([]);
    } finally {
      tmp.cleanup();
    }
  });
});
