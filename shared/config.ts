/**
 * Configuration, in the original's order: built-in defaults < a preset (tools) < ./dnabot.ini
 * [DNABot] (or -config FILE) < -key=value options. Keys are matched case-insensitively, as
 * Python's ConfigParser does, and quotes around values are stripped as the original does.
 *
 * One schema: KEYS (and a program's own key table, e.g. the supervisor's) says each key's kind,
 * typed default, bounds and help; the TypeScript type of a loaded config is derived from it
 * (ConfigOf), so a new key is one entry and a mismatch does not compile.
 *
 * loadConfig() is pure apart from the injected readFile: it returns the config, where each value
 * came from, and warnings, or throws a ConfigError naming key, value and source.
 */
import { isIP } from "node:net";
import { parse as parseIni } from "ini";
import { N_ } from "./i18n.js";

/** Longest timer Node honours (2^31-1 ms); a duration above it fires at once. In seconds. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);
/** Largest configuration file read; a bigger one (or /dev/zero) is refused. */
export const MAX_CONFIG_BYTES = 1 << 20;
/** Longest text value (file names, ids). */
export const MAX_TEXT_CHARS = 4096;

interface KeyBase {
  /** English description (translated in usage). */
  help: string;
}
/** Seconds; fractions allowed. Bounds inclusive unless exclusiveMin. */
export interface DurationKey extends KeyBase {
  kind: "duration";
  default: number;
  min: number;
  max: number;
  /** Strictly above min. */
  exclusiveMin?: boolean;
}
export interface ProbabilityKey extends KeyBase {
  kind: "probability";
  default: number;
}
export interface PortKey extends KeyBase {
  kind: "port";
  default: number;
}
/** A whole number; a default of undefined makes the key optional (empty means unset). */
export interface IntKey extends KeyBase {
  kind: "int";
  default: number | undefined;
  min: number;
  max: number;
}
export interface TextKey extends KeyBase {
  kind: "string" | "mcastAddr" | "ipAddr" | "lang";
  default: string;
}
export interface BoolKey extends KeyBase {
  kind: "bool";
  default: boolean;
}
export interface ChoiceKey<C extends string = string> extends KeyBase {
  kind: "choice";
  default: C;
  choices: readonly C[];
}
export type KeyDef = DurationKey | ProbabilityKey | PortKey | IntKey | TextKey | BoolKey | ChoiceKey;
export type Kind = KeyDef["kind"];
export type KeyTable = Readonly<Record<string, KeyDef>>;

/** The TypeScript type of one key's value, from its definition. */
export type ValueOf<D> = D extends { kind: "choice"; choices: readonly (infer C)[] }
  ? C
  : D extends { kind: "int"; default: undefined }
    ? number | undefined
    : D extends { kind: "duration" | "probability" | "port" | "int" }
      ? number
      : D extends { kind: "bool" }
        ? boolean
        : string;

/** The type of a loaded config, from a key table. */
export type ConfigOf<K extends KeyTable> = { -readonly [P in keyof K]: ValueOf<K[P]> };

/** Every key of the bot (and the channel keys every program shares). Order is usage's order. */
export const KEYS = {
  lifespan: {
    kind: "duration",
    default: 120,
    min: 0,
    max: MAX_TIMER_SECONDS,
    help: N_("seconds a bot runs before it leaves"),
  },
  backoff: {
    kind: "duration",
    default: 5,
    min: 0,
    max: 3600,
    help: N_("upper bound of random waits (start, PING *, UPLD *), seconds"),
  },
  heartbeat: {
    kind: "duration",
    default: 10,
    min: 0,
    exclusiveMin: true,
    max: 86400,
    help: N_("a bot sends at least one message this often, seconds"),
  },
  results: { kind: "string", default: "results.data", help: N_("the bot's research results file") },
  discovery: { kind: "probability", default: 0.01, help: N_("probability per second of a discovery") },
  frankenstein: { kind: "probability", default: 0.001, help: N_("probability per second of going Frankenstein") },
  killBoost: {
    kind: "probability",
    default: 0.01,
    help: N_("added to the Frankenstein probability by every KILL seen"),
  },
  chanAddr: { kind: "mcastAddr", default: "239.1.2.4", help: N_("multicast group address (IPv4 or IPv6)") },
  chanPort: { kind: "port", default: 8421, help: N_("multicast group UDP port") },
  chanIface: {
    kind: "ipAddr",
    default: "",
    help: N_("address of the interface to multicast on; empty means loopback (127.0.0.1 or ::1)"),
  },
  chanTTL: { kind: "int", default: 1, min: 0, max: 255, help: N_("multicast TTL / hop limit") },
  PKT_SIZE: { kind: "int", default: 1024, min: 64, max: 65507, help: N_("largest datagram sent or accepted, bytes") },
  QUEUE_SIZE: {
    kind: "int",
    default: 512,
    min: 1,
    max: 1_000_000,
    help: N_("inbound messages held before dropping"),
  },
  filePort: { kind: "port", default: 8000, help: N_("TCP port of the supervisor's upload server") },
  lang: { kind: "lang", default: "", help: N_("language (en, fr); empty means from LC_ALL / LC_MESSAGES / LANG") },
  seed: {
    kind: "int",
    default: undefined,
    min: 0,
    max: 4294967295,
    help: N_("seed for repeatable random choices; empty means random"),
  },
  // Reliability layer (NACK/RSND/SKIP/LAST, see shared/reliable/).
  reliable: {
    kind: "bool",
    default: true,
    help: N_("repair lost messages with NACK/RSND/SKIP (false: plain channel)"),
  },
  nackWait: {
    kind: "duration",
    default: 0.2,
    min: 0,
    exclusiveMin: true,
    max: 60,
    help: N_("upper bound of the random wait before a NACK, seconds; also the base of its backoff"),
  },
  nackTries: {
    kind: "int",
    default: 10,
    min: 1,
    max: 100,
    help: N_("NACK rounds for one lost message before giving up"),
  },
  rsndWait: {
    kind: "duration",
    default: 0.1,
    min: 0,
    exclusiveMin: true,
    max: 60,
    help: N_("upper bound of the random wait before answering a NACK, seconds"),
  },
  nackRate: {
    kind: "int",
    default: 10,
    min: 0,
    max: 1_000_000,
    help: N_("most NACKs sent per second (bursts of twice that); 0: no limit"),
  },
  rsndRate: {
    kind: "int",
    default: 20,
    min: 0,
    max: 1_000_000,
    help: N_("most RSND/SKIP answers sent per second (bursts of twice that); 0: no limit"),
  },
  holdCount: { kind: "int", default: 512, min: 0, max: 1_000_000, help: N_("messages kept for retransmission") },
  holdTime: {
    kind: "duration",
    default: 60,
    min: 0,
    max: 86400,
    help: N_("seconds a message is kept for retransmission"),
  },
  linger: {
    kind: "duration",
    default: 1.5,
    min: 0,
    max: 60,
    help: N_("seconds a leaving program stays to repair its last message (an EXIT, a last command); 0: leave at once"),
  },
  // Group keys (shared/keys/): off unless keyFile or the MCASTBOTS_KEYS variable gives keys.
  keyFile: {
    kind: "string",
    default: "",
    help: N_("file of base64 group keys, one per line, first signs, all verify; empty: MCASTBOTS_KEYS, else no key"),
  },
  acceptUnsigned: {
    kind: "bool",
    default: false,
    help: N_("with a key: let unsigned messages through, marked unverified (the original's programs cannot sign)"),
  },
  keyWindow: {
    kind: "duration",
    default: 10,
    min: 0,
    exclusiveMin: true,
    max: 3600,
    help: N_("with a key: largest difference between clocks (plus transit) accepted on a signed timestamp, seconds"),
  },
  // Packet-loss simulator (shared/loss.ts): off unless a rate is above 0.
  lossRate: { kind: "probability", default: 0, help: N_("simulated packet loss: average probability of a drop") },
  lossBurst: {
    kind: "int",
    default: 1,
    min: 1,
    max: 1000,
    help: N_("simulated packet loss: mean length of a run of drops (1: independent drops)"),
  },
  lossDir: {
    kind: "choice",
    default: "recv",
    choices: ["send", "recv", "both"],
    help: N_("simulated impairments apply to datagrams sent, received or both"),
  },
  dupRate: {
    kind: "probability",
    default: 0,
    help: N_("simulated duplication: probability a datagram arrives twice"),
  },
  reorderRate: {
    kind: "probability",
    default: 0,
    help: N_("simulated reordering: probability a datagram is held back behind the next"),
  },
  // Adversarial mode (dnabot/rogue.ts), for testing: the bot becomes a rogue peer.
  rogue: {
    kind: "choice",
    default: "",
    choices: ["", "ids", "last", "rsnd", "nack", "beats", "ping", "upld", "malformed"],
    help: N_("for testing: be a rogue peer sending this attack (see README); empty: a normal bot"),
  },
  rogueRate: {
    kind: "int",
    default: 1000,
    min: 0,
    max: 10_000_000,
    help: N_("for testing: datagrams per second a rogue sends; 0: as fast as it can"),
  },
} as const satisfies KeyTable;

export type Key = keyof typeof KEYS;
/** The bot's configuration. chanIface is resolved: never empty (loopback of the group's family). */
export type Config = ConfigOf<typeof KEYS>;

/** The keys the channel stack reads (shared/open.ts): every program that joins the group has them. */
export const CHANNEL_KEY_NAMES = [
  "chanAddr",
  "chanPort",
  "chanIface",
  "chanTTL",
  "PKT_SIZE",
  "seed",
  "reliable",
  "nackWait",
  "nackTries",
  "rsndWait",
  "nackRate",
  "rsndRate",
  "holdCount",
  "holdTime",
  "linger",
  "keyFile",
  "acceptUnsigned",
  "keyWindow",
  "lossRate",
  "lossBurst",
  "lossDir",
  "dupRate",
  "reorderRate",
] as const satisfies readonly Key[];
export type ChannelConfig = Pick<Config, (typeof CHANNEL_KEY_NAMES)[number]>;

/** A sub-table of a key table, in the table's order. */
export function pickKeys<K extends KeyTable, N extends keyof K & string>(table: K, names: readonly N[]): Pick<K, N> {
  const out: Partial<Pick<K, N>> = {};
  for (const k of Object.keys(table)) if ((names as readonly string[]).includes(k)) out[k as N] = table[k as N];
  return out as Pick<K, N>;
}

// ---- presets (memberlist's DefaultLocalConfig / DefaultLANConfig pattern) -------------------

/** Typed values over the built-in defaults. */
export type Preset = Partial<Config>;

/**
 * Named presets for the tools. Each is a typed set of values over the defaults; a program gets
 * them as -key=value options (presetArgs) or as a config (configWith).
 */
export const PRESETS = {
  /** The built-in defaults: the group stays on this host (loopback, TTL 1). */
  local: {},
  /** Lively bots for a first look: something happens within seconds. */
  demo: { heartbeat: 3, backoff: 2, discovery: 0.05, frankenstein: 0.005 },
  /** The load report: every bot beats every second and starts within a second. */
  load: { heartbeat: 1, backoff: 1 },
} as const satisfies Record<string, Preset>;
export type PresetName = keyof typeof PRESETS;

/**
 * A LAN: multicast through the interface with this address (one of this host's), TTL 1 so it
 * stays on the local network. Needs a network that is yours (README: "Spanning a LAN").
 */
export function lanPreset(iface: string): Preset {
  return { chanIface: iface, chanTTL: 1 };
}

/** A value as it is written on a command line or in dnabot.ini. */
export function formatValue(value: unknown): string {
  if (value === undefined) return "";
  return String(value);
}

/** -key=value options giving these values, for a program started as a process. */
export function presetArgs(preset: Preset): string[] {
  return Object.entries(preset)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `-${k}=${formatValue(v)}`);
}

// ---- errors and warnings ----------------------------------------------------------------------

export type SourceKind = "default" | "preset" | "file" | "cli";
export interface ValueSource {
  kind: SourceKind;
  /** The file name for kind "file". */
  file?: string;
}

export type Problem =
  | "not-a-number"
  | "not-an-integer"
  | "negative-duration"
  | "duration-not-positive"
  | "out-of-range"
  | "probability-range"
  | "port-range"
  | "not-multicast"
  | "not-an-address"
  | "family-mismatch"
  | "not-a-boolean"
  | "bad-lang"
  | "missing-file"
  | "unreadable-file"
  | "file-too-large"
  | "bad-file"
  | "not-a-choice"
  | "too-long"
  | "unknown-option";

export interface Bounds {
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  choices?: readonly string[];
}

/** A configuration mistake. The CLI renders it as one translated line and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly source: ValueSource,
    readonly problem: Problem,
    readonly bounds?: Bounds,
  ) {
    super(`${key}=${clip(value)} (${describeSource(source)}): ${problem}`);
    this.name = "ConfigError";
  }
}

/** A value for a one-line message: at most `max` characters, the length said when cut. */
export function clip(value: string, max = 60): string {
  return value.length <= max ? value : `${value.slice(0, max)}…(${value.length})`;
}

export function describeSource(s: ValueSource): string {
  return s.kind === "file" ? `file ${s.file}` : s.kind === "cli" ? "command line" : `built-in ${s.kind}`;
}

export type ConfigWarning =
  | { kind: "unknown-key"; key: string; source: ValueSource; guess?: string }
  /** A key above the first section header: the original's reader refuses such a file. */
  | { kind: "outside-section"; key: string; source: ValueSource }
  /** The file has settings but no [DNABot] section, so none of them apply. */
  | { kind: "no-section"; source: ValueSource };

export interface LoadResult<K extends KeyTable = typeof KEYS> {
  config: ConfigOf<K>;
  sources: Record<keyof K, ValueSource>;
  warnings: ConfigWarning[];
  /** The file actually read, if any. */
  file: string | undefined;
}

export interface LoadOptions<K extends KeyTable = typeof KEYS> {
  /** The program's key table (default KEYS, the bot's). */
  keys?: K;
  /** Keys of other programs sharing the file (the supervisor reads the bots' dnabot.ini):
   *  ignored there without a warning. Unknown on the command line all the same. */
  alsoKnown?: KeyTable;
  /** Typed values over the defaults, under the file and the command line (a preset). */
  preset?: NoInfer<Partial<ConfigOf<K>>>;
  /** Config values from the command line, already split from flags (see cli.ts). */
  overrides: Record<string, string>;
  /** -config FILE; when absent ./dnabot.ini is read if it exists. */
  configFile?: string;
  /** Returns the file's text, or undefined if it does not exist; throws on other errors
   *  (a FileTooLargeError when it is above MAX_CONFIG_BYTES). */
  readFile: (path: string) => string | undefined;
}

/** Thrown by a readFile that refused a file above its size cap. */
export class FileTooLargeError extends Error {
  constructor(readonly max: number) {
    super(`file larger than ${max} bytes`);
    this.name = "FileTooLargeError";
  }
}

export const DEFAULT_CONFIG_FILE = "./dnabot.ini";
export const SECTION = "DNABot";

/** The declared spelling of a key, matched case-insensitively. */
export function canonicalKey(table: KeyTable, key: string): string | undefined {
  if (Object.hasOwn(table, key)) return key;
  const lower = key.toLowerCase();
  return Object.keys(table).find((k) => k.toLowerCase() === lower);
}

/** The closest name to a mistyped one (2 edits for short words, 3 for long ones), if any. */
export function closest(word: string, names: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = (w.length < 3 ? 0 : w.length < 8 ? 2 : 3) + 1;
  for (const n of names) {
    const d = editDistance(w, n.toLowerCase());
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** Strip one layer of matching quotes, "since I keep making this mistake" (the original). */
export function stripQuotes(s: string): string {
  return s.trim().replace(/^["']+|["']+$/g, "");
}

export function loadConfig<K extends KeyTable = typeof KEYS>(opts: LoadOptions<K>): LoadResult<K> {
  const defs: KeyTable = opts.keys ?? KEYS;
  const raw = new Map<string, { value: string; source: ValueSource }>();
  const warnings: ConfigWarning[] = [];

  // The file: -config FILE must exist; ./dnabot.ini is optional.
  const fileName = opts.configFile ?? DEFAULT_CONFIG_FILE;
  const fileSource: ValueSource = { kind: "file", file: fileName };
  let text: string | undefined;
  try {
    text = opts.readFile(fileName);
  } catch (e) {
    // ./dnabot.ini unreadable (a directory, no permission): say it was the default file.
    const from: ValueSource = { kind: opts.configFile === undefined ? "default" : "cli" };
    if (e instanceof FileTooLargeError)
      throw new ConfigError("config", fileName, from, "file-too-large", { max: e.max });
    throw new ConfigError("config", fileName, from, "unreadable-file");
  }
  if (text === undefined && opts.configFile !== undefined) {
    throw new ConfigError("config", fileName, { kind: "cli" }, "missing-file");
  }
  let fileRead: string | undefined;
  if (text !== undefined) {
    fileRead = fileName;
    let parsed: Record<string, unknown>;
    try {
      parsed = parseIni(colonsToEquals(text)) as Record<string, unknown>;
    } catch {
      throw new ConfigError("config", fileName, fileSource, "bad-file");
    }
    const section = findSection(parsed);
    for (const [k, v] of Object.entries(parsed)) {
      if (!isSection(v)) warnings.push({ kind: "outside-section", key: clip(k), source: fileSource });
    }
    if (!section && Object.values(parsed).some(isSection)) warnings.push({ kind: "no-section", source: fileSource });
    for (const [k, v] of Object.entries(section ?? {})) {
      const key = canonicalKey(defs, k);
      if (!key) {
        if (!opts.alsoKnown || !canonicalKey(opts.alsoKnown, k)) {
          const guess = closest(k, Object.keys(defs));
          warnings.push({ kind: "unknown-key", key: clip(k), source: fileSource, ...(guess ? { guess } : {}) });
        }
        continue;
      }
      raw.set(key, { value: iniValueText(v), source: fileSource });
    }
  }

  for (const [k, v] of Object.entries(opts.overrides)) {
    const key = canonicalKey(defs, k);
    if (!key) throw new ConfigError(k, v, { kind: "cli" }, "unknown-option");
    raw.set(key, { value: v, source: { kind: "cli" } });
  }

  const values: Record<string, unknown> = {};
  const sources: Record<string, ValueSource> = {};
  const preset: Partial<Record<string, unknown>> = opts.preset ?? {};
  for (const [k, d] of Object.entries(defs)) {
    const r = raw.get(k);
    if (r) {
      values[k] = convert(k, d, stripQuotes(r.value), r.source);
      sources[k] = r.source;
    } else if (preset[k] !== undefined) {
      // Checked as if written: a preset cannot carry a value the key refuses.
      values[k] = convert(k, d, formatValue(preset[k]), { kind: "preset" });
      sources[k] = { kind: "preset" };
    } else {
      values[k] = d.default;
      sources[k] = { kind: "default" };
    }
  }

  // chanIface: empty means host-local scope, in the group's family.
  if (typeof values.chanAddr === "string" && typeof values.chanIface === "string") {
    const v6 = isIP(values.chanAddr) === 6;
    const iface = values.chanIface;
    if (iface === "") values.chanIface = v6 ? "::1" : "127.0.0.1";
    else if ((isIP(iface) === 6) !== v6) {
      throw new ConfigError("chanIface", iface, sources.chanIface ?? { kind: "default" }, "family-mismatch");
    }
  }

  // Every value was made by convert() from its own definition (or is the typed default), so
  // it has the type ValueOf gives that key.
  return {
    config: values as ConfigOf<K>,
    sources: sources as Record<keyof K, ValueSource>,
    warnings,
    file: fileRead,
  };
}

/** The built-in defaults of a key table over a preset, checked and resolved as a load would. */
export function configWith(preset?: Preset): Config;
export function configWith<K extends KeyTable>(preset: NoInfer<Partial<ConfigOf<K>>>, keys: K): ConfigOf<K>;
export function configWith(preset: Partial<ConfigOf<KeyTable>> = {}, keys: KeyTable = KEYS): unknown {
  return loadConfig({ keys, preset, overrides: {}, readFile: () => undefined }).config;
}

function isSection(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** ConfigParser (the original's reader) also takes `key: value`; ini only knows `=`. */
function colonsToEquals(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      if (/^\s*([;#[]|$)/.test(line)) return line;
      const d = /[=:]/.exec(line);
      return d && d[0] === ":" ? `${line.slice(0, d.index)}=${line.slice(d.index + 1)}` : line;
    })
    .join("\n");
}

/** ini turns `true`/`false`/`null` into values and `k[]` into arrays; we want the text back. */
function iniValueText(v: unknown): string {
  if (Array.isArray(v)) return iniValueText(v[v.length - 1]);
  if (v === null) return "null";
  if (v === undefined) return "";
  return String(v);
}

function findSection(parsed: Record<string, unknown>): Record<string, unknown> | undefined {
  for (const [name, v] of Object.entries(parsed)) {
    if (name === SECTION && isSection(v)) return v;
  }
  return undefined;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Convert and check one value; throws ConfigError. */
export function convert<D extends KeyDef>(key: string, def: D, value: string, source: ValueSource): ValueOf<D>;
export function convert(key: string, def: KeyDef, value: string, source: ValueSource): unknown {
  const fail = (problem: Problem, bounds?: Bounds): never => {
    throw new ConfigError(key, value, source, problem, bounds);
  };
  if (value.length > MAX_TEXT_CHARS) fail("too-long", { max: MAX_TEXT_CHARS });
  switch (def.kind) {
    case "string":
      return value;
    case "choice": {
      const hit = def.choices.find((c) => c.toLowerCase() === value.toLowerCase());
      return hit ?? fail("not-a-choice", { choices: def.choices });
    }
    case "lang":
      if (value !== "" && !/^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})?$/.test(value)) fail("bad-lang");
      return value;
    case "bool": {
      const v = value.toLowerCase();
      if (["1", "true", "yes", "on"].includes(v)) return true;
      if (["0", "false", "no", "off"].includes(v)) return false;
      return fail("not-a-boolean");
    }
    case "mcastAddr": {
      const fam = isIP(value);
      if (fam === 4) {
        const first = Number(value.split(".")[0]);
        if (first >= 224 && first <= 239) return value;
      } else if (fam === 6 && /^ff/i.test(value)) {
        return value;
      }
      return fail("not-multicast");
    }
    case "ipAddr":
      if (value !== "" && isIP(value) === 0) fail("not-an-address");
      return value;
    case "port": {
      if (!/^[+-]?\d+$/.test(value)) fail(NUMBER.test(value) ? "not-an-integer" : "not-a-number");
      const n = Number(value);
      if (n < 1 || n > 65535) fail("port-range", { min: 1, max: 65535 });
      return n;
    }
    case "int": {
      if (value === "" && def.default === undefined) return undefined;
      if (!/^[+-]?\d+$/.test(value)) fail(NUMBER.test(value) ? "not-an-integer" : "not-a-number");
      const n = Number(value);
      if (n < def.min || n > def.max) fail("out-of-range", { min: def.min, max: def.max });
      return n;
    }
    case "duration": {
      if (!NUMBER.test(value)) fail("not-a-number");
      const n = Number(value);
      if (!Number.isFinite(n)) fail("not-a-number");
      if (n < 0) fail("negative-duration");
      if (def.exclusiveMin && n <= def.min) {
        if (def.min === 0) fail("duration-not-positive");
        fail("out-of-range", { min: def.min, max: def.max, exclusiveMin: true });
      }
      if (n < def.min || n > def.max)
        fail("out-of-range", { min: def.min, max: def.max, exclusiveMin: def.exclusiveMin });
      return n;
    }
    case "probability": {
      if (!NUMBER.test(value)) fail("not-a-number");
      const n = Number(value);
      if (!(n >= 0 && n <= 1)) fail("probability-range");
      return n;
    }
  }
}
