/**
 * A fleet of bot processes, each in its own directory made from a prototype: the part
 * spawnBots, the demo and the load report share. Every run makes its own fresh directory
 * (makeRunDir, mkdtemp) and the bot directories in it, and never deletes anything: a bot that
 * ended keeps its directory and output, and a replacement gets a new one. It starts the
 * processes, sends each one's output to its directory's bot.out (and, when tailing, line by line
 * to a listener), stops them with a signal and SIGKILL after a grace period, and counts how each
 * one ended.
 *
 * Children are started in their own process group (so a Ctrl-C at the terminal reaches only the
 * fleet's owner, which then stops them one by one) and watch a pipe from us through
 * orphan_guard.js, so they stop themselves if we die without cleaning up.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { EventEmitter } from "node:events";
import { closeSync, cpSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, openSync, readSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { EXIT_STATUS } from "../shared/protocol.js";

/** How a bot's process ended. */
export type Ending = "lifespan" | "killed" | "signalled" | "crashed" | "forced";
export const ENDINGS: readonly Ending[] = ["lifespan", "killed", "signalled", "crashed", "forced"];

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
  if (code === EXIT_STATUS.killed) return "killed";
  if (signal === "SIGTERM" || signal === "SIGINT" || signal === "SIGHUP") return "signalled";
  return "crashed";
}

/** A bot's 8-hex-digit id, if this output line names one (the bot's first lines do). */
export function detectBotId(line: string): string | undefined {
  return /\b([0-9A-F]{8})\b/.exec(line)?.[1];
}

export class FleetError extends Error {
  constructor(
    readonly kind: "no-proto",
    readonly path: string,
  ) {
    super(`${kind}: ${path}`);
    this.name = "FleetError";
  }
}

/**
 * A fresh, empty directory for one run of a tool, `<tmpdir>/mcastbots-TOOL-XXXXXX` (mkdtemp:
 * never an existing one, so runs at the same time never share or delete each other's files).
 */
export function makeRunDir(tool: string, base: string = tmpdir()): string {
  return mkdtempSync(join(base, `mcastbots-${tool}-`));
}

/** Make `path` (which must not exist: mkdir fails rather than reuse it) a copy of `proto`. */
export function makeBotDir(path: string, proto: string | undefined): void {
  if (proto !== undefined && !existsSync(proto)) throw new FleetError("no-proto", proto);
  mkdirSync(path);
  if (proto !== undefined) cpSync(proto, path, { recursive: true });
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
  /** This run's own fresh directory (makeRunDir); the bot directories are made in it. */
  runDir: string;
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
  /** How many bots were started by replace(). */
  replacements = 0;

  constructor(private readonly opts: FleetOptions) {
    super();
    this.stopSignal = opts.stopSignal ?? "SIGTERM";
    this.graceMs = opts.graceMs ?? 5000;
    this.bots = [];
    for (let i = 1; i <= opts.count; i++) this.bots.push(this.newBot());
  }

  /** The next bot, numbered after every bot so far (replacements included). */
  private newBot(): BotProcess {
    const index = this.bots.length + 1;
    const name = botDirName(this.opts.prefix, index, this.opts.count);
    return {
      index,
      name,
      dir: join(this.opts.runDir, name),
      pid: undefined,
      id: undefined,
      child: undefined,
      stopRequested: false,
      forced: false,
      ended: undefined,
    };
  }

  /** Make every bot's directory, a copy of the prototype, in the run directory (throws FleetError). */
  prepare(): void {
    for (const b of this.bots) makeBotDir(b.dir, this.opts.protoDir);
  }

  /** Start the bots one after another (each once its process exists). Stops early if stop() is called. */
  async start(): Promise<void> {
    for (const b of this.bots) {
      if (this.stopping) break;
      await this.startOne(b);
    }
  }

  /**
   * Start a new bot, in a new directory, in place of one that ended (the demo keeps its group
   * lively). The one that ended keeps its directory, its output and its place in the tally.
   */
  async replace(ended: BotProcess): Promise<BotProcess | undefined> {
    if (this.stopping || !ended.ended) return undefined;
    const b = this.newBot();
    makeBotDir(b.dir, this.opts.protoDir);
    this.bots.push(b);
    this.replacements++;
    await this.startOne(b);
    return b;
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

  /** How each bot that ran ended, each counted once (replacements are bots of their own). */
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
