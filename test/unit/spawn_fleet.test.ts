/** The pure parts of the fleet tools: names, endings, directory safety, argument splitting. */
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  botDirName,
  classifyEnding,
  detectBotId,
  FleetError,
  isReplaceableBotDir,
  MARKER,
  prepareBotDir,
} from "../../tools/botfleet.js";
import { parseCpuTicks, parseStatusKb } from "../../tools/procstats.js";
import { splitToolArgs, withDefaultLogFlags } from "../../tools/toolargs.js";
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

describe("bot directories", () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it("replaces a directory of ours and keeps the prototype's files", () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const proto = join(tmp.dir, "proto");
    mkdirSync(proto);
    writeFileSync(join(proto, "dnabot.ini"), "[DNABot]\n");
    const bot = join(tmp.dir, "Bot1");
    prepareBotDir(bot, tmp.dir, "Bot", proto);
    writeFileSync(join(bot, "results.data"), "old\n");
    prepareBotDir(bot, tmp.dir, "Bot", proto);
    expect(isReplaceableBotDir(bot, tmp.dir, "Bot")).toBe(true);
    expect(() => writeFileSync(join(bot, MARKER), "x", { flag: "wx" })).toThrow();
    expect(() => writeFileSync(join(bot, "results.data"), "x", { flag: "wx" })).not.toThrow();
  });

  it("refuses anything that does not look like a bot directory", () => {
    const tmp = tempDir();
    cleanup = tmp.cleanup;
    const precious = join(tmp.dir, "Bot1");
    mkdirSync(precious);
    writeFileSync(join(precious, "thesis.tex"), "years of work\n");
    expect(isReplaceableBotDir(precious, tmp.dir, "Bot")).toBe(false);
    expect(() => prepareBotDir(precious, tmp.dir, "Bot", undefined)).toThrow(FleetError);
    // A file, a link and a wrong name are never ours either.
    writeFileSync(join(tmp.dir, "Bot2"), "a file");
    expect(isReplaceableBotDir(join(tmp.dir, "Bot2"), tmp.dir, "Bot")).toBe(false);
    const target = join(tmp.dir, "target");
    mkdirSync(target);
    writeFileSync(join(target, MARKER), "");
    symlinkSync(target, join(tmp.dir, "Bot3"));
    expect(isReplaceableBotDir(join(tmp.dir, "Bot3"), tmp.dir, "Bot")).toBe(false);
    expect(isReplaceableBotDir(target, tmp.dir, "Bot")).toBe(false);
  });
});

describe("splitToolArgs", () => {
  it("takes the tool's own flags out and passes the rest to the bots", () => {
    const a = splitToolArgs(
      ["12", "-y", "-lifespan=5", "-tail", "-grace=2", "-config", "x.ini", "-fg"],
      ["y", "tail"],
      ["grace"],
    );
    expect(a.positional).toEqual(["12"]);
    expect([...a.flags]).toEqual(["y", "tail"]);
    expect(a.values.get("grace")).toBe("2");
    expect(a.botArgs).toEqual(["-lifespan=5", "-config", "x.ini", "-fg"]);
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
