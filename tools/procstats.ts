/**
 * Memory and CPU of other processes, from Linux's /proc (the load report measures the bots,
 * which are separate processes). Parsing is pure; reading returns undefined once a process
 * is gone.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** A `Key:   123 kB` line of /proc/<pid>/status, in kB. */
export function parseStatusKb(status: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, "m").exec(status);
  return m ? Number(m[1]) : undefined;
}

/** utime + stime (clock ticks) from /proc/<pid>/stat; the command name may hold spaces and ')'. */
export function parseCpuTicks(stat: string): number | undefined {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? utime + stime : undefined;
}

export interface ProcSample {
  /** Resident set now and its peak (high-water mark), kB. */
  rssKb: number;
  hwmKb: number;
  /** CPU used so far, seconds. */
  cpuSeconds: number;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second for /proc times (almost always 100). */
export function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rssKb = parseStatusKb(status, "VmRSS");
    const hwmKb = parseStatusKb(status, "VmHWM");
    const ticks = parseCpuTicks(stat);
    if (rssKb === undefined || hwmKb === undefined || ticks === undefined) return undefined;
    return { rssKb, hwmKb, cpuSeconds: ticks / clockTicks() };
  } catch {
    return undefined;
  }
}

/** The inodes of the sockets among /proc/<pid>/fd's links (`socket:[123]`). */
export function socketInodes(links: readonly string[]): Set<string> {
  const inodes = new Set<string>();
  for (const l of links) {
    const m = /^socket:\[(\d+)\]$/.exec(l);
    if (m) inodes.add(m[1] as string);
  }
  return inodes;
}

/** Datagrams the kernel dropped (receive buffer full) on the sockets with these inodes, from
 *  the text of /proc/<pid>/net/udp or udp6 (inode is field 10, drops field 13). */
export function parseUdpDrops(table: string, inodes: ReadonlySet<string>): number {
  let drops = 0;
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 13 && inodes.has(f[9] as string)) drops += Number(f[12]) || 0;
  }
  return drops;
}

/** Datagrams the kernel dropped on a process's UDP sockets because it did not read them in
 *  time (its receive buffers were full); undefined once it is gone. */
export function udpDrops(pid: number): number | undefined {
  try {
    const links: string[] = [];
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        links.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // Closed meanwhile.
      }
    }
    const inodes = socketInodes(links);
    let drops = 0;
    for (const table of ["udp", "udp6"]) {
      try {
        drops += parseUdpDrops(readFileSync(`/proc/${pid}/net/${table}`, "utf8"), inodes);
      } catch {
        // No IPv6 table: nothing there.
      }
    }
    return drops;
  } catch {
    return undefined;
  }
}

/** Jiffies the whole machine spent busy and in all, from the first line of /proc/stat
 *  (`cpu user nice system idle iowait irq softirq steal ...`): idle and iowait are not busy. */
export function parseMachineCpu(stat: string): { busy: number; total: number } | undefined {
  const line = stat.split("\n", 1)[0] ?? "";
  const f = line.trim().split(/\s+/);
  if (f[0] !== "cpu") return undefined;
  const n = f.slice(1, 9).map(Number);
  if (n.length < 4 || n.some((x) => !Number.isFinite(x))) return undefined;
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
}

export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    return parseMachineCpu(readFileSync("/proc/stat", "utf8"));
  } catch {
    return undefined;
  }
}
