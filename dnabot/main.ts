/** Entry point of `node dnabot`: wires real sockets, files, timers and the console to the bot. */
import { appendFileSync, writeFileSync } from "node:fs";
import {
  describeConfigError,
  describeTransportError,
  describeWarning,
  readIfExists,
  startProgram,
} from "../shared/cli.js";
import { SystemClock } from "../shared/clock.js";
import { ConfigError, loadConfig } from "../shared/config.js";
import { t } from "../shared/i18n.js";
import { createLogger, levelFromFlags } from "../shared/log.js";
import { openChannel } from "../shared/open.js";
import { makeRng } from "../shared/random.js";
import { Bot, type ResultsFile } from "./bot.js";
import { newName } from "./identity.js";
import { tcpUploader } from "./upload.js";

const prog = startProgram({
  name: "dnabot",
  summary: t("A DNABot: a peer on the multicast group that researches, beats and obeys supervisors."),
});

const logger = prog.flags.fg
  ? createLogger({ level: levelFromFlags(prog.flags), pretty: process.stdout })
  : createLogger({ level: levelFromFlags(prog.flags), file: "./dnabot.log" });
// startProgram printed the warnings on stderr; keep them in the log file too when there is one.
if (!prog.flags.fg) for (const w of prog.warnings) logger.warn(describeWarning(w));

/** A fatal problem: one clear line on stderr (and in the log), exit 1. */
function fatal(message: string): never {
  logger.error(message);
  process.stderr.write(`dnabot: ${message}\n`);
  process.exit(1);
}

const clock = new SystemClock();
const rng = makeRng(prog.config.seed);
const id = newName(rng);

const results: ResultsFile = {
  truncate: (name) => writeFileSync(name, ""),
  append: (name, line) => appendFileSync(name, `${line}\n`),
};

/** RSET: the file again, then the same command-line overrides on top. */
function reloadConfig() {
  try {
    return loadConfig({ overrides: prog.args.overrides, configFile: prog.args.configFile, readFile: readIfExists })
      .config;
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(describeConfigError("dnabot", e));
    throw e;
  }
}

let opened: Awaited<ReturnType<typeof openChannel>>;
try {
  opened = await openChannel(prog.config, id, { clock, logger });
} catch (e) {
  fatal(describeTransportError(e));
}
const { channel } = opened;
channel.on("error", (e) => fatal(describeTransportError(e)));

const bot = new Bot({
  channel,
  clock,
  rng,
  config: prog.config,
  results,
  uploader: tcpUploader({ root: process.cwd() }),
  logger,
  exit: (code) => process.exit(code),
  reloadConfig,
  defer: (fn) => setImmediate(fn),
});

try {
  bot.start();
} catch (e) {
  fatal(
    t("cannot create results file {{file}}: {{error}}", { file: prog.config.results, error: (e as Error).message }),
  );
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    logger.warn(t("Bot {{id}} stopped by signal {{signal}}", { id: bot.id, signal }));
    void bot.stop("signal");
  });
}
