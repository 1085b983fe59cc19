/**
 * The `dnabot` program: wires real sockets, files, timers and the console to the bot.
 * main() returns the exit status (0 lifespan or signal, 255 killed, 1 fatal, 2 bad command line
 * or config); dnabot/index.js is the launcher that exits with it.
 */
import { appendFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import {
  describeConfigError,
  describeTransportError,
  describeWarning,
  type ProgramIO,
  processIO,
  startKeyedProgram,
} from "../shared/cli.js";
import { type Clock, SystemClock } from "../shared/clock.js";
import { type ChannelConfig, type Config, ConfigError, loadConfig } from "../shared/config.js";
import { N_, t } from "../shared/i18n.js";
import type { GroupAuth } from "../shared/keys/auth.js";
import { KeyError, keyErrorText, loadKeyring } from "../shared/keys/keyring.js";
import { KEY_FLAGS, keyringLine } from "../shared/keys/setup.js";
import { colourFor, createLogger, levelFromFlags } from "../shared/log.js";
import { type OpenedChannel, openChannel, openEndpoint, type StackDeps, udpTransportFor } from "../shared/open.js";
import { makeRng } from "../shared/random.js";
import { Bot, type ResultsFile } from "./bot.js";
import type { HostEndpoint } from "./host.js";
import { runHost } from "./host_main.js";
import { newName } from "./identity.js";
import { runRogueProgram } from "./rogue_main.js";
import { tcpUploader, type Uploader } from "./upload.js";

export const NAME = "dnabot";
/** The bot's log file without -fg, in its working directory. */
export const LOG_FILE = "dnabot.log";

/** What the bot's wiring uses besides the process; the real ones by default (tests inject). */
export interface DnabotIO extends ProgramIO {
  openChannel?: (config: Config, id: string, deps: StackDeps) => Promise<OpenedChannel>;
  /** For -hostList: the process's multi-sender endpoint. */
  openEndpoint?: (config: ChannelConfig, deps: StackDeps) => Promise<HostEndpoint>;
  clock?: Clock;
  uploader?: Uploader;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: DnabotIO): Promise<number> {
  const started = startKeyedProgram(
    {
      name: NAME,
      summary: N_("A DNABot: a peer on the multicast group that researches, beats and obeys supervisors."),
      flags: KEY_FLAGS,
      values: {
        hostList: {
          help: N_("run one bot per directory listed in this file (one per line), all in this process: a bot host"),
          placeholder: N_("FILE"),
        },
      },
    },
    argv,
    env,
    io,
  );
  if (started.exit !== undefined) return started.exit;
  const { prog, keyFile, keyring } = started;
  const level = levelFromFlags(prog.flags);
  const clock = io.clock ?? new SystemClock();
  const hostList = prog.values.hostList;
  if (hostList !== undefined) {
    return runHost(
      {
        listFile: hostList,
        overrides: prog.args.overrides,
        configFile: prog.args.configFile,
        fg: prog.flags.fg === true,
        level,
        colour: colourFor(io.stdout, env),
        secrets: keyFile === "" ? [] : [keyFile],
      },
      {
        cwd: io.cwd,
        stdout: io.stdout,
        stderr: io.stderr,
        clock,
        openEndpoint: (config, logger) =>
          io.openEndpoint
            ? io.openEndpoint(config, { clock, logger, keyring })
            : openEndpoint(config, { clock, logger, keyring }).then((o) => o.endpoint),
        onSignal: io.onSignal,
        defer: (fn) => setImmediate(fn),
      },
    );
  }
  const logFile = resolve(io.cwd, LOG_FILE);
  const logger = prog.flags.fg
    ? createLogger({ level, pretty: io.stdout, colour: colourFor(io.stdout, env) })
    : createLogger({ level, file: logFile });
  // startProgram printed the warnings on stderr; keep them in the log file too when there is one.
  if (!prog.flags.fg) for (const w of prog.warnings) logger.warn(describeWarning(w));

  if (keyring) logger.info(keyringLine(keyring));
  const rng = makeRng(prog.config.seed);
  const id = newName(rng);
  // Adversarial mode (for testing): a rogue peer instead of a bot.
  if (prog.config.rogue !== "") {
    const transport = udpTransportFor(prog.config);
    return runRogueProgram(prog.config, { transport, clock, rng, logger, onSignal: io.onSignal, stderr: io.stderr });
  }

  /** A fatal problem: one clear line on stderr (and in the log), exit 1. */
  const fatal = (message: string): number => {
    logger.error(message);
    io.stderr.write(`${NAME}: ${message}\n`);
    return 1;
  };

  const inCwd = (name: string) => resolve(io.cwd, name);
  const results: ResultsFile = {
    truncate: (name) => writeFileSync(inCwd(name), ""),
    append: (name, line) => appendFileSync(inCwd(name), `${line}\n`),
  };

  /** RSET: the file again, then the same command-line overrides on top. */
  const reloadConfig = (): Config => {
    try {
      return loadConfig({ overrides: prog.args.overrides, configFile: prog.args.configFile, readFile: prog.readFile })
        .config;
    } catch (e) {
      if (e instanceof ConfigError) throw new Error(describeConfigError(NAME, e));
      throw e;
    }
  };

  /** RSET rereads the key file too (a rotation step without a restart); same source as at start. */
  let auth: GroupAuth | undefined;
  const reloadKeys = (): void => {
    let ring: ReturnType<typeof loadKeyring>;
    try {
      ring = loadKeyring(keyFile, env);
    } catch (e) {
      throw e instanceof KeyError ? new Error(keyErrorText(e)) : e;
    }
    if (!auth || !ring) return;
    auth.setRing(ring);
    logger.info(keyringLine(ring));
  };
  let opened: OpenedChannel;
  try {
    opened = await (io.openChannel ?? openChannel)(prog.config, id, {
      clock,
      logger,
      keyring,
      onAuth: (a) => {
        auth = a;
      },
    });
  } catch (e) {
    return fatal(describeTransportError(e));
  }
  const { channel } = opened;

  // The sign of life: without -fg nothing else shows that the bot runs, and where to look.
  if (!prog.flags.fg) {
    io.stderr.write(
      `${t("{{prog}}: bot {{id}} running, log in {{file}} (-fg logs here)", { prog: NAME, id, file: logFile })}\n`,
    );
  }

  return new Promise<number>((done) => {
    let ended = false;
    let stopSignals = (): void => {};
    const end = (code: number): void => {
      if (ended) return;
      ended = true;
      stopSignals();
      done(code);
    };
    const bot = new Bot({
      channel,
      clock,
      rng,
      config: prog.config,
      results,
      uploader: io.uploader ?? tcpUploader({ root: io.cwd, secrets: keyFile === "" ? [] : [keyFile] }),
      logger,
      exit: end,
      reloadConfig,
      reloadKeys: keyring ? reloadKeys : undefined,
      defer: (fn) => setImmediate(fn),
    });
    channel.on("error", (e) => {
      const code = fatal(describeTransportError(e));
      void channel.close().catch(() => undefined);
      end(code);
    });
    stopSignals = io.onSignal((signal) => {
      logger.warn(t("Bot {{id}} stopped by signal {{signal}}", { id: bot.id, signal }));
      void bot.stop("signal");
    });
    try {
      bot.start();
    } catch (e) {
      const code = fatal(
        t("cannot create results file {{file}}: {{error}}", {
          file: prog.config.results,
          error: (e as Error).message,
        }),
      );
      void channel.close().catch(() => undefined);
      end(code);
    }
  });
}

/** Used by the launcher: the real process. */
export { processIO };
