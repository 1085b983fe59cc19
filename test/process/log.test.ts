/**
 * Logging: -fg gives readable lines on the console, otherwise JSON lines are appended to
 * ./dnabot.log; default level warn, -info, -debug. Unit tests of createLogger, then the real bot.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createLogger } from "../../shared/log.js";
import { freeTcpPort, freeUdpPort, REPO, tempDir } from "../helpers/net.js";
import { sink } from "../helpers/sink.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("createLogger", () => {
  it("pretty: one readable line per record, no JSON, level filtered", () => {
    const out = sink();
    const log = createLogger({ level: "warn", pretty: out.stream });
    log.info("not shown at warn");
    log.warn("Channel is quiet...");
    log.error({ code: "EADDRINUSE" }, "cannot bind");
    const lines = out.text().trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\] WARN: Channel is quiet\.\.\.$/);
    expect(lines[1]).toMatch(/ERROR: cannot bind/);
    expect(lines[1]).toContain("EADDRINUSE");
    expect(out.text()).not.toContain('"level"');
    // No colour codes when the stream is not a terminal.
    expect(out.text()).not.toContain("\u001b[");
  });

  it("levels: debug shows everything, info hides debug", () => {
    const d = sink();
    const debug = createLogger({ level: "debug", pretty: d.stream });
    debug.debug("d1");
    debug.info("i1");
    expect(d.text()).toMatch(/DEBUG: d1\n.*INFO: i1\n$/);
    const i = sink();
    const info = createLogger({ level: "info", pretty: i.stream });
    info.debug("d2");
    info.info("i2");
    expect(i.text()).not.toContain("d2");
    expect(i.text()).toContain("INFO: i2");
  });

  it("file: JSON lines appended, earlier content kept", () => {
    const file = join(tmp.dir, "unit.log");
    writeFileSync(file, '{"earlier":true}\n');
    const a = createLogger({ level: "info", file, base: { bot: "E26CB171" } });
    a.info("first");
    a.debug("hidden");
    const b = createLogger({ level: "warn", file });
    b.warn("second");
    const lines = readFileSync(file, "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({ earlier: true });
    expect(lines[1]).toMatchObject({ level: 30, msg: "first", bot: "E26CB171" });
    expect(typeof lines[1].time).toBe("number");
    expect(lines[2]).toMatchObject({ level: 40, msg: "second" });
  });

  it("neither pretty nor file: silent", () => {
    expect(createLogger({ level: "debug" }).level).toBe("silent");
  });
});

describe("the bot's logging", () => {
  /** A bot that starts, beats once and leaves after its lifespan, on a free port, in `cwd`. */
  async function runBot(cwd: string, flags: string[]) {
    const args = [
      join(REPO, "dnabot"),
      ...flags,
      "-lifespan=0.3",
      "-backoff=0.01",
      `-chanPort=${await freeUdpPort()}`,
      `-filePort=${await freeTcpPort()}`,
    ];
    return spawnSync(process.execPath, args, {
      cwd,
      env: { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" },
      encoding: "utf8",
      timeout: 30_000,
    });
  }

  it("-fg: readable lines on stdout, no ./dnabot.log", async () => {
    const dir = tempDir();
    try {
      const r = await runBot(dir.dir, ["-fg", "-info"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/^\[\d\d:\d\d:\d\d\] INFO: Bot [0-9A-F]{8} activated$/m);
      expect(r.stdout).not.toContain('"level"');
      expect(existsSync(join(dir.dir, "dnabot.log"))).toBe(false);
    } finally {
      dir.cleanup();
    }
  });

  it("without -fg: JSON lines appended to ./dnabot.log in the working directory, nothing on stdout", async () => {
    const dir = tempDir();
    try {
      const log = join(dir.dir, "dnabot.log");
      writeFileSync(log, '{"msg":"from an earlier run"}\n');
      const r = await runBot(dir.dir, ["-info"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toBe("");
      const lines = readFileSync(log, "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines[0]).toEqual({ msg: "from an earlier run" });
      expect(lines.some((l) => l.level === 30 && /^Bot [0-9A-F]{8} activated$/.test(l.msg))).toBe(true);
      // Default level warn: a run without -info adds no info lines.
      const before = readFileSync(log, "utf8");
      const quiet = await runBot(dir.dir, []);
      expect(quiet.status).toBe(0);
      const added = readFileSync(log, "utf8").slice(before.length);
      expect(added.split("\n").filter((l) => l.includes('"level":30'))).toEqual([]);
    } finally {
      dir.cleanup();
    }
  });
});
