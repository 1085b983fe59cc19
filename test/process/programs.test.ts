/**
 * The entry points as users run them: `node dnabot` and `node supervisor` from the repository
 * root, through their launchers. -help prints usage (exit 0); every configuration mistake, unknown
 * option or stray word is exactly one line on stderr and exit status 2, and nothing is started.
 * (The wiring itself is tested in-process: test/unit/programs.test.ts.)
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { KEYS } from "../../shared/config.js";
import { SUPERVISOR_KEYS } from "../../supervisor/options.js";
import { freeTcpPort, freeUdpPort, REPO, tempDir } from "../helpers/net.js";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Run a program to completion in English, in `cwd` (an empty directory unless told). */
function run(prog: "dnabot" | "supervisor", args: string[], cwd = tmp.dir) {
  const r = spawnSync(process.execPath, [join(REPO, prog), ...args], {
    cwd,
    env: { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, errLines: r.stderr.split("\n").filter(Boolean) };
}

describe("-help", () => {
  it.each(["dnabot", "supervisor"] as const)("node %s -help prints usage and exits 0", (prog) => {
    const r = run(prog, ["-help"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.startsWith(`Usage: ${prog} [options] [-key=value ...]\n`)).toBe(true);
    for (const k of Object.keys(prog === "dnabot" ? KEYS : SUPERVISOR_KEYS))
      expect(r.stdout).toMatch(new RegExp(`^  ${k} `, "m"));
    expect(r.stdout).toContain("  -fg ");
    expect(r.stdout).toContain("  -config FILE");
  });

  it("the supervisor's usage lists its own keys and flags", () => {
    const r = run("supervisor", ["-h"]);
    expect(r.status).toBe(0);
    for (const k of ["supervisorId", "uploadDir", "accessLog", "errorLog", "-quiet"]) expect(r.stdout).toContain(k);
  });

  it.each(["dnabot", "supervisor"] as const)("node %s --version prints the version and exits 0", (prog) => {
    const version = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version;
    for (const v of ["-version", "--version"])
      expect(run(prog, [v])).toMatchObject({ status: 0, stdout: `${prog} ${version}\n`, stderr: "" });
  });

  it("-help wins over a bad value, and runs nothing", () => {
    const r = run("dnabot", ["-chanPort=70000", "-help"]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe("");
  });
});

describe("refusals through the launcher: one line on stderr, exit 2, nothing started", () => {
  // Every case is tested in-process (test/unit/programs.test.ts); these show the launcher's status.
  const cases: [string[], string][] = [
    [["-chanPort=70000"], 'dnabot: bad configuration chanPort="70000" (command line): a port must be from 1 to 65535'],
    [["-debgu"], "dnabot: unknown option -debgu (did you mean -debug?)"],
    [["-fg", "stray"], 'dnabot: unexpected argument "stray"; options start with -, e.g. -lifespan=30'],
  ];
  it.each(cases)("node dnabot %j", (args, line) => {
    const r = run("dnabot", args);
    expect(r.errLines).toEqual([line]);
    expect(r.stdout).toBe("");
    expect(r.status).toBe(2);
    // Nothing started: no log, no results file where it was run.
    expect(readdirSync(tmp.dir)).toEqual([]);
  });

  it("the supervisor reports them the same way", () => {
    const r = run("supervisor", ["-chanPort=70000"]);
    expect(r.errLines).toEqual([
      'supervisor: bad configuration chanPort="70000" (command line): a port must be from 1 to 65535',
    ]);
    expect(r.status).toBe(2);
  });
});

describe("warnings and the sign of life", () => {
  it("an unknown key in the file is named on stderr, the bot runs and says where it logs", async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.dir, "dnabot.ini"), "[DNABot]\nlifespn = 9\nlifespan = 0.2\n");
      const r = run(
        "dnabot",
        ["-backoff=0.01", `-chanPort=${await freeUdpPort()}`, `-filePort=${await freeTcpPort()}`],
        dir.dir,
      );
      expect(r.status).toBe(0);
      expect(r.errLines).toEqual([
        "dnabot: warning: unknown configuration key lifespn in file ./dnabot.ini (did you mean lifespan?), ignored",
        expect.stringMatching(/^dnabot: bot [0-9A-F]{8} running, log in .*dnabot\.log \(-fg logs here\)$/),
      ]);
    } finally {
      dir.cleanup();
    }
  });
});
