/**
 * Command lines of the fleet tools: `TOOL POSITIONAL... [own flags] [bot options]`. The tool's
 * own single-dash flags are taken out; everything else is passed to every bot unchanged, after
 * being checked here once (a typo fails once with exit 2, not N times in N bots).
 */
import { describeConfigError, describeWarning, parseArgs } from "../shared/cli.js";
import { type Config, ConfigError, KEYS, loadConfig } from "../shared/config.js";
import { initI18n, resolveLang } from "../shared/i18n.js";

export interface ToolArgs {
  positional: string[];
  /** The tool's own flags that were given (-y → "y"). */
  flags: Set<string>;
  /** The tool's own -name=value options. */
  values: Map<string, string>;
  /** Everything else, for the bots. */
  botArgs: string[];
}

/**
 * Split argv. `ownFlags` are boolean (-y, -tail), `ownValues` take `=value` (-grace=3).
 * Positional arguments are the leading words that do not start with a dash.
 */
export function splitToolArgs(
  argv: readonly string[],
  ownFlags: readonly string[],
  ownValues: readonly string[] = [],
): ToolArgs {
  const out: ToolArgs = { positional: [], flags: new Set(), values: new Map(), botArgs: [] };
  let leading = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const m = /^--?([A-Za-z][\w-]*)(?:=(.*))?$/.exec(a);
    if (m && ownFlags.includes(m[1]!) && m[2] === undefined) {
      out.flags.add(m[1]!);
      continue;
    }
    if (m && ownValues.includes(m[1]!) && m[2] !== undefined) {
      out.values.set(m[1]!, m[2]);
      continue;
    }
    if (leading && !a.startsWith("-")) {
      out.positional.push(a);
      continue;
    }
    leading = false;
    out.botArgs.push(a);
    // `-config FILE` keeps its file with it.
    if (a === "-config" && i + 1 < argv.length) out.botArgs.push(argv[++i]!);
  }
  return out;
}

/** Language for the tool's own messages: -lang=xx among the bot options, else the environment. */
export function initToolLanguage(botArgs: readonly string[]): void {
  const lang = botArgs.map((a) => /^--?lang=(.*)$/i.exec(a)?.[1]).find((v) => v !== undefined);
  initI18n(resolveLang(lang, process.env));
}

/**
 * Check the bots' -key=value options against the config schema, as a bot would (without a
 * file: each bot reads its own dnabot.ini). Prints one line and exits 2 on a mistake; prints
 * warnings for unknown options. Returns the config those options give over the defaults.
 */
export function checkBotArgs(prog: string, botArgs: readonly string[]): Config {
  const parsed = parseArgs(botArgs, ["fg", "debug", "info", "help"], Object.keys(KEYS));
  try {
    const load = loadConfig({ overrides: parsed.overrides, configFile: undefined, readFile: () => undefined });
    for (const w of load.warnings) process.stderr.write(`${prog}: ${describeWarning(w)}\n`);
    return load.config;
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${describeConfigError(prog, e)}\n`);
      process.exit(2);
    }
    throw e;
  }
}

/**
 * The bots log readable lines (-fg, so their output file is their log) at debug level, unless the
 * options choose a level (-info, -debug) themselves.
 */
export function withDefaultLogFlags(botArgs: readonly string[]): string[] {
  const has = (flag: string) => botArgs.some((a) => a === `-${flag}` || a === `--${flag}`);
  const level = has("info") || has("debug") ? [] : ["-debug"];
  return [...(has("fg") ? [] : ["-fg"]), ...level, ...botArgs];
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}
