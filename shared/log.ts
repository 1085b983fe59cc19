/**
 * Logging with pino. -fg: readable lines on stdout (pino-pretty, synchronous so nothing is lost
 * on exit); otherwise JSON lines appended to ./dnabot.log. Default level warn; -info, -debug.
 * Messages meant for people are translated by the caller (t()); debug lines stay English, as
 * in the original.
 */
import pino, { type Logger } from "pino";
import pretty from "pino-pretty";

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

export function levelFromFlags(flags: { debug?: boolean; info?: boolean }): Level {
  return flags.debug ? "debug" : flags.info ? "info" : "warn";
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
