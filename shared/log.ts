/**
 * Logging with pino. -fg: readable lines on stdout (pino-pretty, synchronous so nothing is lost
 * on exit); otherwise JSON lines appended to ./dnabot.log. Default level warn; -info, -debug.
 * Messages meant for people are translated by the caller (t()); the level labels of readable
 * lines are translated here.
 */
import { createRequire } from "node:module";
import pino, { type Logger } from "pino";
import type { PrettyOptions, PrettyStream } from "pino-pretty";
import { N_, t } from "./i18n.js";

export type { Logger } from "pino";
export type Level = "debug" | "info" | "warn" | "error" | "silent";

export interface LogOptions {
  level: Level;
  /** Readable lines on this stream (stdout for -fg, stderr for the supervisor). */
  pretty?: NodeJS.WritableStream;
  /** JSON lines appended to this file when not pretty. */
  file?: string;
  /** Extra fields on every line (e.g. the bot id). */
  base?: Record<string, unknown>;
  /** Colour the pretty lines (see colourFor); default off. */
  colour?: boolean;
}

/**
 * Colour on a stream: NO_COLOR (any value) turns it off, FORCE_COLOR=0 / false too; another
 * FORCE_COLOR turns it on; otherwise only on a terminal that is not "dumb".
 */
export function colourFor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0" && force.toLowerCase() !== "false";
  return Boolean(stream.isTTY) && env.TERM !== "dumb";
}

/** Level labels as pino-pretty writes them, marked for translation. */
const LEVEL_LABELS: Record<string, string> = {
  TRACE: N_("TRACE"),
  DEBUG: N_("DEBUG"),
  INFO: N_("INFO"),
  WARN: N_("WARN"),
  ERROR: N_("ERROR"),
  FATAL: N_("FATAL"),
};

/** A level label in the current language, coloured as pino-pretty coloured it. */
function translatedLevel(
  _level: string | object,
  _key: string,
  _log: object,
  extras: { label: string; labelColorized: string },
): string {
  const english = LEVEL_LABELS[extras.label];
  return english === undefined ? extras.labelColorized : extras.labelColorized.replace(extras.label, t(english));
}

export function levelFromFlags(flags: { debug?: boolean; info?: boolean }): Level {
  return flags.debug ? "debug" : flags.info ? "info" : "warn";
}

/** pino-pretty, loaded only by a program that prints readable lines: a bot logging JSON to its
 *  file (every bot spawnBots starts) saves the memory it takes (a few MB per process). */
function pretty(options: PrettyOptions): PrettyStream {
  const load = createRequire(import.meta.url)("pino-pretty") as (o: PrettyOptions) => PrettyStream;
  return load(options);
}

export function createLogger(opts: LogOptions): Logger {
  const base = { ...(opts.base ?? {}) };
  if (opts.pretty) {
    const stream = pretty({
      destination: opts.pretty,
      sync: true,
      colorize: opts.colour ?? false,
      translateTime: "SYS:HH:MM:ss",
      ignore: "pid,hostname",
      singleLine: true,
      customPrettifiers: { level: translatedLevel },
    });
    return pino({ level: opts.level, base }, stream);
  }
  if (opts.file) {
    return pino(
      { level: opts.level, base },
      pino.destination({ dest: opts.file, append: true, sync: true, mkdir: true }),
    );
  }
  return pino({ level: "silent" });
}
