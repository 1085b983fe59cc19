/**
 * Command lines in the original's style: single-dash words (-fg -debug -info -help -version),
 * `-config FILE`, and `-key=value` config overrides. minimist does the parsing once the
 * single-dash words are turned into the long options it expects. Strict: an unknown option or a
 * stray word is one line naming it and exit status 2, before anything starts.
 *
 * Programs are functions, `main(argv, env, io) → Promise<exit status>`; ProgramIO is everything
 * a program touches of its process (streams, working directory, signals), so tests run a
 * program's wiring in-process. Only the launchers (dnabot/index.js, supervisor/index.js) call
 * process.exit. startProgram() is the common start-up: arguments, language, config, usage;
 * startKeyedProgram() adds the group-key settings (-keygen, keyFile).
 */
import { closeSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import minimist from "minimist";
import {
  ConfigError,
  type ConfigOf,
  type ConfigWarning,
  clip,
  closest,
  FileTooLargeError,
  formatValue,
  KEYS,
  type KeyTable,
  type LoadResult,
  loadConfig,
  MAX_CONFIG_BYTES,
  type ValueSource,
} from "./config.js";
import { formatNumber, initI18n, N_, resolveLang, t } from "./i18n.js";
import type { Keyring } from "./keys/keyring.js";
import { keySetup } from "./keys/setup.js";
import { TransportError } from "./transport.js";

// ---- a program's process -------------------------------------------------------------------

export type Signal = "SIGINT" | "SIGTERM";

/** What a program touches of its process; processIO() gives the real ones. */
export interface ProgramIO {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Relative file names (dnabot.ini, the results file, logs, uploads) are resolved from here. */
  cwd: string;
  /** Calls handler on SIGINT / SIGTERM; returns a function that stops doing so. */
  onSignal: (handler: (signal: Signal) => void) => () => void;
}

/** The real process: its streams, working directory and signals. */
export function processIO(): ProgramIO {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    onSignal: (handler) => {
      const on = (s: Signal) => handler(s);
      process.on("SIGINT", on);
      process.on("SIGTERM", on);
      return () => {
        process.off("SIGINT", on);
        process.off("SIGTERM", on);
      };
    },
  };
}

/** The conventional exit status of a program ended by a signal: 128 + its number. */
export function signalStatus(signal: Signal): number {
  return signal === "SIGINT" ? 130 : 143;
}

/** The program's version, from package.json. */
export function packageVersion(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const root = here.includes(join("dist", "shared")) ? join(here, "..", "..") : join(here, "..");
  try {
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "?";
  } catch {
    return "?";
  }
}

// ---- parsing -----------------------------------------------------------------------------------

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
    const m = /^--?([A-Za-z][^=]*)(=.*)?$/s.exec(a);
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
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (k === "config") {
      configFile = String(last ?? "");
      continue;
    }
    overrides[k] = last === true ? "" : String(last);
  }
  return { flags, overrides, configFile, positional: parsed._.map(String) };
}

// ---- programs ----------------------------------------------------------------------------------

export interface ProgramSpec<K extends KeyTable = typeof KEYS> {
  /** Program name for messages: dnabot, supervisor. */
  name: string;
  /** One English line saying what the program does, marked with N_() (translated in usage). */
  summary: string;
  /** Extra flags, beyond fg/debug/info/help/version, with English descriptions marked N_(). */
  flags?: Record<string, string>;
  /** Options that take a value but are not config keys (e.g. -hostList=FILE): English help and
   *  placeholder, both marked N_(); their values are in Program.values. */
  values?: Record<string, { help: string; placeholder: string }>;
  /** The program's config keys (default KEYS, the bot's). */
  keys?: K;
  /** Keys other programs read from the same dnabot.ini (ignored there without a warning). */
  alsoKnown?: KeyTable;
}

export interface Program<K extends KeyTable = typeof KEYS> {
  config: ConfigOf<K>;
  flags: Record<string, boolean>;
  /** The spec's value options that were given (the last one of each). */
  values: Record<string, string>;
  warnings: ConfigWarning[];
  load: LoadResult<K>;
  args: ParsedArgs;
  /** Reads a config file as the program does (size-capped, relative to io.cwd). */
  readFile: (path: string) => string | undefined;
}

/** startProgram's answer: run the program, or return this exit status at once. */
export type Started<K extends KeyTable> = { prog: Program<K>; exit?: undefined } | { exit: number };

const COMMON_FLAGS: Record<string, string> = {
  fg: N_("log readable lines to the console instead of ./dnabot.log"),
  info: N_("log level info"),
  debug: N_("log level debug"),
  help: N_("print this help and exit"),
  version: N_("print the version and exit"),
};

/**
 * A file's text, or undefined when it does not exist; other errors throw, and a file above
 * `max` bytes (or an endless one such as /dev/zero) throws FileTooLargeError after reading
 * at most max+1 bytes.
 */
export function readIfExists(path: string, max = MAX_CONFIG_BYTES): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
  try {
    const buf = Buffer.alloc(Math.min(max + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      total += n;
      if (total > max) throw new FileTooLargeError(max);
      chunks.push(Buffer.from(buf.subarray(0, n)));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/**
 * The line for an unknown option, with a guess among `names` when one is close (default: the
 * bot's flags and keys, as the fleet tools pass them on).
 */
export function unknownOption(
  prog: string,
  option: string,
  names: readonly string[] = [...Object.keys(COMMON_FLAGS), ...Object.keys(KEYS)],
): string {
  const short = SHORT[option];
  const guess = short !== undefined && names.includes(short) ? short : closest(option, [...names, "config"]);
  return guess
    ? t("{{prog}}: unknown option -{{option}} (did you mean -{{guess}}?)", { prog, option: clip(option), guess })
    : t("{{prog}}: unknown option -{{option}}; -help lists the options", { prog, option: clip(option) });
}

/** Translated description of a ConfigError: one line, key, value and where it came from. */
export function describeConfigError(prog: string, e: ConfigError): string {
  if (e.problem === "unknown-option") return unknownOption(prog, e.key);
  return t("{{prog}}: bad configuration {{key}}={{value}} ({{source}}): {{problem}}", {
    prog,
    key: clip(e.key),
    value: JSON.stringify(clip(e.value)),
    source: sourceText(e.source),
    problem: problemText(e),
  });
}

function sourceText(s: ValueSource): string {
  if (s.kind === "file") return t("file {{file}}", { file: clip(s.file ?? "") });
  if (s.kind === "cli") return t("command line");
  if (s.kind === "preset") return t("preset");
  return t("built-in default");
}

function problemText(e: ConfigError): string {
  const b = e.bounds ?? {};
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
      return b.exclusiveMin
        ? t("must be more than {{min}} and at most {{max}}", { min: formatNumber(b.min), max: formatNumber(b.max) })
        : t("must be from {{min}} to {{max}}", { min: formatNumber(b.min ?? 0), max: formatNumber(b.max) });
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
    case "file-too-large":
      return t("the file is larger than {{max}} bytes", { max: formatNumber(b.max) });
    case "bad-file":
      return t("the file is not valid ini");
    case "not-a-choice":
      return t("must be one of {{choices}}", { choices: (b.choices ?? []).join(", ") });
    case "too-long":
      return t("longer than {{max}} characters", { max: formatNumber(b.max) });
    case "unknown-option":
      return t("unknown option");
  }
}

export function describeWarning(w: ConfigWarning): string {
  switch (w.kind) {
    case "unknown-key":
      return w.guess
        ? t("unknown configuration key {{key}} in file {{file}} (did you mean {{guess}}?), ignored", {
            key: w.key,
            file: w.source.file,
            guess: w.guess,
          })
        : t("unknown configuration key {{key}} in file {{file}}, ignored", { key: w.key, file: w.source.file });
    case "outside-section":
      return t("configuration key {{key}} in file {{file}} is outside the [DNABot] section, ignored", {
        key: w.key,
        file: w.source.file,
      });
    case "no-section":
      return t("file {{file}} has no [DNABot] section; its settings are ignored", { file: w.source.file });
  }
}

/** Config warnings, one line each, on the given stream (stderr: seen even when the log is a file). */
export function printWarnings(prog: string, warnings: readonly ConfigWarning[], out: NodeJS.WritableStream): void {
  for (const w of warnings)
    out.write(`${t("{{prog}}: warning: {{message}}", { prog, message: describeWarning(w) })}\n`);
}

export function usage<K extends KeyTable>(spec: ProgramSpec<K>): string {
  const lines: string[] = [];
  lines.push(t("Usage: {{prog}} [options] [-key=value ...]", { prog: spec.name }));
  lines.push(t(spec.summary), "");
  lines.push(t("Options:"));
  const flags = { ...COMMON_FLAGS, ...(spec.flags ?? {}) };
  for (const [f, d] of Object.entries(flags)) lines.push(`  -${f.padEnd(14)} ${t(d)}`);
  const file = t("FILE");
  lines.push(`  -config ${file.padEnd(7)} ${t("read {{file}} instead of ./dnabot.ini ([DNABot] section)", { file })}`);
  for (const [name, v] of Object.entries(spec.values ?? {})) {
    lines.push(`  ${`-${name}=${t(v.placeholder)}`.padEnd(15)} ${t(v.help)}`);
  }
  lines.push("", t("Configuration keys (defaults in brackets), in dnabot.ini or as -key=value:"));
  const keys: KeyTable = spec.keys ?? KEYS;
  for (const [k, d] of Object.entries(keys)) {
    lines.push(`  ${k.padEnd(14)} ${t(d.help)} [${formatValue(d.default)}]`);
  }
  return `${lines.join("\n")}\n`;
}

/** One-letter options other programs use, for a guess: -v → -version. */
const SHORT: Record<string, string> = { v: "version", V: "version", d: "debug", i: "info", q: "quiet" };

/** The language named on the command line (-lang=xx), if any, whatever else is wrong there. */
function langOption(argv: readonly string[]): string | undefined {
  let lang: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const m = /^--?lang(?:=(.*))?$/is.exec(argv[i] as string);
    if (m) lang = m[1] ?? argv[i + 1];
  }
  return lang;
}

/**
 * Parse arguments, set the language, load and check the config. -help / -version: the text on
 * stdout, exit 0. An unknown option, a stray word or a config mistake: one line on stderr,
 * exit 2. Config warnings go to stderr. Nothing here exits the process.
 */
export function startProgram<K extends KeyTable = typeof KEYS>(
  spec: ProgramSpec<K>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: ProgramIO,
): Started<K> {
  const keys: KeyTable = spec.keys ?? KEYS;
  const flagNames = [...Object.keys(COMMON_FLAGS), ...Object.keys(spec.flags ?? {})];
  const valueNames = Object.keys(spec.values ?? {});
  const keyNames = [...Object.keys(keys), ...valueNames];
  // Language first, so even a mistake is reported, and usage printed, in the user's language.
  initI18n(resolveLang(langOption(argv), env));
  const args = parseArgs(argv, flagNames, keyNames);
  const refuse = (line: string): Started<K> => {
    io.stderr.write(`${line}\n`);
    return { exit: 2 };
  };
  if (args.flags.help) {
    io.stdout.write(usage(spec));
    return { exit: 0 };
  }
  if (args.flags.version) {
    io.stdout.write(`${spec.name} ${packageVersion()}\n`);
    return { exit: 0 };
  }
  const values: Record<string, string> = {};
  for (const name of valueNames) {
    const v = args.overrides[name];
    delete args.overrides[name];
    if (v !== undefined) values[name] = v;
  }
  for (const k of Object.keys(args.overrides)) {
    if (keyNames.some((n) => n.toLowerCase() === k.toLowerCase())) continue;
    return refuse(unknownOption(spec.name, k, [...flagNames, ...keyNames]));
  }
  const stray = args.positional[0];
  if (stray !== undefined) {
    return refuse(
      t("{{prog}}: unexpected argument {{arg}}; options start with -, e.g. -lifespan=30", {
        prog: spec.name,
        arg: JSON.stringify(clip(stray)),
      }),
    );
  }
  if (args.configFile === "") return refuse(t("{{prog}}: -config needs a file name", { prog: spec.name }));
  const readFile = (path: string) => readIfExists(resolve(io.cwd, path));
  let load: LoadResult<K>;
  try {
    load = loadConfig<K>({
      keys: spec.keys,
      alsoKnown: spec.alsoKnown,
      overrides: args.overrides,
      configFile: args.configFile,
      readFile,
    });
  } catch (e) {
    if (e instanceof ConfigError) return refuse(describeConfigError(spec.name, e));
    throw e;
  }
  // A language given in the file (not on the command line) takes effect now.
  const lang = (load.config as { lang?: unknown }).lang;
  if (args.overrides.lang === undefined && typeof lang === "string" && lang !== "") initI18n(resolveLang(lang, env));
  printWarnings(spec.name, load.warnings, io.stderr);
  return {
    prog: { config: load.config, flags: args.flags, values, warnings: load.warnings, load, args, readFile },
  };
}

/** A program that takes group keys: its started program, the key file's path, its keyring. */
export type StartedKeyed<K extends KeyTable> =
  | { prog: Program<K>; keyFile: string; keyring: Keyring | undefined; exit?: undefined }
  | { exit: number };

/**
 * startProgram() for a program with group keys (the keyFile key, the -keygen flag): -keygen
 * prints a fresh key on stdout, exit 0; a key file others can read (or a bad key) is one line on
 * stderr, exit 2. Otherwise the program, keyFile resolved against io.cwd ("" for none) and the
 * keyring (undefined: no key; keyFile, else MCASTBOTS_KEYS).
 */
export function startKeyedProgram<K extends KeyTable & { keyFile: (typeof KEYS)["keyFile"] } = typeof KEYS>(
  spec: ProgramSpec<K>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  io: ProgramIO,
): StartedKeyed<K> {
  const started = startProgram(spec, argv, env, io);
  if (started.exit !== undefined) return started;
  const { prog } = started;
  const keyFile = prog.config.keyFile === "" ? "" : resolve(io.cwd, prog.config.keyFile);
  const keys = keySetup(prog.flags, { keyFile }, env);
  if (keys.kind === "keygen") {
    io.stdout.write(keys.out);
    return { exit: 0 };
  }
  if (keys.kind === "error") {
    io.stderr.write(`${spec.name}: ${keys.message}\n`);
    return { exit: 2 };
  }
  return { prog, keyFile, keyring: keys.keyring };
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
