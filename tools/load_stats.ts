/**
 * What the load report counts, kept apart from processes and sockets so it can be tested:
 * per-sender arrivals on the group, and the process samples of each bot.
 */
import type { ChanMessage } from "../shared/codec.js";
import { BEAT, NEWS } from "../shared/protocol.js";
import type { ProcSample } from "./procstats.js";

interface SenderRecord {
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
  /** Heartbeats a bot should have sent from its first one to the end, summed over bots. */
  beatsExpected: number;
  /** Heartbeats received, at most the expected number per bot (extra early beats don't hide losses). */
  beatsReceived: number;
  /** The worst bot's received/expected. */
  worstBotRatio: number;
  /** Sequenced messages missing from each sender's run of sequence numbers. */
  seqLost: number;
  seqSpan: number;
}

/** Records the group's traffic, as seen by one listener. */
export class TrafficRecorder {
  private readonly bySender = new Map<string, SenderRecord>();
  readonly byOpcode: Record<string, number> = {};
  messages = 0;

  constructor(private readonly ignore: (sender: string) => boolean = () => false) {}

  /** Arrival times of all messages, to count those in a window. */
  private readonly times: number[] = [];

  private messagesBefore(ms: number): number {
    let n = 0;
    while (n < this.times.length && this.times[n]! < ms) n++;
    return n;
  }

  /** Distinct sender ids seen, in any message (NACKs included). */
  readonly ids = new Set<string>();
  /** The ids each sending process used: more than one only if it renamed itself. */
  private readonly idsByProcess = new Map<string, Set<string>>();

  /** Processes heard at all, heartbeats or not (an overloaded bot may be heard only in NACKs). */
  processesHeard(): number {
    return this.idsByProcess.size;
  }

  /** Processes that used more than one id: renames. (Comparing ids with botsSeen() is wrong:
   *  a bot whose heartbeats were all lost but whose NACKs arrived adds an id, not a rename.) */
  renamed(): number {
    let n = 0;
    for (const ids of this.idsByProcess.values()) if (ids.size > 1) n++;
    return n;
  }

  /**
   * One message. `from` names the sending process (its address and send port): a bot that renames
   * itself after an id collision stays one bot.
   */
  record(msg: ChanMessage, atMs: number, from: string = msg.sender): void {
    if (this.ignore(msg.sender)) return;
    this.ids.add(msg.sender);
    const used = this.idsByProcess.get(from);
    if (used) used.add(msg.sender);
    else this.idsByProcess.set(from, new Set([msg.sender]));
    this.messages++;
    this.times.push(atMs);
    this.byOpcode[msg.opcode] = (this.byOpcode[msg.opcode] ?? 0) + 1;
    let r = this.bySender.get(from);
    if (!r) {
      r = { beats: [], seqs: new Set(), minSeq: Number.POSITIVE_INFINITY, maxSeq: 0 };
      this.bySender.set(from, r);
    }
    if (msg.opcode === BEAT || msg.opcode === NEWS) r.beats.push(atMs);
    // SEQ 0 is an unsequenced control message (NACK/RSND/...): not part of the sender's run.
    if (msg.seq >= 1) {
      r.seqs.add(msg.seq);
      r.minSeq = Math.min(r.minSeq, msg.seq);
      r.maxSeq = Math.max(r.maxSeq, msg.seq);
    }
  }

  /** Senders seen so far that sent a heartbeat (bots, not supervisors). */
  botsSeen(): number {
    return [...this.bySender.values()].filter((r) => r.beats.length > 0).length;
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
    for (const r of this.bySender.values()) {
      senders++;
      if (r.maxSeq >= r.minSeq) {
        const span = r.maxSeq - r.minSeq + 1;
        seqSpan += span;
        seqLost += span - r.seqs.size;
      }
      const first = r.beats[0];
      if (first === undefined || first > endMs) continue;
      const beats = r.beats.filter((t) => t >= startMs && t <= endMs);
      const exp =
        first >= startMs
          ? 1 + Math.floor((endMs - first) / heartbeatMs)
          : Math.max(1, Math.floor((endMs - startMs) / heartbeatMs));
      const got = Math.min(beats.length, exp);
      expected += exp;
      received += got;
      worst = Math.min(worst, got / exp);
    }
    return {
      senders,
      messages: this.messages - this.messagesBefore(startMs),
      byOpcode: { ...this.byOpcode },
      beatsExpected: expected,
      beatsReceived: received,
      worstBotRatio: worst,
      seqLost,
      seqSpan,
    };
  }
}

export interface ProcSummary {
  /** Highest sum of the bots' resident sets at one sample, kB. */
  peakTotalRssKb: number;
  /** Mean and largest of each bot's own peak (VmHWM), kB. */
  meanBotHwmKb: number;
  maxBotHwmKb: number;
  /** CPU seconds used by all bots, in all. */
  cpuSeconds: number;
  /** CPU seconds used since the baseline round (the run itself, without starting up). */
  cpuSinceBaseline: number;
}

/** Keeps each bot's latest sample and the peak of their sum. */
export class ProcTracker {
  private readonly last = new Map<number, ProcSample>();
  private peakTotal = 0;
  private readonly base = new Map<number, number>();

  /** One round of samples, taken at about the same moment. */
  round(samples: ReadonlyMap<number, ProcSample>): void {
    let total = 0;
    for (const [pid, s] of samples) {
      this.last.set(pid, s);
      total += s.rssKb;
    }
    this.peakTotal = Math.max(this.peakTotal, total);
  }

  /** Take this round's CPU times as the start of the measured run. */
  baseline(samples: ReadonlyMap<number, ProcSample>): void {
    this.round(samples);
    for (const [pid, s] of samples) this.base.set(pid, s.cpuSeconds);
  }

  summary(): ProcSummary {
    const all = [...this.last.values()];
    const hwm = all.map((s) => s.hwmKb);
    return {
      peakTotalRssKb: this.peakTotal,
      meanBotHwmKb: hwm.length ? hwm.reduce((a, b) => a + b, 0) / hwm.length : 0,
      maxBotHwmKb: hwm.length ? Math.max(...hwm) : 0,
      cpuSeconds: all.reduce((a, s) => a + s.cpuSeconds, 0),
      cpuSinceBaseline: [...this.last].reduce((a, [pid, s]) => a + s.cpuSeconds - (this.base.get(pid) ?? 0), 0),
    };
  }
}
