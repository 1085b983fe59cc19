/**
 * `npm run demo [-- -bots=N] [options]`: a newcomer's first look. A handful of lively bots in
 * the background (each in <tmpdir>/DemoBotN, output in bot.out there; a bot that leaves is
 * replaced after a few seconds) and a supervisor in the foreground on the host-local group.
 * When the supervisor ends (QUIT, Ctrl-D, Ctrl-C, or the end of piped input) the bots are stopped.
 *
 * Options that are configuration keys both programs know (-chanPort=, -lang=, ...) go to the
 * bots and the supervisor; anything else (-quiet, -uploadDir=, ...) only to the supervisor.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KEYS } from "../shared/config.js";
import { t } from "../shared/i18n.js";
import { BotFleet, FleetError, nodeBotCommand, nodeProgramCommand, OUTPUT_FILE, repoRoot } from "./botfleet.js";
import { fleetErrorText, tallyLine } from "./fleet_text.js";
import { checkBotArgs, initToolLanguage, splitToolArgs } from "./toolargs.js";

const PROG = "demo";
const DEFAULT_BOTS = 5;
/** Lively settings, so something happens within seconds. Options given later win. */
const LIVELY = ["-fg", "-debug", "-heartbeat=3", "-backoff=2", "-discovery=0.05", "-frankenstein=0.005"];
/** Seconds before a bot that left is replaced. */
const RESPAWN_DELAY = 5;

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const args = splitToolArgs(process.argv.slice(2), ["help", "h"], ["bots"]);
initToolLanguage(args.botArgs);
if (args.flags.has("help") || args.flags.has("h") || args.positional.length > 0) {
  process.stdout.write(
    `${[
      t("Usage: npm run demo -- [-bots=N] [options]"),
      t("Starts {{n}} bots in the background and a supervisor in the foreground on this computer's group.", {
        n: DEFAULT_BOTS,
      }),
      t("Configuration options (-chanPort=8421, -lang=fr, ...) go to both; others (-quiet) to the supervisor."),
    ].join("\n")}\n`,
  );
  process.exit(args.positional.length > 0 ? 2 : 0);
}
const botsText = args.values.get("bots") ?? String(DEFAULT_BOTS);
const count = Number(botsText);
if (!/^\d+$/.test(botsText) || count < 1 || count > 50) {
  fail(t("{{prog}}: -bots must be a whole number from 1 to 50, not {{value}}", { prog: PROG, value: botsText }), 2);
}

/** Config keys both programs understand go to the bots too. */
function sharedWithBots(arg: string): boolean {
  const m = /^--?([A-Za-z]\w*)=/.exec(arg);
  return m !== null && Object.keys(KEYS).some((k) => k.toLowerCase() === m[1]!.toLowerCase());
}
const supervisorArgs = args.botArgs;
const forBots = args.botArgs.filter(sharedWithBots);
const config = checkBotArgs(PROG, [...LIVELY, ...forBots]);

const repo = repoRoot();
const base = tmpdir();
const fleet = new BotFleet({
  count,
  baseDir: base,
  prefix: "DemoBot",
  protoDir: join(repo, "proto"),
  // Staggered lifespans: bots leave (and are replaced) one at a time, every half minute or so.
  command: (_dir, i) => nodeBotCommand(repo, [...LIVELY, `-lifespan=${60 + 30 * i}`, ...forBots]),
});
try {
  fleet.prepare();
} catch (e) {
  if (e instanceof FleetError) fail(fleetErrorText(PROG, e), 1);
  throw e;
}

// The supervisor runs in its own scratch directory (its uploads are saved there).
const supDir = join(base, "MCastBots-demo-supervisor");
mkdirSync(supDir, { recursive: true });

let supervisor: ChildProcess | undefined;
process.on("exit", () => {
  fleet.killNow();
  if (supervisor && supervisor.exitCode === null) supervisor.kill("SIGKILL");
});
// Ctrl-C at the terminal reaches the supervisor too (same process group): it decides; we follow.
process.on("SIGINT", () => {});
for (const sig of ["SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (supervisor && supervisor.exitCode === null) supervisor.kill("SIGTERM");
    else void fleet.stop();
  });
}

const group = `${config.chanAddr} port ${config.chanPort}`;
process.stdout.write(
  `${t("Demo: {{n}} bots join group {{group}} on this computer; their logs are {{logs}}.", {
    n: count,
    group,
    logs: join(base, "DemoBotN", OUTPUT_FILE),
  })}\n`,
);
process.stdout.write(
  `${t("Type HELP for the commands (try PING *, WHO, UPLD <id>, KILL <id>); QUIT or Ctrl-D leaves and stops the bots.")}\n\n`,
);

const sup = nodeProgramCommand(repo, join(repo, "supervisor"), supervisorArgs);
supervisor = spawn(sup.file, sup.args, {
  cwd: supDir,
  env: { ...process.env, MCASTBOTS_PARENT_FD: "3" },
  stdio: ["inherit", "inherit", "inherit", "pipe"],
});
const supervisorEnded = new Promise<number>((done) => {
  supervisor?.once("exit", (code, signal) => done(code ?? (signal ? 1 : 0)));
  supervisor?.once("error", (e) => {
    process.stderr.write(
      `${t("{{prog}}: cannot start the supervisor: {{error}}", { prog: PROG, error: e.message })}\n`,
    );
    done(1);
  });
});

fleet.on("ended", (b) => {
  if (fleet.isStopping) return;
  setTimeout(() => void fleet.respawn(b), RESPAWN_DELAY * 1000).unref();
});
fleet.on("spawnError", (b, err) =>
  process.stderr.write(
    `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog: PROG, name: b.name, error: err.message })}\n`,
  ),
);
void fleet.start();

const code = await supervisorEnded;
await fleet.stop();
process.stdout.write(`${tallyLine(fleet.started, fleet.tally())}\n`);
process.exit(code);
