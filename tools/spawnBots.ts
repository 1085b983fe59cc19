/**
 * spawnBots: `spawnBots N [-y] [-tail] [-grace=S] [-perProcess=K] [bot options]`. Makes a fresh
 * run directory <tmpdir>/mcastbots-spawnBots-XXXXXX, makes N bot directories BotNNN there
 * copied from <repo>/proto/, runs the bots (one process each up to PACK_ABOVE bots, else packed
 * into bot hosts: `node dnabot -hostList=FILE`) until they have all ended, reports how each
 * ended and leaves the directories for reading. Ctrl-C or SIGTERM stops them cleanly (a second
 * one: at once). A program as a function (tools/bin/spawnBots.js launches it).
 */
import { join } from "node:path";
import cliProgress from "cli-progress";
import type { ProgramIO } from "../shared/cli.js";
import { t } from "../shared/i18n.js";
import {
  botDirName,
  defaultGraceSeconds,
  defaultPerProcess,
  HOST_BOTS,
  nodeBotCommand,
  OUTPUT_FILE,
  PACK_ABOVE,
  repoRoot,
} from "./botfleet.js";
import { botConfig, FleetRun, runTool, ToolExit, tempBase, toolArgs } from "./fleet_run.js";
import { botLabel, endedLine, tallyLine } from "./fleet_text.js";
import { initToolLanguage, sleep, withDefaultLogFlags } from "./toolargs.js";

const PROG = "spawnBots";
/** Above this many bots, warn and wait before starting (as the original did). */
const MANY = 16;
const UNDO_SECONDS = 5;
const MAX_BOTS = 20_000;

function usage(env: NodeJS.ProcessEnv): string {
  return [
    t("Usage: spawnBots N [-y] [-tail] [-grace=S] [-perProcess=K] [bot options]"),
    t("Starts N DNABots, each in its own directory BotNNN copied from proto/, in a new directory {{dir}}.", {
      dir: join(tempBase(env), "mcastbots-spawnBots-XXXXXX"),
    }),
    "",
    `  -y             ${t("do not wait {{n}} seconds before starting more than {{many}} bots", { n: UNDO_SECONDS, many: MANY })}`,
    `  -tail          ${t("also print every bot's output here, each line prefixed with the bot's id")}`,
    `  -grace=S       ${t("seconds a bot gets to leave after SIGTERM before SIGKILL [5; a host: 10 and 2 ms per bot]")}`,
    `  -perProcess=K  ${t("bots per process: 1 runs each bot as its own program; more packs them into bot hosts [1 up to {{above}} bots, then up to {{host}} per host]", { above: PACK_ABOVE, host: HOST_BOTS })}`,
    `  -help          ${t("print this help and exit")}`,
    "",
    t("Bot options (default -fg -debug) are passed to every bot, e.g. -lifespan=30 -heartbeat=2 -lang=fr."),
    t("Each bot's output goes to {{file}} in its directory (a host's to HostN.out in the run directory).", {
      file: OUTPUT_FILE,
    }),
    t("Ctrl-C stops every bot; a second Ctrl-C kills them."),
    "",
  ].join("\n");
}

export function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  return runTool(io, () => spawnBots(argv, env, io));
}

async function spawnBots(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  initToolLanguage(argv, env);
  const args = toolArgs(PROG, argv, { flags: ["y", "tail"], values: ["grace", "perProcess"] });
  if (args.flags.has("help")) {
    io.stdout.write(usage(env));
    return 0;
  }
  const nText = args.positional[0];
  const count = Number(nText);
  if (nText === undefined || !/^\d+$/.test(nText) || count < 1 || count > MAX_BOTS || args.positional.length > 1) {
    throw new ToolExit(
      t("{{prog}}: give the number of bots, a whole number from 1 to {{max}} (got {{value}}); -help for usage", {
        prog: PROG,
        max: MAX_BOTS,
        value: JSON.stringify(args.positional.join(" ")),
      }),
      2,
    );
  }
  const graceText = args.values.get("grace");
  const grace = graceText === undefined ? undefined : Number(graceText);
  if (graceText !== undefined && (!Number.isFinite(grace) || grace! < 0 || graceText.trim() === "")) {
    throw new ToolExit(
      t("{{prog}}: -grace must be a number of seconds, not {{value}}", { prog: PROG, value: graceText }),
      2,
    );
  }
  const perText = args.values.get("perProcess");
  const perProcess = perText === undefined ? defaultPerProcess(count) : Number(perText);
  if (perText !== undefined && (!/^\d+$/.test(perText) || perProcess < 1)) {
    throw new ToolExit(
      t("{{prog}}: -perProcess must be a whole number of bots from 1, not {{value}}", { prog: PROG, value: perText }),
      2,
    );
  }
  const botArgs = withDefaultLogFlags(args.botArgs);
  botConfig(PROG, botArgs, io.stderr);

  if (count > MANY && !args.flags.has("y")) {
    io.stdout.write(`${t("{{n}} is a lot of bots.", { n: count })}\n`);
    io.stdout.write(`${t("You have {{s}} seconds to press Ctrl-C (-y skips this wait).", { s: UNDO_SECONDS })}\n`);
    let stop = false;
    const off = io.onSignal(() => {
      stop = true;
    });
    await sleep(UNDO_SECONDS * 1000);
    off();
    if (stop) return 130;
  }

  const repo = repoRoot();
  const run = new FleetRun(
    PROG,
    {
      count,
      prefix: "Bot",
      protoDir: join(repo, "proto"),
      perProcess,
      command: () => nodeBotCommand(repo, botArgs),
      hostCommand: (list) => nodeBotCommand(repo, [`-hostList=${list}`, ...botArgs]),
      tail: args.flags.has("tail"),
      graceMs: (grace ?? defaultGraceSeconds(perProcess)) * 1000,
    },
    "keep",
    io,
    env,
  );
  try {
    const { fleet, runDir } = run;
    run.stopOnSignals(() =>
      t("Stopping {{count, number}} bots (again to kill them at once)...", {
        count: fleet.running.reduce((n, p) => n + p.bots.length, 0),
      }),
    );

    const bar =
      io.stdout.isTTY && !args.flags.has("tail")
        ? new cliProgress.SingleBar(
            {
              format: `${t("Starting bots")} [{bar}] {value}/{total}`,
              hideCursor: true,
              clearOnComplete: false,
              stream: io.stdout as NodeJS.WritableStream,
            },
            cliProgress.Presets.shades_classic,
          )
        : undefined;
    io.stdout.write(
      `${
        fleet.perProcess === 1
          ? t("Starting {{count, number}} bots in {{dir}}...", { count, dir: runDir })
          : t("Starting {{count, number}} bots in {{dir}}, {{per}} per process in {{hosts}} bot hosts...", {
              count,
              dir: runDir,
              per: fleet.perProcess,
              hosts: fleet.processes.length,
            })
      }\n`,
    );
    bar?.start(count, 0);

    fleet.on("spawned", (p) => {
      if (bar) bar.increment(p.bots.length);
      else if (p.listFile)
        io.stdout.write(
          `${t("Host #{{i}} with {{count, number}} bots, log {{log}} (pid {{pid}})", { i: p.index, count: p.bots.length, log: p.outFile, pid: p.pid })}\n`,
        );
      else io.stdout.write(`${t("Bot #{{i}} in {{dir}} (pid {{pid}})", { i: p.index, dir: p.dir, pid: p.pid })}\n`);
    });
    fleet.on("spawnError", () => bar?.stop());
    fleet.on("line", (p, line) => io.stdout.write(`[${botLabel(p)}] ${line}\n`));
    fleet.on("botEnded", (b) => io.stdout.write(`${endedLine(b)}\n`));

    await fleet.start();
    bar?.stop();
    if (fleet.started > 0 && !fleet.isStopping) {
      const pattern =
        fleet.perProcess === 1
          ? join(runDir, `${botDirName("Bot", count, count).replace(/\d/g, "N")}`, OUTPUT_FILE)
          : join(runDir, "HostN.out");
      io.stdout.write(
        `${t("{{count, number}} bots running; output in {{pattern}}. Ctrl-C stops them all.", { count: fleet.started, pattern })}\n`,
      );
    }
    await fleet.whenAllEnded();
    io.stdout.write(`${tallyLine(fleet.started, fleet.tally())}\n`);
    io.stdout.write(`${t("The bots' directories, output and results stay in {{dir}}.", { dir: runDir })}\n`);
    return run.status();
  } finally {
    run.close();
  }
}
