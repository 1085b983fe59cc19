/**
 * Memory and CPU of other processes, from Linux's /proc (the load report measures the bots,
 * which are separate processes). Parsing is pure; reading returns undefined once a process
 * is gone.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

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
