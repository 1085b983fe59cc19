/**
 * A fleet of bot processes, each in its own directory made fresh from a prototype: the part
 * spawnBots, the demo and the load report share. It prepares the directories (and refuses to
 * delete anything that is not one of ours), starts the processes, sends each one's output to its
 * directory's bot.out (and, when tailing, line by line to a listener), stops them with a signal
 * and SIGKILL after a grace period, and counts how each one ended.
 *
 * Children are started in their own process group (so a Ctrl-C at the terminal reaches only the
 * fleet's owner, which then stops them one by one) and watch a pipe from us through
 * orphan_guard.js, so they stop themselves if we die without cleaning up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import {
  closeSync,
  cpSync,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";

/** How a bot's process ended. */
export type Ending = "lifespan" | "killed" | "signalled" | "crashed" | "forced";
export const ENDINGS: readonly Ending[] = ["lifespan", "killed", "signalled", "crashed", "forced"];

/** Marker file in every directory we make, so we only ever delete our own. */
export const MARKER = ".mcastbots-bot";
/** Each bot's stdout and stderr, in its directory. */
export const OUTPUT_FILE = "bot.out";

/** The repository root, found from this file both in tools/ and in dist/tools/. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "dnabot")) && existsSync(join(dir, "proto")))
      return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the MCastBots repository root");
    dir = up;
  }
}

/** `Bot007` for i=7 of n=100: zero-padded to the width of n, as the original did. */
export function botDirName(prefix: string, i: number, n: number): string {
  return `${prefix}${String(i).padStart(String(n).length, "0")}`;
}

/**
 * How an exit is counted. Our bots exit 0 after their lifespan or after SIGINT/SIGTERM, 255
 * after a KILL; the original's do the same. Exit 0 after we asked it to stop is "signalled".
 */
export function classifyEnding(
  code: number | null,
  signal: NodeJS.Signals | null,
  stopRequested: boolean,
  forced: boolean,
): Ending {
  if (forced && signal === "SIGKILL") return "forced";
  if (code === 0) return stopRequested ? "signalled" : "lifespan";
  if (code === 255) return "killed";
  if (signal === "SIGTERM" || signal === "SIGINT" || signal === "SIGHUP") return "signalled";
  return "crashed";
}

/** A bot's 8-hex-digit id, if this output line names one (the bot's first lines do). */
export function detectBotId(line: string): string | undefined {
  return /\b([0-9A-F]{8})\b/.exec(line)?.[1];
}

export class FleetError extends Error {
  constructor(
    readonly kind: "not-ours" | "no-proto",
    readonly path: string,
  ) {
    super(`${kind}: ${path}`);
    this.name = "FleetError";
  }
}

/**
 * May `path` be deleted to make a fresh bot directory? Only a real directory (not a link) named
 * PREFIXdigits directly in `base`, holding our marker or, from the original's spawnBots, a
 * dnabot.ini.
 */
export function isReplaceableBotDir(path: string, base: string, prefix: string): boolean {
  if (resolve(dirname(path)) !== resolve(base)) return false;
  if (!new RegExp(`^${prefix}\\d+$`).test(basename(path))) return false;
  const st = lstatSync(path, { throwIfNoEntry: false });
  // lstat: a symbolic link is not a directory here, so links are never followed into.
  if (!st?.isDirectory()) return false;
  return existsSync(join(path, MARKER)) || existsSync(join(path, "dnabot.ini"));
}

/** Make `path` a fresh copy of `proto` (replacing an old bot directory; throws FleetError). */
export function prepareBotDir(path: string, base: string, prefix: string, proto: string | undefined): void {
  if (lstatSync(path, { throwIfNoEntry: false })) {
    if (!isReplaceableBotDir(path, base, prefix)) throw new FleetError("not-ours", path);
    rmSync(path, { recursive: true, force: true });
  }
  if (proto !== undefined) {
    if (!existsSync(proto)) throw new FleetError("no-proto", proto);
    cpSync(proto, path, { recursive: true });
  } else {
    mkdirSync(path, { recursive: true });
  }
  writeFileSync(join(path, MARKER), "made by MCastBots spawnBots; deleted and remade on the next run\n");
}

export interface BotCommand {
  file: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** `node --import orphan_guard.js <repo>/dnabot ARGS`. */
export function nodeBotCommand(repo: string, args: readonly string[]): BotCommand {
  return nodeProgramCommand(repo, join(repo, "dnabot"), args);
}

/** Any of our node programs, with the orphan guard preloaded. */
export function nodeProgramCommand(repo: string, program: string, args: readonly string[]): BotCommand {
  const guard = join(repo, "dist", "tools", "orphan_guard.js");
  return { file: process.execPath, args: ["--import", guard, program, ...args] };
}

export interface FleetOptions {
  count: number;
  /** Directory the bot directories are made in (the system temp dir). */
  baseDir: string;
  /** Bot directory names are PREFIX + number. */
  prefix: string;
  /** Copied into every bot directory; undefined: start from an empty one. */
  protoDir: string | undefined;
  /** What to run in a bot directory. */
  command: (dir: string, index: number) => BotCommand;
  /** Emit 'line' for every output line (else output goes straight to the file). */
  tail?: boolean;
  /** Signal that asks a bot to leave cleanly. */
  stopSignal?: NodeJS.Signals;
  /** Milliseconds between the stop signal and SIGKILL. */
  graceMs?: number;
}

export interface BotProcess {
  index: number;
  name: string;
  dir: string;
  pid: number | undefined;
  /** The bot's own id once its output has named it. */
  id: string | undefined;
  child: ChildProcess | undefined;
  stopRequested: boolean;
  forced: boolean;
  ended: { code: number | null; signal: NodeJS.Signals | null; ending: Ending } | undefined;
}

export interface FleetEvents {
  /** A bot process is running. */
  spawned: [bot: BotProcess];
  /** One line of a bot's output (only with tail). */
  line: [bot: BotProcess, line: string];
  ended: [bot: BotProcess];
  /** A bot could not be started at all. */
  spawnError: [bot: BotProcess, err: Error];
}

export class BotFleet extends EventEmitter<FleetEvents> {
  readonly bots: BotProcess[];
  private readonly stopSignal: NodeJS.Signals;
  private readonly graceMs: number;
  private killTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  /** How many times a bot was started again by respawn(). */
  respawns = 0;

  constructor(private readonly opts: FleetOptions) {
    super();
    this.stopSignal = opts.stopSignal ?? "SIGTERM";
    this.graceMs = opts.graceMs ?? 5000;
    this.bots = [];
    for (let i = 1; i <= opts.count; i++) {
      const name = botDirName(opts.prefix, i, opts.count);
      this.bots.push({
        index: i,
        name,
        dir: join(opts.baseDir, name),
        pid: undefined,
        id: undefined,
        child: undefined,
        stopRequested: false,
        forced: false,
        ended: undefined,
      });
    }
  }

  /** Make every bot directory fresh. Throws FleetError before touching anything not ours. */
  prepare(): void {
    for (const b of this.bots) {
      if (
        lstatSync(b.dir, { throwIfNoEntry: false }) &&
        !isReplaceableBotDir(b.dir, this.opts.baseDir, this.opts.prefix)
      )
        throw new FleetError("not-ours", b.dir);
    }
    for (const b of this.bots) prepareBotDir(b.dir, this.opts.baseDir, this.opts.prefix, this.opts.protoDir);
  }

  /** Start the bots one after another (each once its process exists). Stops early if stop() is called. */
  async start(): Promise<void> {
    for (const b of this.bots) {
      if (this.stopping) break;
      await this.startOne(b);
    }
  }

  /** Start a bot again in a fresh directory (the demo keeps its group lively). */
  async respawn(b: BotProcess): Promise<void> {
    if (this.stopping || !b.ended) return;
    prepareBotDir(b.dir, this.opts.baseDir, this.opts.prefix, this.opts.protoDir);
    Object.assign(b, { pid: undefined, id: undefined, stopRequested: false, forced: false, ended: undefined });
    this.respawns++;
    await this.startOne(b);
  }

  private startOne(b: BotProcess): Promise<void> {
    const cmd = this.opts.command(b.dir, b.index);
    const outPath = join(b.dir, OUTPUT_FILE);
    const outFd = this.opts.tail ? undefined : openSync(outPath, "a");
    const child = spawn(cmd.file, cmd.args, {
      cwd: b.dir,
      env: { ...process.env, ...(cmd.env ?? {}), MCASTBOTS_PARENT_FD: "3" },
      stdio: ["ignore", outFd ?? "pipe", outFd ?? "pipe", "pipe"],
      detached: true,
    });
    b.child = child;
    if (outFd !== undefined) closeSync(outFd);
    else this.followOutput(b, child, outPath);
    return new Promise((done) => {
      child.once("spawn", () => {
        b.pid = child.pid;
        // stop() came while this one was starting.
        if (this.stopping) {
          b.stopRequested = true;
          signal(b, this.stopSignal);
        }
        this.emit("spawned", b);
        done();
      });
      child.once("error", (err) => {
        // Only a failure to start arrives here before 'spawn'; later errors (kill) are ignored.
        if (b.pid === undefined && !b.ended) {
          b.ended = { code: null, signal: null, ending: "crashed" };
          this.emit("spawnError", b, err);
          this.emit("ended", b);
          done();
        }
      });
      child.once("exit", (code, signal) => {
        (child.stdio[3] as Readable | null)?.destroy();
        b.id ??= idFromOutput(outPath);
        b.ended = { code, signal, ending: classifyEnding(code, signal, b.stopRequested, b.forced) };
        this.emit("ended", b);
      });
    });
  }

  private followOutput(b: BotProcess, child: ChildProcess, outPath: string): void {
    const file = createWriteStream(outPath, { flags: "a" });
    let open = 2;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on("line", (line) => {
        file.write(`${line}\n`);
        if (b.id === undefined) b.id = detectBotId(line);
        this.emit("line", b, line);
      });
      rl.on("close", () => {
        if (--open === 0) file.end();
      });
    }
  }

  get running(): BotProcess[] {
    return this.bots.filter((b) => b.pid !== undefined && !b.ended);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Ask every running bot to leave (stopSignal), SIGKILL whoever is left after the grace period. */
  stop(): Promise<void> {
    this.stopping = true;
    for (const b of this.running) {
      b.stopRequested = true;
      signal(b, this.stopSignal);
    }
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.killNow(), this.graceMs);
      this.killTimer.unref();
    }
    return this.whenAllEnded();
  }

  /** SIGKILL every bot still running, at once (second Ctrl-C, or our own exit). Synchronous. */
  killNow(): void {
    this.stopping = true;
    for (const b of this.running) {
      b.stopRequested = true;
      b.forced = true;
      signal(b, "SIGKILL");
    }
  }

  /** Resolves once every bot started has ended. */
  whenAllEnded(): Promise<void> {
    return new Promise((done) => {
      const check = () => {
        if (this.bots.every((b) => b.ended || !b.child)) {
          this.off("ended", check);
          if (this.killTimer) clearTimeout(this.killTimer);
          done();
        }
      };
      this.on("ended", check);
      check();
    });
  }

  /** Bots whose process was started. */
  get started(): number {
    return this.bots.filter((b) => b.pid !== undefined).length;
  }

  /** How many ended how. */
  tally(): Record<Ending, number> {
    const counts = Object.fromEntries(ENDINGS.map((e) => [e, 0])) as Record<Ending, number>;
    for (const b of this.bots) if (b.ended) counts[b.ended.ending]++;
    return counts;
  }
}

/** The id named in the first lines of a bot's output file, if any. */
export function idFromOutput(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const buf = Buffer.alloc(4096);
    const n = readSync(fd, buf, 0, buf.length, 0);
    for (const line of buf.subarray(0, n).toString("utf8").split("\n").slice(0, 5)) {
      const id = detectBotId(line);
      if (id) return id;
    }
    return undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function signal(b: BotProcess, sig: NodeJS.Signals): void {
  if (b.pid === undefined) return;
  try {
    process.kill(b.pid, sig);
  } catch {
    // Already gone: its 'exit' is on the way.
  }
}
