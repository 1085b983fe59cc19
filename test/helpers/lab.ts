/**
 * The network lab for tests (tools/netlab.sh): hosts in network namespaces joined by a private
 * bridge, with real kernel packet loss. Programs run inside a host with `netlab.sh exec`.
 *
 * Teardown is belt and braces, because a namespace left behind outlives the test run: every
 * lab is taken down by its test (down()), by 'exit' and signal hooks of this process, and labs
 * of processes that died without any of these (a test worker killed with SIGKILL) are swept
 * by the next Lab.create(): lab names carry the pid of the process that made them. Taking a
 * lab down (netlab.sh down) also kills whatever still runs in its hosts.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO } from "./net.js";
import { collectOutput, exitOf } from "./procs.js";

const run = promisify(execFile);
export const NETLAB = join(REPO, "tools", "netlab.sh");
const PREFIX = "mcl";
const LAB_NAME = new RegExp(`^${PREFIX}(\\d+)x[0-9a-f]+-(sw|h\\d+)$`);

/** Why the lab cannot run here (not root, tools missing...), or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== "linux") return "the network lab needs Linux network namespaces";
  const r = spawnSync(NETLAB, ["check"], { encoding: "utf8" });
  if (r.error) return `cannot run ${NETLAB}: ${r.error.message}`;
  if (r.status === 0) return undefined;
  return `${r.stdout}${r.stderr}`.trim() || `netlab.sh check failed (status ${r.status})`;
}

export interface LabProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  output: () => string;
  /** Complete lines of stdout so far. */
  lines: () => string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Write a line to stdin (script mode). */
  send: (line: string) => void;
}

const live = new Set<Lab>();
let hooked = false;

function namespaces(): string[] {
  const r = spawnSync("ip", ["netns", "list"], { encoding: "utf8" });
  return (r.stdout ?? "").split("\n").map((l) => l.split(" ")[0] ?? "");
}

/** Take down labs whose creating process is gone. */
function sweepOrphans(): void {
  const orphans = new Set<string>();
  for (const ns of namespaces()) {
    const m = LAB_NAME.exec(ns);
    if (m && !existsSync(`/proc/${m[1]}`)) orphans.add(ns.replace(/-(sw|h\d+)$/, ""));
  }
  for (const lab of orphans) spawnSync(NETLAB, ["down", lab]);
}

export class Lab {
  private readonly procs = new Set<LabProcess>();
  private isDown = false;

  private constructor(
    readonly name: string,
    readonly hosts: number,
  ) {}

  /** A new lab of `hosts` hosts dropping `lossPct`% of UDP datagrams to `port` at every host. */
  static async create(hosts: number, lossPct: number, port: number): Promise<Lab> {
    if (!hooked) {
      hooked = true;
      const downAllSync = () => {
        for (const lab of live) lab.downSync();
      };
      process.once("exit", downAllSync);
      // Interrupted (Ctrl-C, a CI timeout): 'exit' does not run; clean up, then die of the
      // signal as we would have, unless someone else handles it.
      for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
        process.once(signal, () => {
          downAllSync();
          if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
        });
      }
    }
    sweepOrphans();
    const lab = new Lab(`${PREFIX}${process.pid}x${randomBytes(3).toString("hex")}`, hosts);
    live.add(lab);
    try {
      await run(NETLAB, ["up", lab.name, String(hosts), String(lossPct), String(port)]);
    } catch (e) {
      lab.downSync();
      throw e;
    }
    return lab;
  }

  /** Run `node <REPO>/<program> args` inside host `host`, in English, without colour. */
  start(host: number, program: string, args: string[], opts: { cwd: string; stdin?: boolean }): LabProcess {
    const child = spawn(NETLAB, ["exec", this.name, String(host), process.execPath, join(REPO, program), ...args], {
      cwd: opts.cwd,
      env: { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" },
      stdio: [opts.stdin ? "pipe" : "ignore", "pipe", "pipe"],
    });
    const { output, stdout } = collectOutput(child);
    // A program that has exited closes its end: writing then must not crash the test.
    child.stdin?.on("error", () => undefined);
    const exited = exitOf(child);
    const p: LabProcess = {
      child,
      output,
      lines: () => stdout().split("\n").slice(0, -1),
      exited,
      send: (line) => {
        child.stdin?.write(`${line}\n`);
      },
    };
    this.procs.add(p);
    void exited.then(() => this.procs.delete(p));
    return p;
  }

  /** Datagrams the host's nft rule has dropped so far. */
  async dropped(host: number): Promise<number> {
    const { stdout } = await run(NETLAB, ["exec", this.name, String(host), "nft", "list", "table", "inet", "netlab"]);
    const m = /counter packets (\d+)/.exec(stdout);
    return m ? Number(m[1]) : 0;
  }

  /** Kill what still runs in the lab and delete its namespaces. Idempotent. */
  async down(): Promise<void> {
    if (this.isDown) return;
    const waits = [...this.procs].map((p) => {
      p.child.kill("SIGKILL");
      return p.exited;
    });
    await Promise.all(waits);
    this.downSync();
  }

  private downSync(): void {
    if (this.isDown) return;
    for (const p of this.procs) p.child.kill("SIGKILL");
    spawnSync(NETLAB, ["down", this.name]);
    this.isDown = true;
    live.delete(this);
  }
}

/** Take down every lab this process still has (afterAll). */
export async function downAll(): Promise<void> {
  await Promise.all([...live].map((lab) => lab.down()));
}
