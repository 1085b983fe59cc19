/**
 * What the load report counts, kept apart from processes and sockets so it can be tested:
 * per-sender arrivals on the group, the process samples of the bots, and the result object the
 * report prints (as text, or as JSON with -json) and the HTML view renders (LoadResult).
 */
import type { ChanMessage } from "../shared/codec.js";
import { BEAT, NACK, NEWS, RSND, SKIP } from "../shared/protocol.js";
import type { Ending } from "./botfleet.js";
import type { ProcSample } from "./procstats.js";

interface SenderRecord {
  /** Arrival time (ms) of its first message of any kind: a bot heard once is a bot seen. */
  first: number;
  /** Arrival times (ms) of BEAT and NEWS, the messages that count as heartbeats. */
  beats: number[];
  seqs: Set<number>;
  minSeq: number;
  maxSeq: number;
}

export interface TrafficSummary {
  senders: number;
  /** Messages in the window. */
  messages: number;
  /** Messages by opcode, over the whole run. */
  byOpcode: Record<string, number>;
  /** Heartbeats each bot should have sent from its first message (or the window's start) to the end, summed. */
  beatsExpected: number;
  /** Heartbeats received, at most the expected number per bot (extra early beats don't hide losses). */
  beatsReceived: number;
  /** The worst bot's received/expected. */
  worstBotRatio: number;
  /** Sequenced messages missing from each sender's run of sequence numbers. */
  seqLost: number;
  seqSpan: number;
}

/** One interval of the measured window (the time series of LoadResult). */
export interface LoadInterval {
  /** Seconds from the start of the window to the end of this interval. */
  t: number;
  /** Bots heard at all since the run began, by the end of the interval. */
  botsHeard: number;
  /** Heartbeats (BEAT/NEWS) received in the interval, and expected from the bots heard (fractional). */
  beatsReceived: number;
  beatsExpected: number;
  /** Messages of any kind received in the interval, and per second. */
  messages: number;
  messagesPerSecond: number;
  /** Sequence numbers found skipped in the interval (a later number arrived first). */
  gaps: number;
  /** NACKs, and repairs (RSND and SKIP), heard in the interval. */
  nacks: number;
  repairs: number;
  /** Resident memory of the bot processes at the end of the interval, bytes (summed). */
  rssBytes: number;
  /** CPU of the bot processes in the interval, percent of one core. */
  cpuPercent: number;
}

/** Records the group's traffic, as seen by one listener. */
export class TrafficRecorder {
  private readonly bySender = new Map<string, SenderRecord>();
  readonly byOpcode: Record<string, number> = {};
  messages = 0;
  /** Arrival times of all messages, of NACKs, of RSNDs and SKIPs; gaps as [time, count]. */
  private readonly times: number[] = [];
  private readonly nackTimes: number[] = [];
  private readonly repairTimes: number[] = [];
  private readonly gapEvents: [number, number][] = [];

  constructor(private readonly ignore: (sender: string) => boolean = () => false) {}

  /** Distinct sender ids seen, in any message (NACKs included). */
  readonly ids = new Set<string>();
  /** The ids each sender key used: more than one only if a process renamed itself. */
  private readonly idsByKey = new Map<string, Set<string>>();

  /** Keys that used more than one id: renames (a bot keyed by its process that changed its id). */
  renamed(): number {
    let n = this.merged;
    for (const ids of this.idsByKey.values()) if (ids.size > 1) n++;
    return n;
  }

  /**
   * One message. `key` names the bot: its sending process (address and send port) when every
   * bot is a process of its own, so a bot that renames itself after an id collision stays one
   * bot; its sending process and its id when bots share a process (and its socket), so two bots
   * of different hosts that drew the same id stay two bots.
   */
  record(msg: ChanMessage, atMs: number, key: string = msg.sender): void {
    if (this.ignore(msg.sender)) return;
    this.ids.add(msg.sender);
    const keys = this.keysById.get(msg.sender);
    if (keys) keys.add(key);
    else this.keysById.set(msg.sender, new Set([key]));
    const used = this.idsByKey.get(key);
    if (used) used.add(msg.sender);
    else this.idsByKey.set(key, new Set([msg.sender]));
    this.messages++;
    this.times.push(atMs);
    this.byOpcode[msg.opcode] = (this.byOpcode[msg.opcode] ?? 0) + 1;
    if (msg.opcode === NACK) this.nackTimes.push(atMs);
    else if (msg.opcode === RSND || msg.opcode === SKIP) this.repairTimes.push(atMs);
    let r = this.bySender.get(key);
    if (!r) {
      r = { first: atMs, beats: [], seqs: new Set(), minSeq: Number.POSITIVE_INFINITY, maxSeq: 0 };
      this.bySender.set(key, r);
    }
    if (msg.opcode === BEAT || msg.opcode === NEWS) r.beats.push(atMs);
    // SEQ 0 is an unsequenced control message (NACK/RSND/...): not part of the sender's run.
    if (msg.seq >= 1) {
      if (r.maxSeq > 0 && msg.seq > r.maxSeq + 1) this.gapEvents.push([atMs, msg.seq - r.maxSeq - 1]);
      r.seqs.add(msg.seq);
      r.minSeq = Math.min(r.minSeq, msg.seq);
      r.maxSeq = Math.max(r.maxSeq, msg.seq);
    }
  }

  /**
   * A bot renamed itself (after an id collision) from `from` to `into`: one bot, so one record.
   * Its sequence numbers carry on under the new id; its heartbeats are expected from its first
   * message under either id.
   */
  merge(from: string, into: string): boolean {
    const a = this.bySender.get(from);
    const b = this.bySender.get(into);
    if (!a || !b || a === b) return false;
    a.first = Math.min(a.first, b.first);
    a.beats = [...a.beats, ...b.beats].sort((x, y) => x - y);
    for (const q of b.seqs) a.seqs.add(q);
    a.minSeq = Math.min(a.minSeq, b.minSeq);
    a.maxSeq = Math.max(a.maxSeq, b.maxSeq);
    // Every key of the absorbed record now names the merged one.
    for (const [k, r] of this.bySender) if (r === b) this.bySender.set(k, a);
    this.merged++;
    return true;
  }

  /**
   * The renames one process logged, in order (old id, new id): each id a bot ended with, heard
   * from a process, absorbs the ids it had before there, even through ids never heard.
   */
  mergeRenames(renames: readonly [string, string][]): void {
    const before = new Map<string, string>();
    for (const [from, into] of renames) before.set(into, from);
    // The process's own key prefix (address:port/): the one most of its new ids were heard under
    // (a new id may collide again with a bot of another process).
    const votes = new Map<string, number>();
    for (const into of before.keys())
      for (const key of this.keysOf(into)) {
        const prefix = key.slice(0, key.length - into.length);
        votes.set(prefix, (votes.get(prefix) ?? 0) + 1);
      }
    const prefix = [...votes].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (prefix === undefined) return;
    for (const into of before.keys()) {
      const key = `${prefix}${into}`;
      if (!this.bySender.has(key)) continue;
      const seen = new Set<string>([into]);
      for (let id = before.get(into); id !== undefined && !seen.has(id); id = before.get(id)) {
        seen.add(id);
        this.merge(`${prefix}${id}`, key);
      }
    }
  }

  /** Renames merged by merge(). */
  merged = 0;
  /** The keys each id was heard under. */
  private readonly keysById = new Map<string, Set<string>>();

  /** The keys a sender id was heard under (with bots in hosts: one per sending process). */
  keysOf(id: string): string[] {
    return [...(this.keysById.get(id) ?? [])];
  }

  /** Bots heard at all (any message, a NACK is enough), supervisors excluded. */
  botsHeard(): number {
    return this.records().length;
  }

  /** Each bot's record once (a renamed bot's sits under both its ids). */
  private records(): SenderRecord[] {
    return [...new Set(this.bySender.values())];
  }

  /** Bots heard by `atMs`. */
  botsHeardBy(atMs: number): number {
    return this.heardBy(this.records(), atMs);
  }

  private heardBy(records: readonly SenderRecord[], atMs: number): number {
    let n = 0;
    for (const r of records) if (r.first <= atMs) n++;
    return n;
  }

  /** Heartbeats one bot should have sent in [startMs, endMs], counted from its first message. */
  private expected(r: SenderRecord, startMs: number, endMs: number, heartbeatMs: number): number {
    if (r.first > endMs) return 0;
    return r.first >= startMs
      ? 1 + Math.floor((endMs - r.first) / heartbeatMs)
      : Math.max(1, Math.floor((endMs - startMs) / heartbeatMs));
  }

  /**
   * Sum up the window [startMs, endMs]. A bot heard first at f inside the window should have sent
   * 1 + floor((end - f) / heartbeat) heartbeats in it, one heard before it floor((end - start) /
   * heartbeat); `unseen` bots that never spoke count with `unseenExpected` each.
   */
  summary(startMs: number, endMs: number, heartbeatMs: number, unseen: number, unseenExpected: number): TrafficSummary {
    let expected = unseen * unseenExpected;
    let received = 0;
    let worst = unseen > 0 && unseenExpected > 0 ? 0 : 1;
    let seqLost = 0;
    let seqSpan = 0;
    let senders = 0;
    for (const r of this.records()) {
      senders++;
      if (r.maxSeq >= r.minSeq) {
        const span = r.maxSeq - r.minSeq + 1;
        seqSpan += span;
        seqLost += span - r.seqs.size;
      }
      const exp = this.expected(r, startMs, endMs, heartbeatMs);
      if (exp === 0) continue;
      const got = Math.min(r.beats.filter((t) => t >= startMs && t <= endMs).length, exp);
      expected += exp;
      received += got;
      worst = Math.min(worst, got / exp);
    }
    return {
      senders,
      messages: countIn(this.times, startMs, endMs),
      byOpcode: { ...this.byOpcode },
      beatsExpected: expected,
      beatsReceived: received,
      worstBotRatio: worst,
      seqLost,
      seqSpan,
    };
  }

  /**
   * The window [startMs, endMs] in equal intervals of about stepMs, traffic only
   * (rssBytes and cpuPercent are 0 here: ProcTracker.fill adds them). Heartbeats expected in an
   * interval: its overlap with each heard bot's life since its first message, over the heartbeat.
   */
  series(startMs: number, endMs: number, stepMs: number, heartbeatMs: number): LoadInterval[] {
    const out: LoadInterval[] = [];
    // Equal intervals of about stepMs: no sliver of a last interval when the window ran a little over.
    const n = Math.max(1, Math.round((endMs - startMs) / stepMs));
    const len = (endMs - startMs) / n;
    const records = this.records();
    for (let i = 0; i < n; i++) {
      const a = startMs + i * len;
      const b = i === n - 1 ? endMs : startMs + (i + 1) * len;
      let received = 0;
      let expected = 0;
      for (const r of records) {
        if (r.first > b) continue;
        expected += (b - Math.max(a, r.first)) / heartbeatMs;
        received += countIn(r.beats, a, b, true);
      }
      const messages = countIn(this.times, a, b, true);
      out.push({
        t: (b - startMs) / 1000,
        botsHeard: this.heardBy(records, b),
        beatsReceived: received,
        beatsExpected: expected,
        messages,
        messagesPerSecond: (1000 * messages) / (b - a),
        gaps: this.gapEvents.filter(([t]) => t > a && t <= b).reduce((n, [, k]) => n + k, 0),
        nacks: countIn(this.nackTimes, a, b, true),
        repairs: countIn(this.repairTimes, a, b, true),
        rssBytes: 0,
        cpuPercent: 0,
      });
    }
    return out;
  }
}

/** How many of these times (in arrival order) fall in [a, b], or (a, b] when `openStart`. */
function countIn(times: readonly number[], a: number, b: number, openStart = false): number {
  let n = 0;
  for (const t of times) if ((openStart ? t > a : t >= a) && t <= b) n++;
  return n;
}

export interface ProcSummary {
  /** Highest sum of the bot processes' resident sets at one sample, kB. */
  peakTotalRssKb: number;
  /** Mean and largest of each process's own peak (VmHWM), kB. */
  meanProcHwmKb: number;
  maxProcHwmKb: number;
  /** CPU seconds used by all bot processes, in all. */
  cpuSeconds: number;
  /** CPU seconds used since the baseline round (the run itself, without starting up). */
  cpuSinceBaseline: number;
}

/** Keeps each process's latest sample, the peak of their sum and every round's totals. */
export class ProcTracker {
  private readonly last = new Map<number, ProcSample>();
  private peakTotal = 0;
  private readonly base = new Map<number, number>();
  /** [time ms, total RSS kB, total CPU s] of every round. */
  private readonly rounds: [number, number, number][] = [];

  /** One round of samples, taken at about the same moment (atMs). */
  round(samples: ReadonlyMap<number, ProcSample>, atMs = 0): void {
    let total = 0;
    for (const [pid, s] of samples) {
      this.last.set(pid, s);
      total += s.rssKb;
    }
    this.peakTotal = Math.max(this.peakTotal, total);
    // CPU of processes that ended stays counted with their last sample.
    this.rounds.push([atMs, total, [...this.last.values()].reduce((a, s) => a + s.cpuSeconds, 0)]);
  }

  /** Take this round's CPU times as the start of the measured run. */
  baseline(samples: ReadonlyMap<number, ProcSample>, atMs = 0): void {
    this.round(samples, atMs);
    for (const [pid, s] of samples) this.base.set(pid, s.cpuSeconds);
  }

  /** Add memory (latest round by each interval's end) and CPU (between those rounds) to a series. */
  fill(series: LoadInterval[], startMs: number): void {
    const before = this.rounds.filter(([t]) => t <= startMs);
    const b = before[before.length - 1];
    let prevCpu: [number, number] | undefined = b ? [b[0], b[2]] : undefined;
    for (const iv of series) {
      const end = startMs + iv.t * 1000;
      const upTo = this.rounds.filter(([t]) => t <= end);
      const r = upTo[upTo.length - 1];
      if (!r) continue;
      iv.rssBytes = r[1] * 1024;
      if (prevCpu && r[0] > prevCpu[0]) iv.cpuPercent = (100 * (r[2] - prevCpu[1])) / ((r[0] - prevCpu[0]) / 1000);
      prevCpu = [r[0], r[2]];
    }
  }

  summary(): ProcSummary {
    const all = [...this.last.values()];
    const hwm = all.map((s) => s.hwmKb);
    return {
      peakTotalRssKb: this.peakTotal,
      meanProcHwmKb: hwm.length ? hwm.reduce((a, b) => a + b, 0) / hwm.length : 0,
      maxProcHwmKb: hwm.length ? Math.max(...hwm) : 0,
      cpuSeconds: all.reduce((a, s) => a + s.cpuSeconds, 0),
      cpuSinceBaseline: [...this.last].reduce((a, [pid, s]) => a + s.cpuSeconds - (this.base.get(pid) ?? 0), 0),
    };
  }
}

/**
 * A load run's result: what `npm run load -- N [seconds] -json` prints as one JSON object, what
 * the text report says, and what the HTML view draws. Memory and CPU are of the bot processes
 * (hosts included), not of the recorder.
 */
export interface LoadResult {
  /** "ours", or "python" for the original's bots (-python=DIR). */
  kind: "ours" | "python";
  /** Bots asked for and bots whose process started. */
  bots: number;
  botsStarted: number;
  /** Processes started, and bots per process (1: every bot a program of its own). */
  processes: number;
  perProcess: number;
  /** Length of the measured window, seconds; the bots' heartbeat, seconds. */
  seconds: number;
  heartbeat: number;
  /** Seconds from the first process starting until every bot was heard (or the join timeout). */
  joinSeconds: number;
  /** Bots heard at all (any message, ever), and by the start of the window. */
  botsHeard: number;
  /** Bots that renamed themselves after an id collision (counted once, under both ids). */
  renamedBots: number;
  botsHeardAtStart: number;
  /** Heartbeats in the window: expected from each bot's first message, received (capped per bot). */
  heartbeatsExpected: number;
  heartbeatsReceived: number;
  worstBotRatio: number;
  /** Sequenced messages never received, of those a sender's numbers span. */
  sequenceGaps: number;
  sequenceSpan: number;
  /** Messages in the window, per second; by opcode over the whole run; malformed datagrams. */
  messages: number;
  messagesPerSecond: number;
  byOpcode: Record<string, number>;
  malformed: number;
  /** Highest sum of the bot processes' resident memory at one sample, bytes; per bot. */
  peakRssBytes: number;
  rssBytesPerBot: number;
  /** CPU seconds of the bot processes in the window, and before it (starting up). */
  cpuSeconds: number;
  cpuSecondsBefore: number;
  /** CPU seconds of the recorder (this program) in the window. */
  recorderCpuSeconds: number;
  /** Bots that crashed or had to be SIGKILLed, and how every bot ended. */
  crashed: number;
  endings: Record<Ending, number>;
  /** The window, interval by interval. */
  intervalSeconds: number;
  series: LoadInterval[];
}

/** Interval of the time series: about 60 points over the window, whole seconds, at least 1 s. */
export function intervalFor(seconds: number): number {
  return Math.max(1, Math.round(seconds / 60));
}

/**
 * Renames in a host's log: the lines a bot writes when it takes a new id after a collision.
 * `template` is that line as the bots write it in their language, with §OLD§, §ADDRESS§ and §NEW§
 * in place of the values (so the pattern follows the translation).
 */
export function renamesInLog(text: string, template: string): [string, string][] {
  const esc = template.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const re = new RegExp(
    esc.replace("§OLD§", "([0-9A-F]{8})").replace("§ADDRESS§", ".*?").replace("§NEW§", "([0-9A-F]{8})"),
    "g",
  );
  const out: [string, string][] = [];
  for (const m of text.matchAll(re)) out.push([m[1]!, m[2]!]);
  return out;
}
