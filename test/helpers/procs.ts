/** Test helpers for the fleet tools: run a built program, listen on the group, check pids. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { Channel } from "../../shared/channel.js";
import type { ChanMessage } from "../../shared/codec.js";
import { UdpTransport } from "../../shared/udp_transport.js";
import { REPO } from "./net.js";

export interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Run `node <REPO>/<script> args` in English with TMPDIR set; stdout and stderr collected. */
export function runTool(script: string, args: string[], tmp: string, opts: { stdin?: "pipe" | "ignore" } = {}): Run {
  const child = spawn(process.execPath, [join(REPO, script), ...args], {
    cwd: REPO,
    env: { ...process.env, TMPDIR: tmp, LANG: "C", LC_ALL: "C", LC_MESSAGES: "", NO_COLOR: "1" },
    stdio: [opts.stdin ?? "ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );
  return { child, output: () => out, exited };
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
