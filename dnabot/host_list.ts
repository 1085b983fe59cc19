/**
 * The bot host's list file and per-bot configuration, kept apart from I/O so they can be tested:
 * `-hostList=FILE` names one bot directory per line; each bot is configured as `node dnabot`
 * started in that directory would be (its ./dnabot.ini, or `-config FILE` relative to it, then
 * the command line on top). Bots of one host share one socket, one language and one reliability
 * layer, so the keys that set those must agree across the list.
 */
import { isAbsolute, resolve } from "node:path";
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
