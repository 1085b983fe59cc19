/**
 * The bot-host program: `node dnabot -hostList=FILE [bot options]`. One bot per directory listed
 * in FILE, each running as if `node dnabot` had been started in that directory (its dnabot.ini,
 * results file and upload root), all in this process over one endpoint (host.ts). One log for
 * the process (stdout with -fg, else ./dnabot.log), every bot line carrying `bot: ID`. When a
 * bot ends, DIR/exit.json records `{"id","status","reason"}`; when the last has ended the host
 * returns 0. SIGINT/SIGTERM: every bot leaves with reason signal.
 */
import { appendFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { describeConfigError, describeTransportError, readIfExists } from "../shared/cli.js";
import type { Clock } from "../shared/clock.js";
import { type ChannelConfig, type Config, ConfigError, loadConfig } from "../shared/config.js";
import { t } from "../shared/i18n.js";
import { createLogger, type Level, type Logger } from "../shared/log.js";
import { makeRng, seededRng } from "../shared/random.js";
import type { ResultsFile } from "./bot.js";
import { type BotEnding, BotHost, type HostEndpoint } from "./host.js";
import { botSeed, MAX_HOST_BOTS, MAX_LIST_BYTES, parseHostList, runIdNumber, sharedKeyMismatch } from "./host_list.js";
import { nameFor } from "./identity.js";
import { tcpUploader } from "./upload.js";

const PROG = "dnabot";

export interface HostArgs {
  /** -hostList=FILE, as given (relative to cwd). */
  listFile: string;
  /** Command-line config overrides, without hostList. */
  overrides: Record<string, string>;
  /** -config FILE (relative to cwd): every bot reads it instead of its own dnabot.ini. */
  configFile: string | undefined;
  fg: boolean;
  level: Level;
  /** Colour the -fg lines. */
  colour?: boolean;
  /** Files no bot ever uploads (the group key file), absolute. */
  secrets?: readonly string[];
}

export interface HostIo {
  cwd: string;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  clock: Clock;
  /** Open the process's endpoint for this (shared) configuration; rejects with a TransportError. */
  openEndpoint: (config: ChannelConfig, logger: Logger) => Promise<HostEndpoint>;
  /** Call fn on SIGINT/SIGTERM; returns a function that stops listening. */
  onSignal: (fn: (signal: string) => void) => () => void;
  /** Runs fn after the I/O now pending (setImmediate). */
  defer?: (fn: () => void) => void;
}

/** Load one bot's configuration as `node dnabot` in `dir` would; throws a translated line. */
function botConfig(dir: string, args: HostArgs, cwd: string): Config {
  const configFile = args.configFile === undefined ? undefined : resolve(cwd, args.configFile);
  try {
    return loadConfig({ overrides: args.overrides, configFile, readFile: (p) => readIfExists(resolve(dir, p)) }).config;
  } catch (e) {
    if (e instanceof ConfigError) throw new Error(`${dir}: ${describeConfigError(PROG, e)}`);
    throw e;
  }
}

/** Write DIR/exit.json whole (a reader never sees half of it). */
function writeExit(dir: string, ending: BotEnding): void {
  const tmp = join(dir, ".exit.json.tmp");
  writeFileSync(tmp, `${JSON.stringify({ id: ending.id, status: ending.status, reason: ending.reason })}\n`);
  renameSync(tmp, join(dir, "exit.json"));
}

export async function runHost(args: HostArgs, io: HostIo): Promise<number> {
  const say = (line: string): void => {
    io.stderr.write(`${line}\n`);
  };
  // The list.
  const listPath = resolve(io.cwd, args.listFile);
  let text: string | undefined;
  try {
    if (statSync(listPath).isDirectory()) throw Object.assign(new Error("a directory"), { code: "EISDIR" });
    text = readIfExists(listPath, MAX_LIST_BYTES);
    if (text === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
  } catch (e) {
    say(
      t("{{prog}}: cannot read the host list {{file}}: {{error}}", {
        prog: PROG,
        file: args.listFile,
        error: (e as NodeJS.ErrnoException).code ?? (e as Error).message,
      }),
    );
    return 2;
  }
  const list = parseHostList(text, dirname(listPath));
  if (!list.ok) {
    const p = list.problem;
    say(
      p.kind === "empty"
        ? t("{{prog}}: the host list {{file}} names no bot directory", { prog: PROG, file: args.listFile })
        : p.kind === "too-many"
          ? t("{{prog}}: the host list {{file}} names more than {{max}} bot directories", {
              prog: PROG,
              file: args.listFile,
              max: MAX_HOST_BOTS,
            })
          : t("{{prog}}: the host list {{file}} names {{dir}} twice (line {{line}})", {
              prog: PROG,
              file: args.listFile,
              dir: JSON.stringify(p.dir),
              line: p.line,
            }),
    );
    return 2;
  }

  // Every bot's configuration, checked before anything starts.
  const configs: Config[] = [];
  for (const dir of list.dirs) {
    if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
      say(t("{{prog}}: {{dir}} in the host list is not a directory", { prog: PROG, dir }));
      return 2;
    }
    let config: Config;
    try {
      config = botConfig(dir, args, io.cwd);
    } catch (e) {
      say((e as Error).message);
      return 2;
    }
    const first = configs[0];
    const key = first && sharedKeyMismatch(first, config);
    if (first && key) {
      say(
        t(
          "{{prog}}: {{dir}}: {{key}}={{value}} differs from {{other}} in {{first}}; the bots of one host share one channel",
          { prog: PROG, dir, key, value: String(config[key]), other: String(first[key]), first: list.dirs[0] },
        ),
      );
      return 2;
    }
    configs.push(config);
  }
  const shared = configs[0] as Config;

  const logger = args.fg
    ? createLogger({ level: args.level, pretty: io.stdout, colour: args.colour })
    : createLogger({ level: args.level, file: join(io.cwd, "dnabot.log") });
  const hostLogger = logger.child({ host: true });

  let endpoint: HostEndpoint;
  try {
    endpoint = await io.openEndpoint(shared, hostLogger);
  } catch (e) {
    const line = describeTransportError(e);
    hostLogger.error(line);
    say(`${PROG}: ${line}`);
    return 1;
  }

  const host = new BotHost({
    endpoint,
    clock: io.clock,
    logger: hostLogger,
    defer: io.defer,
    onEnded: (b, ending) => writeExit(b.spec.dir, ending),
  });
  list.dirs.forEach((dir, i) => {
    const config = configs[i] as Config;
    const idNumber = runIdNumber(dir);
    const results: ResultsFile = {
      truncate: (name) => writeFileSync(resolve(dir, name), ""),
      append: (name, line) => appendFileSync(resolve(dir, name), `${line}\n`),
    };
    host.add({
      dir,
      config,
      rng: config.seed === undefined ? makeRng() : seededRng(botSeed(config.seed, i)),
      results,
      uploader: tcpUploader({ root: dir, secrets: args.secrets }),
      logger: logger.child({}),
      reloadConfig: () => botConfig(dir, args, io.cwd),
      preferredId: idNumber === undefined ? undefined : nameFor(idNumber),
    });
  });

  let fatal: Error | undefined;
  const failed = new Promise<void>((done) => {
    endpoint.on("error", (e) => {
      fatal = e;
      done();
    });
  });
  const stopListening = io.onSignal((signal) => {
    hostLogger.warn(
      t("Bot host stopped by signal {{signal}}: {{count, number}} bots leave", { signal, count: host.stats.running }),
    );
    void host.stop("signal");
  });
  hostLogger.info(
    t("Bot host: {{count, number}} bots from {{file}}", { count: list.dirs.length, file: args.listFile }),
  );
  host.start();
  await Promise.race([host.finished, failed]);
  stopListening();
  if (fatal) {
    const line = describeTransportError(fatal);
    hostLogger.error(line);
    say(`${PROG}: ${line}`);
    return 1;
  }
  hostLogger.info(t("Bot host: every bot has ended"));
  return 0;
}
