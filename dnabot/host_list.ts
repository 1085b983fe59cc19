/**
 * The bot host's list file and per-bot configuration, kept apart from I/O so they can be tested:
 * `-hostList=FILE` names one bot directory per line; each bot is configured as `node dnabot`
 * started in that directory would be (its ./dnabot.ini, or `-config FILE` relative to it, then
 * the command line on top). Bots of one host share one socket, one language and one reliability
 * layer, so the keys that set those must agree across the list.
 */
import { createHash } from "node:crypto";
import { basename, dirname, isAbsolute, resolve } from "node:path";
import { CHANNEL_KEY_NAMES, type Config } from "../shared/config.js";

/** Most bots one host runs: half the id space of the original's naming (65,535 ids), so a new
 *  id is always found quickly. */
export const MAX_HOST_BOTS = 32_768;
/** Longest list file read (a line per directory; 32,768 long paths fit easily). */
export const MAX_LIST_BYTES = 16 * 1024 * 1024;

/** Keys every bot of a host must share: the socket, the wire, the group keys, the reliability
 *  layer and the loss simulator (the channel's keys, but the seed: each bot has its own stream)
 *  and the language all belong to the process. */
export const SHARED_KEYS: readonly (keyof Config)[] = [...CHANNEL_KEY_NAMES.filter((k) => k !== "seed"), "lang"];

export type ListProblem =
  | { kind: "empty" }
  | { kind: "too-many"; count: number }
  | { kind: "duplicate"; line: number; dir: string };

export type ListResult = { ok: true; dirs: string[] } | { ok: false; problem: ListProblem };

/**
 * The directories of a list file's text: one per line, surrounding blanks trimmed, empty lines
 * and lines starting with `#` skipped; relative paths are relative to the list file's directory.
 */
export function parseHostList(text: string, listDir: string): ListResult {
  const dirs: string[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === "" || line.startsWith("#")) continue;
    const dir = isAbsolute(line) ? resolve(line) : resolve(listDir, line);
    if (seen.has(dir)) return { ok: false, problem: { kind: "duplicate", line: i + 1, dir: line } };
    seen.set(dir, i + 1);
    dirs.push(dir);
    if (dirs.length > MAX_HOST_BOTS) return { ok: false, problem: { kind: "too-many", count: dirs.length } };
  }
  if (dirs.length === 0) return { ok: false, problem: { kind: "empty" } };
  return { ok: true, dirs };
}

/** The first shared key on which `config` differs from `first`, if any. */
export function sharedKeyMismatch(first: Config, config: Config): keyof Config | undefined {
  return SHARED_KEYS.find((k) => first[k] !== config[k]);
}

/** A repeatable seed for the bot at `index` from the host's -seed (each bot its own stream). */
export function botSeed(seed: number, index: number): number {
  return (seed + Math.imul(index + 1, 0x9e3779b1)) >>> 0;
}

/** How many integers the original's naming draws from (dnabot/identity.ts: 1..65535). */
const ID_NUMBERS = 65_535;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * The integer (1..65535) whose name a bot in `dir` takes, when `dir` is one of a run's numbered
 * bot directories (`.../RUN/Bot0042`, as spawnBots and the load report make them): number 42
 * through a permutation of 1..65535 keyed by the run directory. Bots of one run, in however many
 * hosts, thus take distinct ids (up to 65,535 of them) without talking to each other, while each
 * id is still the name of an integer, as random as the run directory's digest. Undefined for
 * other directory names (the bot then draws its id at random, as a standalone bot does).
 */
export function runIdNumber(dir: string): number | undefined {
  const m = /^[A-Za-z_-]*(\d{1,9})$/.exec(basename(dir));
  if (!m) return undefined;
  const k = Number(m[1]);
  if (k < 1 || k > ID_NUMBERS) return undefined;
  const digest = createHash("md5")
    .update(resolve(dirname(dir)))
    .digest();
  // n -> (a·n + b) mod 65535 is a permutation when a is coprime with 65535.
  let a = (digest.readUInt32BE(0) % (ID_NUMBERS - 1)) + 1;
  while (gcd(a, ID_NUMBERS) !== 1) a = (a % (ID_NUMBERS - 1)) + 1;
  const b = digest.readUInt32BE(4) % ID_NUMBERS;
  return ((a * k + b) % ID_NUMBERS) + 1;
}
