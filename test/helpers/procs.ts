/**
 * Test helpers for the programs and fleet tools: run a built program, listen on the group, check
 * pids.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Channel } from "../../shared/channel.js";
import type { ChanMessage } from "../../shared/codec.js";
import { loadConfig } from "../../shared/config.js";
import type { GroupAuth } from "../../shared/keys/auth.js";
import { udpTransportFor } from "../../shared/open.js";
import { UdpTransport } from "../../shared/udp_transport.js";
import type { Cleanup } from "./cleanups.js";
import { REPO } from "./net.js";

export interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A child's stdout and stderr as they come: each, and both in arrival order. */
export function collectOutput(child: ChildProcess): {
  output: () => string;
  stdout: () => string;
  stderr: () => string;
} {
  let out = "";
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (c) => {
    out += c;
    stdout += c;
  });
  child.stderr?.on("data", (c) => {
    out += c;
    stderr += c;
  });
  return { output: () => out, stdout: () => stdout, stderr: () => stderr };
}

/** How a child ended: its exit status, or the signal that ended it. */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((done) => child.once("exit", (code, signal) => done({ code, signal })));
}

/** `node <REPO>/<script> args`, its stdout and stderr collected (collectOutput). */
function spawnNode(script: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, stdin: "pipe" | "ignore") {
  const proc = spawn(process.execPath, [join(REPO, script), ...args], { cwd, env, stdio: [stdin, "pipe", "pipe"] });
  return { proc, ...collectOutput(proc) };
}

/** Run `node <REPO>/<script> args` in English with TMPDIR set; stdout and stderr collected. */
export function runTool(script: string, args: string[], tmp: string, opts: { stdin?: "pipe" | "ignore" } = {}): Run {
  const env = { ...process.env, TMPDIR: tmp, LANG: "C", LC_ALL: "C", LC_MESSAGES: "", NO_COLOR: "1" };
  const { proc: child, output } = spawnNode(script, args, REPO, env, opts.stdin ?? "ignore");
  return { child, output, exited: exitOf(child) };
}

/** SIGTERM a tool's run; once it has exited, its exit status and its output. */
export async function stopRun(run: Run): Promise<{ code: number | null; out: string }> {
  run.child.kill("SIGTERM");
  const { code } = await run.exited;
  return { code, out: run.output() };
}

/** A listener on the test's group port (loopback), recording every message. */
export async function listen(port: number): Promise<{ messages: ChanMessage[]; close: () => Promise<void> }> {
  const transport = new UdpTransport({ group: "239.1.2.4", port, iface: "127.0.0.1", ttl: 1, loopback: true });
  await transport.ready();
  const channel = new Channel(transport, { id: "TESTLSTN" });
  const messages: ChanMessage[] = [];
  channel.on("message", (m) => messages.push(m));
  return { messages, close: () => channel.close() };
}

/** Is a process still there (and not a zombie)? */
export function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/** Every process whose working directory is under `dir` (the bots a test started there). */
export function processesUnder(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(dir) && alive(Number(entry))) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to look at.
    }
  }
  return pids;
}

/** The distinct senders of messages with this opcode. */
export function senders(messages: readonly ChanMessage[], opcode?: string): Set<string> {
  return new Set(messages.filter((m) => !opcode || m.opcode === opcode).map((m) => m.sender));
}

export interface Started {
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** stdout and stderr together, in the order they came. */
  output: () => string;
  stdout: () => string;
  stderr: () => string;
}

/**
 * Start `node <REPO>/<program> args` in `cwd` with `env`, stdout and stderr collected (each, and
 * both in one string); a cleanup that SIGKILLs it (if still running) and waits for its exit is
 * pushed on `cleanups`. stdin is ignored unless `stdin: "pipe"` (left open) or `input` (written,
 * then ended).
 */
export function startProgram(
  program: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; cleanups: Cleanup[]; stdin?: "ignore" | "pipe"; input?: string },
): Started {
  const stdin = opts.input !== undefined ? "pipe" : (opts.stdin ?? "ignore");
  const { proc, output, stdout, stderr } = spawnNode(program, args, opts.cwd, opts.env, stdin);
  if (opts.input !== undefined) proc.stdin?.end(opts.input);
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  opts.cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await exited;
    }
  });
  return { proc, exited, output, stdout, stderr };
}

/**
 * A supervisor-like observer on the loopback group at `port`: a plain Channel as HUMAN-7e57 (no
 * reliability layer), signing and verifying with `auth` when given; closed at cleanup.
 */
export async function groupWatcher(
  port: number,
  cleanups: Cleanup[],
  auth?: GroupAuth,
): Promise<{ channel: Channel; transport: UdpTransport }> {
  const config = loadConfig({ overrides: { chanPort: String(port) }, readFile: () => undefined }).config;
  const transport = udpTransportFor(config);
  await transport.ready();
  const channel = new Channel(transport, { id: "HUMAN-7e57", auth });
  cleanups.push(() => channel.close());
  return { channel, transport };
}
