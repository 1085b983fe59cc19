/**
 * Command lines of the fleet tools: `TOOL POSITIONAL... [own options] [bot options]`, parsed by
 * the programs' own parser (shared/cli.ts: minimist, single-dash words, keys matched without
 * regard to case). The tool's own options are taken out; the bots' options (-fg -debug -info,
 * -config FILE, -key=value for the bot's keys) are checked here once (a typo fails once with
 * exit 2, not N times in N bots) and passed to every bot in a normal form; anything else is an
 * error, as it is for the programs.
 */
import { describeConfigError, describeWarning, parseArgs } from "../shared/cli.js";
import { type Config, ConfigError, KEYS, loadConfig } from "../shared/config.js";
import { initI18n, type Lang, resolveLang, t } from "../shared/i18n.js";

/** The flags every bot accepts and the tools pass on. */
export const BOT_FLAGS = ["fg", "debug", "info"] as const;

export interface ToolSpec {
  /** The tool's own boolean flags (-y, -tail, -json); -help and -h are always known. */
  flags: readonly string[];
  /** The tool's own -name=value options (-grace=3). */
  values: readonly string[];
  /** Options of another program the tool passes on as given (the demo's supervisor). */
  passFlags?: readonly string[];
  passValues?: readonly string[];
}

export interface ToolArgs {
  positional: string[];
  /** The tool's own flags that were given (-y → "y"). */
  flags: Set<string>;
  /** The tool's own -name=value options. */
  values: Map<string, string>;
  /** The bots' options, normal form: -fg -debug -info, -config FILE, -key=value. */
  botArgs: string[];
  /** The other program's options (passFlags, passValues), normal form. */
  passArgs: string[];
}

export type ToolParse = { ok: true; args: ToolArgs } | { ok: false; error: string };

/** Split and check a tool's argv. An unknown option is an error (one line), as for the programs. */
export function parseToolArgs(prog: string, argv: readonly string[], spec: ToolSpec): ToolParse {
  const botKeys = Object.keys(KEYS);
  const passFlags = spec.passFlags ?? [];
  const passValues = spec.passValues ?? [];
  const booleans = [...new Set(["help", ...spec.flags, ...BOT_FLAGS, ...passFlags])];
  const p = parseArgs(argv, booleans, [...spec.values, ...botKeys, ...passValues]);
  const out: ToolArgs = { positional: p.positional, flags: new Set(), values: new Map(), botArgs: [], passArgs: [] };
  for (const f of spec.flags) if (p.flags[f]) out.flags.add(f);
  if (p.flags.help) out.flags.add("help");
  for (const f of BOT_FLAGS) if (p.flags[f]) out.botArgs.push(`-${f}`);
  for (const f of passFlags) if (p.flags[f] && !BOT_FLAGS.includes(f as never)) out.passArgs.push(`-${f}`);
  if (p.configFile !== undefined) {
    if (p.configFile === "") return { ok: false, error: t("{{prog}}: -config needs a file name", { prog }) };
    out.botArgs.push("-config", p.configFile);
  }
  for (const [k, v] of Object.entries(p.overrides)) {
    if (spec.values.includes(k)) out.values.set(k, v);
    else if (botKeys.includes(k)) out.botArgs.push(`-${k}=${v}`);
    else if (passValues.includes(k)) out.passArgs.push(`-${k}=${v}`);
    else
      return {
        ok: false,
        error: t("{{prog}}: unknown option -{{option}}; -help lists the options", { prog, option: k }),
      };
  }
  return { ok: true, args: out };
}

/** Language for the tool's own messages: -lang=xx among the options, else the environment. */
export function initToolLanguage(argv: readonly string[], env: NodeJS.ProcessEnv): Lang {
  const asked = argv
    .map((a) => /^--?lang=(.*)$/is.exec(a)?.[1])
    .filter((v) => v !== undefined)
    .pop();
  const lang = resolveLang(asked, env);
  initI18n(lang);
  return lang;
}

/**
 * Check the bots' options against the config schema, as a bot would (without a file: each bot
 * reads its own dnabot.ini). Returns the config those options give over the defaults, or the
 * one line saying what is wrong.
 */
export function checkBotArgs(
  prog: string,
  botArgs: readonly string[],
): { ok: true; config: Config; warnings: string[] } | { ok: false; error: string } {
  const parsed = parseArgs(botArgs, [...BOT_FLAGS], Object.keys(KEYS));
  try {
    const load = loadConfig({ overrides: parsed.overrides, configFile: undefined, readFile: () => undefined });
    return { ok: true, config: load.config, warnings: load.warnings.map((w) => `${prog}: ${describeWarning(w)}`) };
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: describeConfigError(prog, e) };
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
