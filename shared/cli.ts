/**
 * Command lines in the original's style: single-dash words (-fg -debug -info -help),
 * `-config FILE`, and `-key=value` config overrides. minimist does the parsing once the
 * single-dash words are turned into the long options it expects.
 *
 * startProgram() is the common start-up of every program: arguments, language, config (one
 * clear line and exit 2 on a mistake), usage, logger.
 */
import { readFileSync } from "node:fs";
import minimist from "minimist";
import {
  type Config,
  ConfigError,
  type ConfigWarning,
  KEYS,
  type KeyDef,
  type LoadResult,
  loadConfig,
  type ValueSource,
} from "./config.js";
import { initI18n, N_, resolveLang, t } from "./i18n.js";
import { TransportError } from "./transport.js";

export interface ParsedArgs {
  flags: Record<string, boolean>;
  overrides: Record<string, string>;
  configFile: string | undefined;
  positional: string[];
}

/**
 * `-word` → `--word` so minimist reads it as one option, not as letters. Names in `known` are
 * matched case-insensitively and spelled as declared (`-LIFESPAN=5` → `--lifespan=5`), as the
 * original's ConfigParser matches keys; minimist would otherwise leave an undeclared spelling
 * untyped and turn `0x10` or `007` into numbers.
 */
export function normaliseArgs(argv: readonly string[], known: readonly string[] = []): string[] {
  const byLower = new Map(known.map((k) => [k.toLowerCase(), k]));
  return argv.map((a) => {
    const m = /^-([A-Za-z][^=]*)(=.*)?$/s.exec(a);
    if (!m) return a;
    const name = byLower.get((m[1] as string).toLowerCase()) ?? m[1];
    return `--${name}${m[2] ?? ""}`;
  });
}

export function parseArgs(
  argv: readonly string[],
  booleanFlags: readonly string[],
  valueKeys: readonly string[],
): ParsedArgs {
  const known = ["config", ...booleanFlags, ...valueKeys];
  // -h is the usual spelling of -help.
  const args = booleanFlags.includes("help") ? argv.map((a) => (a === "-h" ? "-help" : a)) : argv;
  const parsed = minimist(normaliseArgs(args, known), {
    boolean: [...booleanFlags],
    string: ["config", ...valueKeys],
    stopEarly: false,
  });
  const flags: Record<string, boolean> = {};
  for (const f of booleanFlags) flags[f] = Boolean(parsed[f]);
  const overrides: Record<string, string> = {};
  let configFile: string | undefined;
  for (const [k, v] of Object.entries(parsed)) {
    if (k === "_" || booleanFlags.includes(k)) continue;
    if (k === "config") {
      const last = Array.isArray(v) ? v[v.length - 1] : v;
      configFile = String(last ?? "");
      continue;
    }
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    overrides[k] = last === true ? "" : String(last);
  }
  return { flags, overrides, configFile, positional: parsed._.map(String) };
}

export interface ProgramSpec {
  /** Program name for messages: dnabot, supervisor, spawnBots. */
  name: string;
  /** One translated line saying what the program does. */
  summary: string;
  /** Extra flags, beyond fg/debug/info/help, with translated descriptions. */
  flags?: Record<string, string>;
  /** Extra config keys this program accepts. */
  extraKeys?: Record<string, KeyDef>;
  /** Positional arguments, for usage (e.g. "N [bot options]"). */
  positional?: string;
}

export interface Program {
  config: Config;
  extra: Record<string, unknown>;
  flags: Record<string, boolean>;
  positional: string[];
  warnings: ConfigWarning[];
  load: LoadResult;
  args: ParsedArgs;
}

const COMMON_FLAGS: Record<string, string> = {
  fg: N_("log readable lines to the console instead of ./dnabot.log"),
  info: N_("log level info"),
  debug: N_("log level debug"),
  help: N_("print this help and exit"),
};

/** A file's text, or undefined when it does not exist (other errors throw). */
export function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** Translated description of a ConfigError: one line, key, value and where it came from. */
export function describeConfigError(prog: string, e: ConfigError): string {
  const source = sourceText(e.source);
  const problem = problemText(e);
  return t("{{prog}}: bad configuration {{key}}={{value}} ({{source}}): {{problem}}", {
    prog,
    key: e.key,
    value: JSON.stringify(e.value),
    source,
    problem,
  });
}

function sourceText(s: ValueSource): string {
  if (s.kind === "file") return t("file {{file}}", { file: s.file });
  if (s.kind === "cli") return t("command line");
  return t("built-in default");
}

function problemText(e: ConfigError): string {
  switch (e.problem) {
    case "not-a-number":
      return t("not a number");
    case "not-an-integer":
      return t("not a whole number");
    case "negative-duration":
      return t("a duration cannot be negative");
    case "duration-not-positive":
      return t("must be more than 0 seconds");
    case "out-of-range":
      return t("must be from {{min}} to {{max}}", { min: e.bounds?.min, max: e.bounds?.max });
    case "probability-range":
      return t("a probability must be from 0 to 1");
    case "port-range":
      return t("a port must be from 1 to 65535");
    case "not-multicast":
      return t("not a multicast address (224.0.0.0/4 or ff00::/8)");
    case "not-an-address":
      return t("not an IP address");
    case "family-mismatch":
      return t("the interface address and the group address must both be IPv4 or both IPv6");
    case "not-a-boolean":
      return t("must be true or false");
    case "bad-lang":
      return t("not a language code such as en or fr");
    case "missing-file":
      return t("no such file");
    case "unreadable-file":
      return t("the file cannot be read");
    case "bad-file":
      return t("the file is not valid ini");
    case "not-a-choice":
      return t("must be one of {{choices}}", { choices: (e.bounds?.choices ?? []).join(", ") });
  }
}

export function describeWarning(w: ConfigWarning): string {
  switch (w.kind) {
    case "unknown-key":
      return t("unknown configuration key {{key}} in file {{file}}, ignored", { key: w.key, file: w.source.file });
    case "unknown-option":
      return t("unknown option -{{key}}, ignored", { key: w.key });
    case "outside-section":
      return t("configuration key {{key}} in file {{file}} is outside the [DNABot] section, ignored", {
        key: w.key,
        file: w.source.file,
      });
    case "no-section":
      return t("file {{file}} has no [DNABot] section; its settings are ignored", { file: w.source.file });
  }
}

/** Config warnings on stderr, one line each, so they are seen even when the log goes to a file. */
export function printWarnings(
  prog: string,
  warnings: readonly ConfigWarning[],
  out: NodeJS.WritableStream = process.stderr,
): void {
  for (const w of warnings)
    out.write(`${t("{{prog}}: warning: {{message}}", { prog, message: describeWarning(w) })}\n`);
}

export function usage(spec: ProgramSpec): string {
  const lines: string[] = [];
  const pos = spec.positional ? ` ${spec.positional}` : "";
  lines.push(t("Usage: {{prog}}{{pos}} [options] [-key=value ...]", { prog: spec.name, pos }));
  lines.push(spec.summary, "");
  lines.push(t("Options:"));
  const flags = { ...COMMON_FLAGS, ...(spec.flags ?? {}) };
  for (const [f, d] of Object.entries(flags)) lines.push(`  -${f.padEnd(14)} ${t(d)}`);
  lines.push(`  -config ${t("FILE").padEnd(7)} ${t("read FILE instead of ./dnabot.ini ([DNABot] section)")}`);
  lines.push("", t("Configuration keys (defaults in brackets), in dnabot.ini or as -key=value:"));
  const keys: Record<string, KeyDef> = { ...KEYS, ...(spec.extraKeys ?? {}) };
  for (const [k, d] of Object.entries(keys)) {
    lines.push(`  ${k.padEnd(14)} ${t(d.help)} [${d.default}]`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Parse arguments, set the language, load and check the config. Prints usage and exits 0 for
 * -help; prints one line and exits 2 for a config mistake.
 */
export function startProgram(spec: ProgramSpec, argv: readonly string[] = process.argv.slice(2)): Program {
  const flagNames = [...Object.keys(COMMON_FLAGS), ...Object.keys(spec.flags ?? {})];
  const keyNames = [...Object.keys(KEYS), ...Object.keys(spec.extraKeys ?? {})];
  const args = parseArgs(argv, flagNames, keyNames);
  // Language first, so even a config error is reported in the user's language.
  const langArg = Object.entries(args.overrides).find(([k]) => k.toLowerCase() === "lang")?.[1];
  initI18n(resolveLang(langArg, process.env));
  if (args.flags.help) {
    process.stdout.write(usage(spec));
    process.exit(0);
  }
  if (args.configFile === "") {
    process.stderr.write(`${t("{{prog}}: -config needs a file name", { prog: spec.name })}\n`);
    process.exit(2);
  }
  let load: ReturnType<typeof loadConfig>;
  try {
    load = loadConfig({
      overrides: args.overrides,
      configFile: args.configFile,
      extraKeys: spec.extraKeys,
      readFile: readIfExists,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${describeConfigError(spec.name, e)}\n`);
      process.exit(2);
    }
    throw e;
  }
  // A language given in the file (not on the command line) takes effect now.
  if (langArg === undefined && load.config.lang !== "") initI18n(resolveLang(load.config.lang, process.env));
  printWarnings(spec.name, load.warnings);
  return {
    config: load.config,
    extra: load.extra,
    flags: args.flags,
    positional: args.positional,
    warnings: load.warnings,
    load,
    args,
  };
}

/** One translated line for a failure to open or use the group: what, where, why, and a hint. */
export function describeTransportError(e: unknown): string {
  if (!(e instanceof TransportError) || !e.where)
    return t("the group channel failed: {{error}}", { error: String((e as Error)?.message ?? e) });
  const { group, port, iface } = e.where;
  const code = e.code ?? (e.cause as Error | undefined)?.message ?? "?";
  let hint = "";
  if (e.code === "EADDRINUSE") hint = t("the port is in use by a program that does not share it (SO_REUSEADDR)");
  else if (e.code === "EACCES" || e.code === "EPERM") hint = t("permission denied");
  else if (e.code === "EADDRNOTAVAIL" || e.code === "ENODEV" || e.code === "EINVAL")
    hint = t("chanIface is not an address of this host, or its interface cannot do multicast");
  const line =
    e.step === "join"
      ? t("cannot join the group {{group}} port {{port}} on {{iface}}: {{code}}", { group, port, iface, code })
      : e.step === "use"
        ? t("the group {{group}} port {{port}} on {{iface}} failed: {{code}}", { group, port, iface, code })
        : t("cannot open the group {{group}} port {{port}} on {{iface}}: {{code}}", { group, port, iface, code });
  return hint ? `${line} (${hint})` : line;
}
