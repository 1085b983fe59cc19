/**
 * `npm run demo [-- -bots=N] [options]`: a newcomer's first look. A handful of lively bots in
 * the background and a supervisor in the foreground, on the host-local group at a free port of
 * their own (so two demos, or a demo and the tests, never meet), all in a fresh run directory
 * <tmpdir>/mcastbots-demo-XXXXXX: the bots in DemoBotN (output in bot.out there; a bot that
 * leaves is replaced after a few seconds by a new one in a new directory), the supervisor's
 * uploads in uploads/. When the supervisor ends (QUIT, Ctrl-D, Ctrl-C, or the end of piped
 * input) the bots are stopped, how each one ended is counted, their directories are removed and
 * the uploads kept.
 *
 * Options that are configuration keys both programs know (-chanPort=, -lang=, ...) go to the
 * bots and the supervisor; anything else (-quiet, -uploadDir=, ...) only to the supervisor.
 * A program as a function (tools/bin/demo.js launches it).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { ProgramIO } from "../shared/cli.js";
import { canonicalKey, PRESETS, presetArgs } from "../shared/config.js";
import { t } from "../shared/i18n.js";
import { SUPERVISOR_FLAGS, SUPERVISOR_KEYS, SUPERVISOR_OWN_KEYS } from "../supervisor/options.js";
import { nodeBotCommand, nodeProgramCommand, OUTPUT_FILE, repoRoot } from "./botfleet.js";
import { botConfig, FleetRun, runTool, ToolExit, toolArgs } from "./fleet_run.js";
import { tallyLine } from "./fleet_text.js";
import { freeUdpPort } from "./ports.js";
import { initToolLanguage } from "./toolargs.js";

const PROG = "demo";
const DEFAULT_BOTS = 5;
/** Lively settings, so something happens within seconds. Options given later win. */
const LIVELY = ["-fg", "-debug", ...presetArgs(PRESETS.demo)];
/** Seconds before a bot that left is replaced. */
const RESPAWN_DELAY = 5;

export function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  return runTool(io, () => demo(argv, env, io));
}

async function demo(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  initToolLanguage(argv, env);
  const args = toolArgs(PROG, argv, {
    flags: [],
    values: ["bots", "uploadDir"],
    passFlags: Object.keys(SUPERVISOR_FLAGS),
    passValues: Object.keys(SUPERVISOR_OWN_KEYS).filter((k) => k !== "uploadDir"),
  });
  if (args.flags.has("help") || args.positional.length > 0) {
    io.stdout.write(
      `${[
        t("Usage: npm run demo -- [-bots=N] [options]"),
        t(
          "Starts {{count, number}} bots in the background and a supervisor in the foreground on this computer's group.",
          {
            count: DEFAULT_BOTS,
          },
        ),
        t("The group port is a free one unless -chanPort=N is given; uploads go to the run's uploads folder."),
        t(
          "Configuration options (-chanPort=N, -lang=fr, ...) go to both; others (-quiet, -uploadDir=DIR) to the supervisor.",
        ),
      ].join("\n")}\n`,
    );
    return args.positional.length > 0 ? 2 : 0;
  }
  const botsText = args.values.get("bots") ?? String(DEFAULT_BOTS);
  const count = Number(botsText);
  if (!/^\d+$/.test(botsText) || count < 1 || count > 50) {
    throw new ToolExit(
      t("{{prog}}: -bots must be a whole number from 1 to 50, not {{value}}", { prog: PROG, value: botsText }),
      2,
    );
  }

  /** The bots' -key=value options go to the bots too (their flags: LIVELY's). */
  const keyOption = (arg: string) => /^-[A-Za-z]\w*=/.test(arg);
  /** The value of -key=value among the options, if given (the last one wins, as for the programs). */
  function given(key: string): string | undefined {
    const re = new RegExp(`^--?${key}=(.*)$`, "is");
    return args.botArgs
      .map((a) => re.exec(a)?.[1])
      .filter((v) => v !== undefined)
      .pop();
  }

  // A group port of our own unless one was asked for: two demos on one computer never meet.
  const ownPort = given("chanPort") === undefined ? [`-chanPort=${await freeUdpPort()}`] : [];
  const forBots = [...ownPort, ...args.botArgs.filter(keyOption)];
  const config = botConfig(PROG, [...LIVELY, ...forBots]);

  const repo = repoRoot();
  const run = new FleetRun(
    PROG,
    {
      count,
      prefix: "DemoBot",
      protoDir: join(repo, "proto"),
      // Staggered lifespans: bots leave (and are replaced) one at a time, every half minute or so.
      command: (_dir, i) =>
        nodeBotCommand(repo, [...LIVELY, `-lifespan=${60 + 30 * (1 + ((i - 1) % count))}`, ...forBots]),
    },
    // The bots' directories are ours, made in this run: they go at the end; the uploads stay.
    (r) => {
      for (const b of r.fleet.bots) rmSync(b.dir, { recursive: true, force: true });
      if (readdirSync(r.runDir).length === 0) rmSync(r.runDir, { recursive: true, force: true });
    },
    io,
    env,
  );
  let supervisor: ChildProcess | undefined;
  try {
    const { fleet, runDir } = run;
    const uploadDir = resolve(io.cwd, args.values.get("uploadDir") ?? join(runDir, "uploads"));
    /** The bots' keys the supervisor reads (it refuses the others): the group's. */
    function forSupervisor(arg: string): boolean {
      const m = /^-([A-Za-z]\w*)=/.exec(arg);
      return m === null || canonicalKey(SUPERVISOR_KEYS, m[1]!) !== undefined;
    }
    const supervisorArgs = [
      ...ownPort,
      ...args.botArgs.filter(forSupervisor),
      ...args.passArgs,
      `-uploadDir=${uploadDir}`,
    ];

    // Ctrl-C at the terminal reaches the supervisor too (same process group): it decides; we follow.
    // SIGTERM is passed on to it.
    const offSignal = io.onSignal((sig) => {
      if (sig === "SIGINT") return;
      if (supervisor && supervisor.exitCode === null) supervisor.kill("SIGTERM");
      else void fleet.stop();
    });

    const group = `${config.chanAddr} port ${config.chanPort}`;
    const watch = [
      "node supervisor",
      `-chanPort=${config.chanPort}`,
      ...(given("chanAddr") !== undefined ? [`-chanAddr=${config.chanAddr}`] : []),
      ...(given("chanIface") !== undefined ? [`-chanIface=${config.chanIface}`] : []),
    ].join(" ");
    io.stdout.write(
      `${[
        t(
          "Demo: {{count, number}} bots join group {{group}} on this computer; their logs are {{logs}} while the demo runs.",
          {
            count,
            group,
            logs: join(runDir, "DemoBotN", OUTPUT_FILE),
          },
        ),
        t("Uploads are saved in {{dir}}", { dir: uploadDir }),
        t("To watch from another terminal: {{command}}", { command: watch }),
        t(
          "Type HELP for the commands (try PING *, WHO, UPLD <id>, KILL <id>); QUIT or Ctrl-D leaves and stops the bots.",
        ),
      ].join("\n")}\n\n`,
    );

    const sup = nodeProgramCommand(repo, join(repo, "supervisor"), supervisorArgs);
    // In the run directory: it reads no dnabot.ini of the user's.
    supervisor = spawn(sup.file, sup.args, {
      cwd: runDir,
      env: { ...env, MCASTBOTS_PARENT_FD: "3" },
      stdio: ["inherit", "inherit", "inherit", "pipe"],
    });
    const supervisorEnded = new Promise<number>((done) => {
      supervisor?.once("exit", (code, signal) => done(code ?? (signal ? 1 : 0)));
      supervisor?.once("error", (e) => {
        io.stderr.write(`${t("{{prog}}: cannot start the supervisor: {{error}}", { prog: PROG, error: e.message })}\n`);
        done(1);
      });
    });

    fleet.on("botEnded", (b) => {
      if (fleet.isStopping) return;
      setTimeout(() => {
        fleet
          .replace(b)
          .catch((e: Error) =>
            io.stderr.write(
              `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog: PROG, name: b.name, error: e.message })}\n`,
            ),
          );
      }, RESPAWN_DELAY * 1000).unref();
    });
    void fleet.start();

    const code = await supervisorEnded;
    await fleet.stop();
    io.stdout.write(`${tallyLine(fleet.started, fleet.tally())}\n`);
    if (existsSync(uploadDir) && readdirSync(uploadDir, { withFileTypes: true }).some((e) => e.isFile()))
      io.stdout.write(`${t("The uploads stay in {{dir}}", { dir: uploadDir })}\n`);
    offSignal();
    return code;
  } finally {
    if (supervisor && supervisor.exitCode === null && supervisor.signalCode === null) supervisor.kill("SIGKILL");
    run.close();
  }
}
