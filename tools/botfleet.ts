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
import {
  closeSync,
  cpSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
} from "node:fs";
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

/**
 * Node's own flags for our programs. Under a datagram flood V8 grows its young generation to
 * 2 × 16 MB semi-spaces (every datagram is a Buffer and a few objects); 4 MB semi-spaces keep a
 * bot's peak RSS under a flood of invented ids at 136 MB instead of 158–160 MB (npm run attack
 * -- -only=ids, two runs each), with no loss of delivery. The installed commands' shebangs say
 * the same; `node dnabot` run by hand takes Node's defaults (README, "The attack campaign").
 */
export const NODE_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** `node --max-semi-space-size=4 --import orphan_guard.js <repo>/dnabot ARGS`. */
export function nodeBotCommand(repo: string, args: readonly string[]): BotCommand {
  return nodeProgramCommand(repo, join(repo, "dnabot"), args);
}

/** Any of our node programs, with the orphan guard preloaded. */
export function nodeProgramCommand(repo: string, program: string, args: readonly string[]): BotCommand {
  const guard = join(repo, "dist", "tools", "orphan_guard.js");
  return { file: process.execPath, args: [...NODE_FLAGS, "--import", guard, program, ...args] };
}

/**
 * Bots per process when the user does not say (-perProcess): one process per bot up to
 * PACK_ABOVE bots (the most faithful picture of the original: every bot a program of its own),
 * then as few host processes as hold HOST_BOTS bots each. Every host reads and parses every
 * datagram of the group once, so the group's receive cost grows with the number of hosts; a
 * Node process costs ~50 MB before any bot, a hosted bot a small fraction of that. Measured
 * (README, "Many bots"): 10,000 bots in 5 hosts of 2,000 used 42 % of a core and 89 KB per bot,
 * in 1 host 13 % and 37 KB.
 */
export const PACK_ABOVE = 20;
export const HOST_BOTS = 10_000;

export function defaultPerProcess(count: number): number {
  if (count <= PACK_ABOVE) return 1;
  const hosts = Math.ceil(count / HOST_BOTS);
  return Math.ceil(count / hosts);
}

/**
 * Seconds a process gets to leave after the stop signal before SIGKILL, when the user does not
 * say: 5 for a bot of its own; a host's bots all leave at once (EXIT, linger), which took
 * longer than 10 s for 10,000 bots in one host, so 10 s and 2 ms per bot.
 */
export function defaultGraceSeconds(perProcess: number): number {
  return perProcess <= 1 ? 5 : 10 + 0.002 * perProcess;
}

/**
 * Split bots 1..count into processes of at most perProcess bots, as evenly as possible (sizes
 * differ by at most one, larger first): [[1,2,3],[4,5],[6,7]] for 7 bots at 3.
 */
export function packBots(count: number, perProcess: number): number[][] {
  const per = Math.max(1, Math.floor(perProcess));
  const processes = Math.ceil(count / per);
  const out: number[][] = [];
  let next = 1;
  for (let p = 0; p < processes; p++) {
    const size = Math.floor(count / processes) + (p < count % processes ? 1 : 0);
    out.push(Array.from({ length: size }, (_, i) => next + i));
    next += size;
  }
  return out;
}

/** What a bot host writes in a bot's directory when that bot ends (DIR/exit.json). */
export interface ExitRecord {
  id: string;
  status: number;
  reason: string;
}

export const EXIT_FILE = "exit.json";

/** A bot's exit.json, if it is there and well formed. */
export function readExitRecord(dir: string): ExitRecord | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, EXIT_FILE), "utf8");
  } catch {
    return undefined;
  }
  return parseExitRecord(text);
}

export function parseExitRecord(text: string): ExitRecord | undefined {
  try {
    const v = JSON.parse(text) as Partial<ExitRecord> | null;
    if (v && typeof v.id === "string" && typeof v.status === "number" && typeof v.reason === "string")
      return { id: v.id, status: v.status, reason: v.reason };
  } catch {
    // Not JSON: as if absent.
  }
  return undefined;
}

/**
 * How a bot of a host ended: from its exit record when the host wrote one, else from how the
 * host process ended (SIGKILLed by us after the grace period: forced; anything else: crashed).
 */
export function hostedEnding(record: ExitRecord | undefined, signal: NodeJS.Signals | null, forced: boolean): Ending {
  if (record) {
    if (record.reason === "killed" || record.status === 255) return "killed";
    if (record.reason === "lifespan") return "lifespan";
    if (record.reason === "signal") return "signalled";
    return "crashed";
  }
  return forced && signal === "SIGKILL" ? "forced" : "crashed";
}

export interface FleetOptions {
  count: number;
  /** This run's own fresh directory (makeRunDir); the bot directories are made in it. */
  runDir: string;
  /** Bot directory names are PREFIX + number. */
  prefix: string;
  /** Copied into every bot directory; undefined: start from an empty one. */
  protoDir: string | undefined;
  /** Bots per process (default 1). Above 1, hostCommand runs each process's bots. */
  perProcess?: number;
  /** What to run in a bot directory for a process of one bot. */
  command: (dir: string, index: number) => BotCommand;
  /** What to run for a host of several bots, given its list file (one bot directory per line). */
  hostCommand?: (listFile: string, index: number) => BotCommand;
  /** Emit 'line' for every output line (else output goes straight to the file). */
  tail?: boolean;
  /** Signal that asks a bot to leave cleanly. */
  stopSignal?: NodeJS.Signals;
  /** Milliseconds between the stop signal and SIGKILL. */
  graceMs?: number;
}

/** One bot: its directory, its id once known, and how it ended. */
export interface FleetBot {
  index: number;
  name: string;
  dir: string;
  id: string | undefined;
  process: BotProcess;
  ended: { ending: Ending; how: string } | undefined;
}

/** One process: a bot of its own (output in the bot's directory) or a host of several. */
export interface BotProcess {
  index: number;
  /** The bot's directory name, or HostN for a host. */
  name: string;
  /** Its working directory: the bot's directory, or the run directory for a host. */
  dir: string;
  /** Its stdout and stderr. */
  outFile: string;
  bots: FleetBot[];
  /** A host's list of bot directories. */
  listFile: string | undefined;
  pid: number | undefined;
  /** The bot's id (a process of one bot) once its output has named it. */
  id: string | undefined;
  child: ChildProcess | undefined;
  stopRequested: boolean;
  forced: boolean;
  ended: { code: number | null; signal: NodeJS.Signals | null; ending: Ending } | undefined;
}

export interface FleetEvents {
  /** A process is running. */
  spawned: [proc: BotProcess];
  /** One line of a process's output (only with tail). */
  line: [proc: BotProcess, line: string];
  /** A process ended (its bots' endings are set). */
  ended: [proc: BotProcess];
  /** A bot ended (reported when its process ends). */
  botEnded: [bot: FleetBot];
  /** A process could not be started at all. */
  spawnError: [proc: BotProcess, err: Error];
}

export class BotFleet extends EventEmitter<FleetEvents> {
  readonly processes: BotProcess[] = [];
  readonly bots: FleetBot[] = [];
  readonly perProcess: number;
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
    this.perProcess = Math.max(1, Math.floor(opts.perProcess ?? 1));
    if (this.perProcess > 1 && !opts.hostCommand) throw new Error("perProcess > 1 needs a hostCommand");
    const groups = packBots(opts.count, this.perProcess);
    for (const group of groups) {
      if (this.perProcess === 1) {
        this.newSoloProcess();
        continue;
      }
      const index = this.processes.length + 1;
      const name = botDirName("Host", index, groups.length);
      const proc = this.newProcess(index, name, opts.runDir, join(opts.runDir, `${name}.out`));
      proc.listFile = join(opts.runDir, `${name}.list`);
      for (let i = 0; i < group.length; i++) this.addBot(proc);
    }
  }

  private newProcess(index: number, name: string, dir: string, outFile: string): BotProcess {
    const proc: BotProcess = {
      index,
      name,
      dir,
      outFile,
      bots: [],
      listFile: undefined,
      pid: undefined,
      id: undefined,
      child: undefined,
      stopRequested: false,
      forced: false,
      ended: undefined,
    };
    this.processes.push(proc);
    return proc;
  }

  /** The next bot, numbered after every bot so far (replacements included). */
  private addBot(proc: BotProcess): FleetBot {
    const index = this.bots.length + 1;
    const name = botDirName(this.opts.prefix, index, this.opts.count);
    const bot: FleetBot = {
      index,
      name,
      dir: join(this.opts.runDir, name),
      id: undefined,
      process: proc,
      ended: undefined,
    };
    proc.bots.push(bot);
    this.bots.push(bot);
    return bot;
  }

  /** A process of one bot, named and placed like the bot. */
  private newSoloProcess(): BotProcess {
    const index = this.bots.length + 1;
    const name = botDirName(this.opts.prefix, index, this.opts.count);
    const dir = join(this.opts.runDir, name);
    const proc = this.newProcess(this.processes.length + 1, name, dir, join(dir, OUTPUT_FILE));
    this.addBot(proc);
    return proc;
  }

  /** Make every bot's directory, a copy of the prototype, and the hosts' lists (throws FleetError). */
  prepare(): void {
    for (const b of this.bots) makeBotDir(b.dir, this.opts.protoDir);
    for (const p of this.processes)
      if (p.listFile) writeFileSync(p.listFile, `${p.bots.map((b) => b.dir).join("\n")}\n`, { flag: "wx" });
  }

  /** Start the processes one after another (each once it exists). Stops early if stop() is called. */
  async start(): Promise<void> {
    for (const p of this.processes) {
      if (this.stopping) break;
      await this.startOne(p);
    }
  }

  /**
   * Start a new bot, in a new directory and process, in place of one that ended (the demo keeps
   * its group lively; one bot per process only). The one that ended keeps its directory, its
   * output and its place in the tally.
   */
  async replace(ended: FleetBot): Promise<FleetBot | undefined> {
    if (this.stopping || !ended.ended || this.perProcess !== 1) return undefined;
    const proc = this.newSoloProcess();
    const b = proc.bots[0]!;
    makeBotDir(b.dir, this.opts.protoDir);
    this.replacements++;
    await this.startOne(proc);
    return b;
  }

  private startOne(p: BotProcess): Promise<void> {
    const cmd = p.listFile
      ? this.opts.hostCommand!(p.listFile, p.index)
      : this.opts.command(p.bots[0]!.dir, p.bots[0]!.index);
    const outFd = this.opts.tail ? undefined : openSync(p.outFile, "a");
    const child = spawn(cmd.file, cmd.args, {
      cwd: p.dir,
      env: { ...process.env, ...(cmd.env ?? {}), MCASTBOTS_PARENT_FD: "3" },
      stdio: ["ignore", outFd ?? "pipe", outFd ?? "pipe", "pipe"],
      detached: true,
    });
    p.child = child;
    if (outFd !== undefined) closeSync(outFd);
    else this.followOutput(p, child);
    return new Promise((done) => {
      child.once("spawn", () => {
        p.pid = child.pid;
        // stop() came while this one was starting.
        if (this.stopping) {
          p.stopRequested = true;
          signal(p, this.stopSignal);
        }
        this.emit("spawned", p);
        done();
      });
      child.once("error", (err) => {
        // Only a failure to start arrives here before 'spawn'; later errors (kill) are ignored.
        if (p.pid === undefined && !p.ended) {
          p.ended = { code: null, signal: null, ending: "crashed" };
          this.emit("spawnError", p, err);
          this.emit("ended", p);
          done();
        }
      });
      child.once("exit", (code, sig) => {
        (child.stdio[3] as Readable | null)?.destroy();
        this.settle(p, code, sig);
      });
    });
  }

  /** A process ended: how it and each of its bots ended. */
  private settle(p: BotProcess, code: number | null, sig: NodeJS.Signals | null): void {
    const ending = classifyEnding(code, sig, p.stopRequested, p.forced);
    p.ended = { code, signal: sig, ending };
    const how = sig ? `${sig}` : String(code);
    if (!p.listFile) {
      const b = p.bots[0]!;
      p.id ??= idFromOutput(p.outFile);
      b.id = p.id;
      b.ended = { ending, how };
    } else {
      for (const b of p.bots) {
        const record = readExitRecord(b.dir);
        b.id = record?.id;
        b.ended = { ending: hostedEnding(record, sig, p.forced), how: record ? String(record.status) : how };
      }
    }
    this.emit("ended", p);
    for (const b of p.bots) this.emit("botEnded", b);
  }

  private followOutput(p: BotProcess, child: ChildProcess): void {
    const file = createWriteStream(p.outFile, { flags: "a" });
    let open = 2;
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      const rl = createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY });
      rl.on("line", (line) => {
        file.write(`${line}\n`);
        if (p.id === undefined && !p.listFile) p.id = detectBotId(line);
        this.emit("line", p, line);
      });
      rl.on("close", () => {
        if (--open === 0) file.end();
      });
    }
  }

  get running(): BotProcess[] {
    return this.processes.filter((p) => p.pid !== undefined && !p.ended);
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /** Ask every running process to leave (stopSignal), SIGKILL whoever is left after the grace period. */
  stop(): Promise<void> {
    this.stopping = true;
    for (const p of this.running) {
      p.stopRequested = true;
      signal(p, this.stopSignal);
    }
    if (!this.killTimer) {
      this.killTimer = setTimeout(() => this.killNow(), this.graceMs);
      this.killTimer.unref();
    }
    return this.whenAllEnded();
  }

  /** SIGKILL every process still running, at once (second Ctrl-C, or our own exit). Synchronous. */
  killNow(): void {
    this.stopping = true;
    for (const p of this.running) {
      p.stopRequested = true;
      p.forced = true;
      signal(p, "SIGKILL");
    }
  }

  /** Resolves once every process started has ended. */
  whenAllEnded(): Promise<void> {
    return new Promise((done) => {
      const check = () => {
        if (this.processes.every((p) => p.ended || !p.child)) {
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
    return this.processes.filter((p) => p.pid !== undefined).reduce((n, p) => n + p.bots.length, 0);
  }

  /** Processes that were started. */
  get processesStarted(): number {
    return this.processes.filter((p) => p.pid !== undefined).length;
  }

  /** How each bot that ran ended, each counted once (replacements are bots of their own). */
  tally(): Record<Ending, number> {
    const counts = Object.fromEntries(ENDINGS.map((e) => [e, 0])) as Record<Ending, number>;
    for (const b of this.bots) if (b.ended && b.process.pid !== undefined) counts[b.ended.ending]++;
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

function signal(p: BotProcess, sig: NodeJS.Signals): void {
  if (p.pid === undefined) return;
  try {
    process.kill(p.pid, sig);
  } catch {
    // Already gone: its 'exit' is on the way.
  }
}
