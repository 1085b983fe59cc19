/**
 * The attack campaign: `npm run attack -- [-seconds=60] [-bots=5] [-only=ids,beats] [-json]
 * [bot options]`. Runs each attack of issue 11's table (attack_report.ts ATTACKS) against live
 * bots and a supervisor, each attack on a fresh group port and in fresh directories, and prints
 * a table: attack, datagrams sent, rate reached, crashes, peak RSS, heartbeat delivery, real bots
 * aged out, NACKs still on the group 10 s after the attack, uploads saved.
 *
 * Only inside a private network namespace: run as root, it enters one itself (`unshare -n`, then
 * brings its loopback up); otherwise, or if it cannot, it refuses (exit 2). Everything it starts
 * talks on that namespace's loopback only.
 *
 * The rogue is `node dnabot -rogue=MODE` (a process of its own, so "the highest rate one process
 * can send" is that of one Node process); the listener that measures heartbeat delivery is this
 * process, which parses only the real bots' datagrams during an attack. Exits 1 if anything
 * under attack crashed.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { linkSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import type { ProgramIO } from "../shared/cli.js";
import { parseDatagram } from "../shared/codec.js";
import { t } from "../shared/i18n.js";
import { udpTransportFor } from "../shared/open.js";
import { BEAT, isBotId, NACK } from "../shared/protocol.js";
import type { UdpTransport } from "../shared/udp_transport.js";
import {
  ATTACKS,
  type Attack,
  type AttackResult,
  attackNamed,
  attackTable,
  deliveryOf,
  isPrivateNamespace,
} from "./attack_report.js";
import { makeRunDir, nodeProgramCommand, repoRoot } from "./botfleet.js";
import { botConfig, runTool, ToolExit, toolArgs } from "./fleet_run.js";
import { freeTcpPort, freeUdpPort } from "./ports.js";
import { machineCpu, sampleProcess, udpDrops } from "./procstats.js";
import { checkBotArgs, initToolLanguage, sleep } from "./toolargs.js";

const PROG = "attack";
/** Set in the environment of the copy of this tool that runs inside the new namespace: the
 *  namespace it was started from. */
const IN_NAMESPACE = "MCASTBOTS_ATTACK_NETNS";
const NACK_QUIET_AFTER_MS = 10_000;
const SLOW_CONNECTIONS = 1000;
const BIG_UPLOAD_BYTES = 100 * 1024 * 1024;

export function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  return runTool(io, () => attack(argv, env, io));
}

interface Options {
  seconds: number;
  botCount: number;
  botArgs: string[];
  /** After the attack, before the figures are taken. */
  coolMs: number;
  /** Datagrams per second of the floods (attacks whose rate is 0: as fast as they can). */
  floodRate: number;
}

function netns(pid: string): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

async function attack(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  initToolLanguage(argv, env);
  const args = toolArgs(PROG, argv, { flags: ["json"], values: ["seconds", "bots", "only", "cool", "rate"] });
  if (args.flags.has("help")) {
    io.stdout.write(
      `${[
        t(
          "Usage: npm run attack -- [-seconds=60] [-bots=5] [-only=ATTACK,...] [-cool=12] [-rate=N] [-json] [bot options]",
        ),
        t("Runs each attack against live bots and a supervisor inside a private network namespace and prints a table."),
        t("Attacks: {{list}}", { list: ATTACKS.map((a) => a.name).join(", ") }),
        t("-rate=N: datagrams per second of the floods (ids, beats, malformed), instead of as fast as one process can"),
      ].join("\n")}\n`,
    );
    return 0;
  }
  const positiveInt = (name: string, dflt: number, max: number): number => {
    const v = args.values.get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1 || n > max) {
      throw new ToolExit(
        t("{{prog}}: -{{name}} must be a whole number from 1 to {{max}}", { prog: PROG, name, max }),
        2,
      );
    }
    return n;
  };
  const opts: Options = {
    seconds: positiveInt("seconds", 60, 3600),
    botCount: positiveInt("bots", 5, 50),
    botArgs: args.botArgs,
    coolMs: positiveInt("cool", 12, 600) * 1000,
    floodRate: positiveInt("rate", 0, 10_000_000),
  };
  if (args.positional.length > 0) {
    throw new ToolExit(
      t("{{prog}}: unexpected {{word}}; -help lists the options", { prog: PROG, word: args.positional[0] }),
      2,
    );
  }
  const only = args.values.get("only");
  const attacks: Attack[] = [];
  for (const name of only === undefined ? ATTACKS.map((a) => a.name) : only.split(",")) {
    const a = attackNamed(name.trim());
    if (!a) throw new ToolExit(t("{{prog}}: unknown attack {{name}}; -help lists them", { prog: PROG, name }), 2);
    attacks.push(a);
  }
  botConfig(PROG, args.botArgs);

  // The namespace: ours, or one we enter now.
  const onlyLoopback = Object.values(networkInterfaces()).every((addrs) => (addrs ?? []).every((a) => a.internal));
  const here = netns("self");
  const parent = env[IN_NAMESPACE];
  if (!isPrivateNamespace({ self: here, init: netns("1"), parent, onlyLoopback })) {
    if (process.getuid?.() === 0 && parent === undefined && here !== undefined) {
      const script = process.argv[1] as string;
      const child = spawn("unshare", ["-n", process.execPath, ...process.execArgv, script, ...argv], {
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...env, [IN_NAMESPACE]: here },
      });
      child.stdout.pipe(io.stdout, { end: false });
      child.stderr.pipe(io.stderr, { end: false });
      const stopSignals = io.onSignal((signal) => child.kill(signal));
      const status = await new Promise<number | Error>((done) => {
        child.once("error", (e) => done(e));
        child.once("close", (code) => done(code ?? 1));
      });
      stopSignals();
      if (status instanceof Error) {
        throw new ToolExit(
          t("{{prog}}: cannot enter a private network namespace: {{error}}", { prog: PROG, error: status.message }),
          2,
        );
      }
      return status;
    }
    throw new ToolExit(
      t(
        "{{prog}}: refusing to run outside a private network namespace; run it as root (it enters one with unshare -n) or inside one (tools/netlab.sh)",
        { prog: PROG },
      ),
      2,
    );
  }
  try {
    execFileSync("ip", ["link", "set", "lo", "up"], { stdio: "ignore" });
  } catch (e) {
    throw new ToolExit(
      t("{{prog}}: cannot bring the loopback interface up: {{error}}", { prog: PROG, error: String(e) }),
      2,
    );
  }

  const results: AttackResult[] = [];
  for (const a of attacks) {
    try {
      results.push(await runAttack(a, opts, io));
    } catch (e) {
      throw new ToolExit(
        t("{{prog}}: {{attack}} could not run: {{error}}", { prog: PROG, attack: a.name, error: String(e) }),
        1,
      );
    }
  }
  io.stdout.write(args.flags.has("json") ? `${JSON.stringify(results)}\n` : `${attackTable(results).join("\n")}\n`);
  return results.some((r) => r.crashes > 0) ? 1 : 0;
}

// ---- one attack --------------------------------------------------------------------------------

const REPO = repoRoot();

interface Proc {
  child: ChildProcess;
  name: string;
  /** Exited before we stopped it. */
  crashed: boolean;
  stopping: boolean;
  exited: Promise<void>;
}

function start(
  name: string,
  program: string,
  programArgs: string[],
  cwd: string,
  stderr: NodeJS.WritableStream,
  stdin = false,
): Proc {
  // The orphan guard ends the program if this tool dies without stopping it.
  const cmd = nodeProgramCommand(REPO, join(REPO, program), programArgs);
  const child = spawn(cmd.file, cmd.args, {
    cwd,
    stdio: [stdin ? "pipe" : "ignore", "pipe", "pipe", "pipe"],
    env: { ...process.env, LANG: "C", LC_ALL: "C", MCASTBOTS_PARENT_FD: "3" },
  });
  const p: Proc = { child, name, crashed: false, stopping: false, exited: Promise.resolve() };
  p.exited = new Promise((done) =>
    child.once("exit", (code, signal) => {
      if (!p.stopping) {
        p.crashed = true;
        stderr.write(
          `${t("{{prog}}: {{name}} ended during the attack (status {{code}}, signal {{signal}})", {
            prog: PROG,
            name,
            code: String(code),
            signal: String(signal),
          })}\n`,
        );
      }
      done();
    }),
  );
  child.stderr?.resume();
  return p;
}

async function stop(procs: readonly Proc[]): Promise<void> {
  for (const p of procs) {
    p.stopping = true;
    p.child.stdin?.end();
    p.child.kill("SIGTERM");
  }
  const all = Promise.all(procs.map((p) => p.exited));
  const late = await Promise.race([all.then(() => false), sleep(5000).then(() => true)]);
  if (late) for (const p of procs) p.child.kill("SIGKILL");
  await all;
}

function peakMb(procs: readonly Proc[]): number {
  let kb = 0;
  for (const p of procs) {
    const s = p.child.pid !== undefined ? sampleProcess(p.child.pid) : undefined;
    if (s) kb = Math.max(kb, s.hwmKb);
  }
  return kb / 1024;
}

function filesUnder(dir: string): { count: number; bytes: number } {
  let count = 0;
  let bytes = 0;
  try {
    for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      count++;
      bytes += statSync(join(e.parentPath, e.name)).size;
    }
  } catch {
    // No upload yet: no directory.
  }
  return { count, bytes };
}

/** What the listener heard from each real bot, by phase. */
interface Heard {
  before?: number;
  after?: number;
  during: Set<number>;
}

type Phase = "warmup" | "attack" | "cool";

class Listener {
  readonly bots = new Map<string, Heard>();
  phase: Phase = "warmup";
  /** NACKs seen in the cool-down: when, and whether they asked for a real bot's message. */
  readonly nacks: { at: number; real: boolean }[] = [];

  constructor(private readonly transport: UdpTransport) {
    transport.on("datagram", (bytes) => this.onDatagram(bytes));
  }

  private onDatagram(bytes: Buffer): void {
    // During an attack, parse only what starts with a real bot's id: the rogue pays, not us.
    if (this.phase === "attack") {
      const id = bytes.toString("latin1", 0, 8);
      if (bytes[8] !== 0x20 || !this.bots.has(id)) return;
    }
    const r = parseDatagram(bytes);
    if (!r.ok) return;
    const m = r.msg;
    if (this.phase === "cool" && m.opcode === NACK && m.seq === 0) {
      this.nacks.push({ at: Date.now(), real: this.bots.has(m.dest) });
    }
    if (m.opcode !== BEAT || m.seq < 1 || !isBotId(m.sender)) return;
    let h = this.bots.get(m.sender);
    if (!h) {
      if (this.phase !== "warmup") return;
      h = { during: new Set() };
      this.bots.set(m.sender, h);
    }
    if (this.phase === "warmup") h.before = Math.max(h.before ?? 0, m.seq);
    else if (this.phase === "attack") h.during.add(m.seq);
    else h.after = Math.min(h.after ?? Number.POSITIVE_INFINITY, m.seq);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

interface RogueReport {
  sent: number;
  seconds: number;
}

function rogueReport(logFile: string): RogueReport | undefined {
  try {
    for (const line of readFileSync(logFile, "utf8").split("\n").reverse()) {
      if (!line.includes("rogueSent")) continue;
      const o = JSON.parse(line) as { rogueSent?: number; rogueSeconds?: number };
      if (typeof o.rogueSent === "number" && typeof o.rogueSeconds === "number") {
        return { sent: o.rogueSent, seconds: o.rogueSeconds };
      }
    }
  } catch {
    // No log: the rogue did not run.
  }
  return undefined;
}

async function until(what: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (what()) return true;
    await sleep(100);
  }
  return what();
}

async function runAttack(a: Attack, opts: Options, io: ProgramIO): Promise<AttackResult> {
  const { seconds, botCount } = opts;
  const dir = makeRunDir(PROG);
  const duration = a.duration(seconds);
  const procs: Proc[] = [];
  let listener: Listener | undefined;
  try {
    const port = await freeUdpPort();
    const filePort = await freeTcpPort();
    const common = [`-chanPort=${port}`, `-filePort=${filePort}`, "-lang=en"];
    const config = checkBotArgs(PROG, common);
    if (!config.ok) throw new Error(config.error);
    const transport = udpTransportFor(config.config);
    await transport.ready();
    listener = new Listener(transport);

    const uploads = join(dir, "uploads");
    const sup = start(
      "supervisor",
      "supervisor",
      ["-quiet", "-heartbeat=1", `-uploadDir=${uploads}`, "-maxUpload=200000000", ...common],
      dir,
      io.stderr,
      true,
    );
    procs.push(sup);
    let agedOut = 0;
    let counting = false;
    /** The real bots (heard in the warm-up): the supervisor also ages out the rogue's ids. */
    let real: ReadonlySet<string> = new Set();
    let supOut = "";
    sup.child.stdout?.on("data", (d: Buffer) => {
      supOut += d.toString("utf8");
      const lines = supOut.split("\n");
      supOut = lines.pop() ?? "";
      for (const l of lines) {
        const m = /^- ([0-9A-F]{8}) left \(aged out\)/.exec(l);
        if (counting && m && real.has(m[1] as string)) agedOut++;
      }
    });
    const bots: Proc[] = [];
    for (let i = 1; i <= botCount; i++) {
      const botDir = join(dir, `bot${i}`);
      mkdirSync(botDir);
      writeFileSync(join(botDir, "notes.txt"), `notes of bot ${i}\n`);
      const botArgs = [
        "-heartbeat=1",
        "-backoff=0.5",
        // Long enough for the run, short enough that nothing outlives it for long.
        `-lifespan=${duration + 300}`,
        "-discovery=0",
        "-frankenstein=0",
        ...common,
        ...opts.botArgs,
      ];
      const b = start(`bot ${i}`, "dnabot", botArgs, botDir, io.stderr);
      b.child.stdout?.resume();
      bots.push(b);
      procs.push(b);
    }
    if (a.kind === "bigupload") {
      const line = `${"x".repeat(99)}\n`;
      writeFileSync(join(dir, "bot1", "big.data"), line.repeat(BIG_UPLOAD_BYTES / 100));
      // Whichever bot is heard first is asked: every bot holds the file (hard links, one copy on disk).
      for (let i = 2; i <= botCount; i++) linkSync(join(dir, "bot1", "big.data"), join(dir, `bot${i}`, "big.data"));
    }
    // Warm-up: every bot heard, then two more heartbeats.
    const l = listener;
    if (!(await until(() => l.bots.size >= botCount, 15_000))) {
      throw new Error(t("only {{n}} of {{total}} bots were heard", { n: l.bots.size, total: botCount }));
    }
    await sleep(2000);
    const ids = [...l.bots.keys()];
    real = new Set(ids);
    /** A figure of each bot, then of the supervisor (0 for a process gone). */
    const eachVictim = (of: (pid: number) => number | undefined): number[] =>
      [...bots, sup].map((p) => (p.child.pid !== undefined ? (of(p.child.pid) ?? 0) : 0));
    /** Kernel drops so far: each bot's, the supervisor's, the listener's (this process). */
    const dropsNow = (): number[] => [...eachVictim(udpDrops), udpDrops(process.pid) ?? 0];
    const dropsBefore = dropsNow();
    /** CPU seconds used so far by each bot and the supervisor. */
    const cpuNow = (): number[] => eachVictim((pid) => sampleProcess(pid)?.cpuSeconds);
    const cpuBefore = cpuNow();
    const machineBefore = machineCpu();

    // The attack.
    io.stderr.write(
      `${t("{{prog}}: {{attack}} for {{seconds}} s…", { prog: PROG, attack: a.name, seconds: duration })}\n`,
    );
    l.phase = "attack";
    counting = true;
    const t0 = Date.now();
    let sent = 0;
    let rogueFailed = false;
    let uploadResult: { saved: number; asked: number } | undefined;
    if (a.kind === "slowloris") {
      const sockets: Socket[] = [];
      for (let i = 0; i < SLOW_CONNECTIONS; i++) {
        const s = connect({ port: filePort, host: "127.0.0.1" });
        s.on("error", () => undefined);
        s.on("connect", () => {
          sent++;
          s.write("2");
        });
        sockets.push(s);
      }
      const drip = setInterval(() => {
        for (const s of sockets) if (!s.destroyed) s.write("0");
      }, 20_000);
      await sleep(1000);
      sup.child.stdin?.write("UPLD * notes.txt\n");
      await until(() => filesUnder(uploads).count >= botCount, Math.max(0, duration * 1000 - (Date.now() - t0)));
      uploadResult = { saved: filesUnder(uploads).count, asked: botCount };
      await sleep(Math.max(0, duration * 1000 - (Date.now() - t0)));
      clearInterval(drip);
      for (const s of sockets) s.destroy();
    } else if (a.kind === "bigupload") {
      sup.child.stdin?.write(`UPLD ${ids[0]} big.data\n`);
      sent = 1;
      const done = await until(() => filesUnder(uploads).bytes >= BIG_UPLOAD_BYTES, Math.max(duration, 60) * 1000);
      uploadResult = { saved: done ? 1 : 0, asked: 1 };
    } else {
      const rogueDir = join(dir, "rogue");
      mkdirSync(rogueDir);
      const rogue = start(
        "rogue",
        "dnabot",
        [`-rogue=${a.kind}`, `-rogueRate=${a.rate || opts.floodRate}`, `-lifespan=${duration}`, ...common],
        rogueDir,
        io.stderr,
      );
      rogue.stopping = true; // it ends by itself: not a crash of what is under attack
      let code: number | null = null;
      rogue.child.once("exit", (c) => {
        code = c;
      });
      rogue.child.stdout?.resume();
      await rogue.exited;
      if (code !== 0) rogueFailed = true;
      sent = rogueReport(join(rogueDir, "dnabot.log"))?.sent ?? 0;
    }
    const attackMs = Date.now() - t0;
    const tEnd = Date.now();
    const dropsAfter = dropsNow();
    const cpuAfter = cpuNow();
    const machineAfter = machineCpu();

    // Cool-down.
    l.phase = "cool";
    await sleep(opts.coolMs);
    counting = false;

    let got = 0;
    let expected = 0;
    let beatsDuring = 0;
    for (const id of ids) {
      const h = l.bots.get(id) as Heard;
      const d = deliveryOf(h.before, Number.isFinite(h.after ?? Number.NaN) ? h.after : undefined, h.during);
      got += d.got;
      expected += d.sent;
      beatsDuring += h.during.size;
    }
    const late = l.nacks.filter((n) => n.at >= tEnd + NACK_QUIET_AFTER_MS);
    const result: AttackResult = {
      attack: a.name,
      seconds: attackMs / 1000,
      sent,
      rate: attackMs > 0 ? (sent * 1000) / attackMs : 0,
      crashes: procs.filter((p) => p.crashed).length + (rogueFailed ? 1 : 0),
      botPeakMb: peakMb(bots),
      supervisorPeakMb: peakMb([sup]),
      delivery: expected > 0 ? got / expected : undefined,
      agedOut,
      nacksAfter: late.length,
      nacksAfterReal: late.filter((n) => n.real).length,
    };
    if (machineBefore && machineAfter && machineAfter.total > machineBefore.total) {
      result.machineBusy = (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total);
    }
    const cores = cpuAfter.map((c, i) => (c - (cpuBefore[i] ?? 0)) / (attackMs / 1000));
    result.cores = {
      bot: cores.slice(0, bots.length).reduce((x, y) => x + y, 0) / bots.length,
      supervisor: cores[bots.length] ?? 0,
    };
    if (a.kind !== "slowloris" && a.kind !== "bigupload") {
      const d = dropsAfter.map((n, i) => n - (dropsBefore[i] ?? 0));
      result.kernelDrops = {
        bot: Math.max(0, ...d.slice(0, bots.length)),
        supervisor: d[bots.length] ?? 0,
        listener: d[bots.length + 1] ?? 0,
      };
    }
    if (uploadResult) result.uploads = uploadResult;
    if (a.kind === "ping") result.beatsPerBotPerSecond = beatsDuring / ids.length / (attackMs / 1000);
    return result;
  } finally {
    await stop(procs);
    await listener?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
