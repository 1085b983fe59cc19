/**
 * Configuration, in the original's order: built-in defaults < ./dnabot.ini [DNABot] (or
 * -config FILE) < -key=value options. Keys are matched case-insensitively, as Python's
 * ConfigParser does, and quotes around values are stripped as the original does.
 *
 * loadConfig() is pure apart from the injected readFile: it returns the config, where each value
 * came from, and warnings, or throws a ConfigError naming key, value and source.
 */
import { isIP } from "node:net";
import { parse as parseIni } from "ini";
import { N_ } from "./i18n.js";

export type Kind =
  | "duration"
  | "probability"
  | "port"
  | "int"
  | "string"
  | "mcastAddr"
  | "ipAddr"
  | "bool"
  | "lang"
  | "choice";

export interface KeyDef {
  kind: Kind;
  default: string;
  /** For int/duration: inclusive bounds; durations given in seconds. */
  min?: number;
  max?: number;
  /** For duration: strictly above min. */
  exclusiveMin?: boolean;
  /** For choice: the accepted values. */
  choices?: readonly string[];
  /** English description (translated in usage). */
  help: string;
}

/** Every key the programs understand. Order is the order usage prints them. */
export const KEYS = {
  lifespan: { kind: "duration", default: "120", help: N_("seconds a bot runs before it leaves") },
  backoff: { kind: "duration", default: "5", help: N_("upper bound of random waits (start, PING *, UPLD *), seconds") },
  heartbeat: {
    kind: "duration",
    default: "10",
    min: 0,
    exclusiveMin: true,
    help: N_("a bot sends at least one message this often, seconds"),
  },
  results: { kind: "string", default: "results.data", help: N_("the bot's research results file") },
  discovery: { kind: "probability", default: "0.01", help: N_("probability per second of a discovery") },
  frankenstein: { kind: "probability", default: "0.001", help: N_("probability per second of going Frankenstein") },
  killBoost: {
    kind: "probability",
    default: "0.01",
    help: N_("added to the Frankenstein probability by every KILL seen"),
  },
  chanAddr: { kind: "mcastAddr", default: "239.1.2.4", help: N_("multicast group address (IPv4 or IPv6)") },
  chanPort: { kind: "port", default: "8421", help: N_("multicast group UDP port") },
  chanIface: {
    kind: "ipAddr",
    default: "",
    help: N_("address of the interface to multicast on; empty means loopback (127.0.0.1 or ::1)"),
  },
  chanTTL: { kind: "int", default: "1", min: 0, max: 255, help: N_("multicast TTL / hop limit") },
  PKT_SIZE: { kind: "int", default: "1024", min: 64, max: 65507, help: N_("largest datagram sent or accepted, bytes") },
  QUEUE_SIZE: {
    kind: "int",
    default: "512",
    min: 1,
    max: 1_000_000,
    help: N_("inbound messages held before dropping"),
  },
  filePort: { kind: "port", default: "8000", help: N_("TCP port of the supervisor's upload server") },
  lang: { kind: "lang", default: "", help: N_("language (en, fr); empty means from LC_ALL / LC_MESSAGES / LANG") },
  seed: {
    kind: "int",
    default: "",
    min: 0,
    max: 4294967295,
    help: N_("seed for repeatable random choices; empty means random"),
  },
  // Reliability layer (NACK/RSND/SKIP/LAST, see shared/reliable/).
  reliable: {
    kind: "bool",
    default: "true",
    help: N_("repair lost messages with NACK/RSND/SKIP (false: plain channel)"),
  },
  nackWait: {
    kind: "duration",
    default: "0.2",
    min: 0,
    exclusiveMin: true,
    help: N_("upper bound of the random wait before a NACK, seconds; also the base of its backoff"),
  },
  nackTries: {
    kind: "int",
    default: "10",
    min: 1,
    max: 100,
    help: N_("NACK rounds for one lost message before giving up"),
  },
  rsndWait: {
    kind: "duration",
    default: "0.1",
    min: 0,
    exclusiveMin: true,
    help: N_("upper bound of the random wait before answering a NACK, seconds"),
  },
  nackRate: {
    kind: "int",
    default: "10",
    min: 0,
    max: 1_000_000,
    help: N_("most NACKs sent per second (bursts of twice that); 0: no limit"),
  },
  rsndRate: {
    kind: "int",
    default: "20",
    min: 0,
    max: 1_000_000,
    help: N_("most RSND/SKIP answers sent per second (bursts of twice that); 0: no limit"),
  },
  holdCount: { kind: "int", default: "512", min: 0, max: 1_000_000, help: N_("messages kept for retransmission") },
  holdTime: { kind: "duration", default: "60", help: N_("seconds a message is kept for retransmission") },
  linger: {
    kind: "duration",
    default: "1.5",
    max: 60,
    help: N_("seconds a leaving program stays to repair its last message (an EXIT, a last command); 0: leave at once"),
  },
  // Packet-loss simulator (shared/loss.ts): off unless a rate is above 0.
  lossRate: { kind: "probability", default: "0", help: N_("simulated packet loss: average probability of a drop") },
  lossBurst: {
    kind: "int",
    default: "1",
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
    default: "0",
    help: N_("simulated duplication: probability a datagram arrives twice"),
  },
  reorderRate: {
    kind: "probability",
    default: "0",
    help: N_("simulated reordering: probability a datagram is held back behind the next"),
  },
} as const satisfies Record<string, KeyDef>;

export type Key = keyof typeof KEYS;

export interface Config {
  lifespan: number;
  backoff: number;
  heartbeat: number;
  results: string;
  discovery: number;
  frankenstein: number;
  killBoost: number;
  chanAddr: string;
  chanPort: number;
  /** Resolved: never empty (loopback of the group's family by default). */
  chanIface: string;
  chanTTL: number;
  PKT_SIZE: number;
  QUEUE_SIZE: number;
  filePort: number;
  lang: string;
  seed: number | undefined;
  reliable: boolean;
  /** Seconds, as all durations. */
  nackWait: number;
  nackTries: number;
  rsndWait: number;
  nackRate: number;
  rsndRate: number;
  linger: number;
  holdCount: number;
  holdTime: number;
  lossRate: number;
  lossBurst: number;
  lossDir: "send" | "recv" | "both";
  dupRate: number;
  reorderRate: number;
}

export type SourceKind = "default" | "file" | "cli";
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
  | "bad-file"
  | "not-a-choice";

/** A configuration mistake. The CLI renders it as one translated line and exits 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly value: string,
    readonly source: ValueSource,
    readonly problem: Problem,
    readonly bounds?: { min?: number; max?: number; choices?: readonly string[] },
  ) {
    super(`${key}=${value} (${describeSource(source)}): ${problem}`);
    this.name = "ConfigError";
  }
}

export function describeSource(s: ValueSource): string {
  return s.kind === "file" ? `file ${s.file}` : s.kind === "cli" ? "command line" : "built-in default";
}

export type ConfigWarning =
  | { kind: "unknown-key"; key: string; source: ValueSource }
  | { kind: "unknown-option"; key: string }
  /** A key above the first section header: the original's reader refuses such a file. */
  | { kind: "outside-section"; key: string; source: ValueSource }
  /** The file has settings but no [DNABot] section, so none of them apply. */
  | { kind: "no-section"; source: ValueSource };

export interface LoadResult {
  config: Config;
  sources: Record<Key, ValueSource>;
  warnings: ConfigWarning[];
  /** The file actually read, if any. */
  file: string | undefined;
}

export interface LoadOptions {
  /** Config values from the command line, already split from flags (see cli.ts). */
  overrides: Record<string, string>;
  /** -config FILE; when absent ./dnabot.ini is read if it exists. */
  configFile?: string;
  /** Extra keys a program accepts on top of KEYS (e.g. the supervisor's). */
  extraKeys?: Record<string, KeyDef>;
  /** Returns the file's text, or undefined if it does not exist; throws on other errors. */
  readFile: (path: string) => string | undefined;
}

export const DEFAULT_CONFIG_FILE = "./dnabot.ini";
export const SECTION = "DNABot";

const CANONICAL = new Map<string, string>();
function canonical(key: string, extra?: Record<string, KeyDef>): string | undefined {
  if (CANONICAL.size === 0) for (const k of Object.keys(KEYS)) CANONICAL.set(k.toLowerCase(), k);
  const lower = key.toLowerCase();
  const hit = CANONICAL.get(lower);
  if (hit) return hit;
  if (extra) for (const k of Object.keys(extra)) if (k.toLowerCase() === lower) return k;
  return undefined;
}

/** Strip one layer of matching quotes, "since I keep making this mistake" (the original). */
export function stripQuotes(s: string): string {
  return s.trim().replace(/^["']+|["']+$/g, "");
}

export function loadConfig(opts: LoadOptions): LoadResult & { extra: Record<string, unknown> } {
  const defs: Record<string, KeyDef> = { ...KEYS, ...(opts.extraKeys ?? {}) };
  const raw: Record<string, { value: string; source: ValueSource }> = {};
  for (const [k, d] of Object.entries(defs)) raw[k] = { value: d.default, source: { kind: "default" } };
  const warnings: ConfigWarning[] = [];

  // The file: -config FILE must exist; ./dnabot.ini is optional.
  const fileName = opts.configFile ?? DEFAULT_CONFIG_FILE;
  const fileSource: ValueSource = { kind: "file", file: fileName };
  let text: string | undefined;
  try {
    text = opts.readFile(fileName);
  } catch {
    // ./dnabot.ini unreadable (a directory, no permission): say it was the default file.
    const from: ValueSource = { kind: opts.configFile === undefined ? "default" : "cli" };
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
      if (!isSection(v)) warnings.push({ kind: "outside-section", key: k, source: fileSource });
    }
    if (!section && Object.values(parsed).some(isSection)) warnings.push({ kind: "no-section", source: fileSource });
    for (const [k, v] of Object.entries(section ?? {})) {
      const key = canonical(k, opts.extraKeys);
      if (!key) {
        warnings.push({ kind: "unknown-key", key: k, source: fileSource });
        continue;
      }
      raw[key] = { value: iniValueText(v), source: fileSource };
    }
  }

  for (const [k, v] of Object.entries(opts.overrides)) {
    const key = canonical(k, opts.extraKeys);
    if (!key) {
      warnings.push({ kind: "unknown-option", key: k });
      continue;
    }
    raw[key] = { value: v, source: { kind: "cli" } };
  }

  const values: Record<string, unknown> = {};
  for (const [k, d] of Object.entries(defs)) {
    const r = raw[k] as { value: string; source: ValueSource };
    values[k] = convert(k, d, stripQuotes(r.value), r.source);
  }

  // chanIface: empty means host-local scope, in the group's family.
  const v6 = isIP(values.chanAddr as string) === 6;
  const iface = values.chanIface as string;
  if (iface === "") values.chanIface = v6 ? "::1" : "127.0.0.1";
  else if ((isIP(iface) === 6) !== v6) {
    throw new ConfigError("chanIface", iface, (raw.chanIface as { source: ValueSource }).source, "family-mismatch");
  }

  const sources = {} as Record<Key, ValueSource>;
  for (const k of Object.keys(KEYS) as Key[]) sources[k] = (raw[k] as { source: ValueSource }).source;
  const extra: Record<string, unknown> = {};
  for (const k of Object.keys(opts.extraKeys ?? {})) extra[k] = values[k];
  return { config: values as unknown as Config, sources, warnings, file: fileRead, extra };
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
    if (name === SECTION && v && typeof v === "object") return v as Record<string, unknown>;
  }
  return undefined;
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Convert and check one value; throws ConfigError. Exported for programs' own keys. */
export function convert(key: string, def: KeyDef, value: string, source: ValueSource): unknown {
  const fail = (problem: Problem, bounds?: { min?: number; max?: number; choices?: readonly string[] }): never => {
    throw new ConfigError(key, value, source, problem, bounds);
  };
  switch (def.kind) {
    case "string":
      return value;
    case "choice": {
      const hit = def.choices?.find((c) => c.toLowerCase() === value.toLowerCase());
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
      if (value === "" && def.default === "") return undefined;
      if (!/^[+-]?\d+$/.test(value)) fail(NUMBER.test(value) ? "not-an-integer" : "not-a-number");
      const n = Number(value);
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) {
        fail("out-of-range", { min: def.min, max: def.max });
      }
      return n;
    }
    case "duration": {
      if (!NUMBER.test(value)) fail("not-a-number");
      const n = Number(value);
      if (!Number.isFinite(n)) fail("not-a-number");
      if (n < 0) fail("negative-duration");
      if (def.exclusiveMin && n <= (def.min ?? 0)) fail("duration-not-positive");
      if (def.max !== undefined && n > def.max) fail("out-of-range", { min: def.min, max: def.max });
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
