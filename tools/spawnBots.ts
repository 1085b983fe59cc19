/**
 * spawnBots: `spawnBots N [-y] [-tail] [-grace=S] [bot options]`. Makes a fresh run directory
 * <tmpdir>/mcastbots-spawnBots-XXXXXX, starts N bots each in its own BotNNN there copied from
 * <repo>/proto/, runs them until they have all ended, reports how each ended and leaves the
 * directories for reading. Ctrl-C or SIGTERM stops them cleanly (a second one: at once).
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { t } from "../shared/i18n.js";
import { BotFleet, botDirName, FleetError, makeRunDir, nodeBotCommand, OUTPUT_FILE, repoRoot } from "./botfleet.js";
import { botLabel, endedLine, fleetErrorText, tallyLine } from "./fleet_text.js";
import { checkBotArgs, initToolLanguage, sleep, splitToolArgs, withDefaultLogFlags } from "./toolargs.js";

const PROG = "spawnBots";
/** Above this many bots, warn and wait before starting (as the original did). */
const MANY = 16;
const UNDO_SECONDS = 5;
const MAX_BOTS = 9999;

function usage(): string {
  return [
    t("Usage: spawnBots N [-y] [-tail] [-grace=S] [bot options]"),
    t("Starts N DNABots, each in its own directory BotNNN copied from proto/, in a new directory {{dir}}.", {
      dir: join(tmpdir(), "mcastbots-spawnBots-XXXXXX"),
    }),
    "",
    `  -y          ${t("do not wait {{n}} seconds before starting more than {{many}} bots", { n: UNDO_SECONDS, many: MANY })}`,
    `  -tail       ${t("also print every bot's output here, each line prefixed with the bot's id")}`,
    `  -grace=S    ${t("seconds a bot gets to leave after SIGTERM before SIGKILL [5]")}`,
    `  -help       ${t("print this help and exit")}`,
    "",
    t("Bot options (default -fg -debug) are passed to every bot, e.g. -lifespan=30 -heartbeat=2 -lang=fr."),
    t("Each bot's output goes to {{file}} in its directory. Ctrl-C stops every bot; a second Ctrl-C kills them.", {
      file: OUTPUT_FILE,
    }),
    "",
  ].join("\n");
}

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const args = splitToolArgs(process.argv.slice(2), ["y", "tail", "help", "h"], ["grace"]);
initToolLanguage(args.botArgs);
if (args.flags.has("help") || args.flags.has("h")) {
  process.stdout.write(usage());
  process.exit(0);
}
const nText = args.positional[0];
const count = Number(nText);
if (nText === undefined || !/^\d+$/.test(nText) || count < 1 || count > MAX_BOTS || args.positional.length > 1) {
  fail(
    t("{{prog}}: give the number of bots, a whole number from 1 to {{max}} (got {{value}}); -help for usage", {
      prog: PROG,
      max: MAX_BOTS,
      value: JSON.stringify(args.positional.join(" ")),
    }),
    2,
  );
}
const graceText = args.values.get("grace") ?? "5";
const grace = Number(graceText);
if (!Number.isFinite(grace) || grace < 0 || graceText.trim() === "") {
  fail(t("{{prog}}: -grace must be a number of seconds, not {{value}}", { prog: PROG, value: graceText }), 2);
}
const botArgs = withDefaultLogFlags(args.botArgs);
checkBotArgs(PROG, botArgs);

if (count > MANY && !args.flags.has("y")) {
  process.stdout.write(`${t("{{n}} is a lot of bots.", { n: count })}\n`);
  process.stdout.write(`${t("You have {{s}} seconds to press Ctrl-C (-y skips this wait).", { s: UNDO_SECONDS })}\n`);
  await sleep(UNDO_SECONDS * 1000);
}

const repo = repoRoot();
const runDir = makeRunDir(PROG);
const fleet = new BotFleet({
  count,
  runDir,
  prefix: "Bot",
  protoDir: join(repo, "proto"),
  command: () => nodeBotCommand(repo, botArgs),
  tail: args.flags.has("tail"),
  graceMs: grace * 1000,
});

try {
  fleet.prepare();
} catch (e) {
  // Nothing ran: the run directory (ours, made just now) goes.
  rmSync(runDir, { recursive: true, force: true });
  if (e instanceof FleetError) fail(fleetErrorText(PROG, e), 1);
  throw e;
}

// Never leave a bot behind, however we end.
process.on("exit", () => fleet.killNow());
let signals = 0;
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    signals++;
    if (signals === 1) {
      process.stdout.write(
        `\n${t("Stopping {{n}} bots (again to kill them at once)...", { n: fleet.running.length })}\n`,
      );
      void fleet.stop();
    } else {
      fleet.killNow();
    }
  });
}

const tty = Boolean(process.stdout.isTTY);
const bar =
  tty && !args.flags.has("tail")
    ? new cliProgress.SingleBar(
        { format: `${t("Starting bots")} [{bar}] {value}/{total}`, hideCursor: true, clearOnComplete: false },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
process.stdout.write(`${t("Starting {{n}} bots in {{dir}}...", { n: count, dir: runDir })}\n`);
bar?.start(count, 0);

fleet.on("spawned", (b) => {
  if (bar) bar.increment();
  else process.stdout.write(`${t("Bot #{{i}} in {{dir}} (pid {{pid}})", { i: b.index, dir: b.dir, pid: b.pid })}\n`);
});
fleet.on("spawnError", (b, err) => {
  bar?.stop();
  process.stderr.write(
    `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog: PROG, name: b.name, error: err.message })}\n`,
  );
});
fleet.on("line", (b, line) => process.stdout.write(`[${botLabel(b)}] ${line}\n`));
fleet.on("ended", (b) => process.stdout.write(`${endedLine(b)}\n`));

await fleet.start();
bar?.stop();
if (fleet.started > 0 && !fleet.isStopping) {
  const pattern = join(runDir, `${botDirName("Bot", count, count).replace(/\d/g, "N")}`, OUTPUT_FILE);
  process.stdout.write(
    `${t("{{n}} bots running; output in {{pattern}}. Ctrl-C stops them all.", { n: fleet.started, pattern })}\n`,
  );
}
await fleet.whenAllEnded();
const tally = fleet.tally();
process.stdout.write(`${tallyLine(fleet.started, tally)}\n`);
process.stdout.write(`${t("The bots' directories, output and results stay in {{dir}}.", { dir: runDir })}\n`);
process.exit(tally.crashed + tally.forced > 0 ? 1 : 0);
