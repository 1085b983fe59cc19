/**
 * Reliable multicast over the plain Channel, NACK-based in the manner of NORM (RFC 5740) and
 * JGroups NAKACK2, with the repair open to any peer holding a copy:
 *
 * - Every sender's sequence numbers are tracked (gaps.ts). A gap is NACKed after a random wait
 *   in [0, nackWait); seeing another peer's NACK for the same gap counts as our round
 *   (suppression). Rounds repeat with doubling backoff until the message is repaired, skipped,
 *   or nackTries rounds have gone by (then it is given up: a sender of the original program,
 *   which never answers, costs at most nackTries rounds per lost message).
 * - A NACK is answered by the original sender after a random wait in [0, rsndWait), by any other
 *   holder after [rsndWait, 2·rsndWait); whoever sees an RSND or SKIP first stays silent. A BEAT,
 *   or a message the sender no longer holds, is answered with SKIP.
 * - The application sees every sequenced message once; repaired ones come with the original
 *   sender's address as source (bots connect to it for UPLD). Delivery is not ordered: a
 *   repaired message comes after later ones, so a lost BEAT never delays a KILL.
 * - BEATs are never resent, so NACKing them is waste, and under overload (receivers losing many
 *   datagrams) a storm: every BEAT carries `prior=K`, the sender's latest non-BEAT number, and
 *   gaps between K and the BEAT are closed without a NACK. NACKs and answers are metered by token
 *   buckets (nackRate, rsndRate per second): a round that finds the bucket empty waits for a
 *   token without counting as a try, so repair traffic stays bounded and nothing is given up
 *   sooner for it.
 * - Tail loss: after a message other than a BEAT, a sender announces its latest number (LAST)
 *   a few times with doubling intervals, and once more when it closes.
 * - A late joiner tracks a sender from the first number it sees (or, from LAST, from what was
 *   sent after it joined); a sender seen from a new address has restarted and is tracked anew.
 *
 * Wire formats are in wire.ts. Everything runs on the injected Clock and Rng.
 */
import { EventEmitter } from "node:events";
import type { Channel, ChannelEvents, ChannelStats, GroupChannel } from "../channel.js";
import type { Clock } from "../clock.js";
import { type ChanMessage, formatBody } from "../codec.js";
import type { Logger } from "../log.js";
import { BEAT, isControlOpcode, WILDCARD } from "../protocol.js";
import type { Rng } from "../random.js";
import type { Source } from "../transport.js";
import { TokenBucket } from "./bucket.js";
import { RetransmitBuffer } from "./buffer.js";
import { type Change, DEFAULT_LIMITS, SeqStream, type StreamLimits } from "./gaps.js";
import { Scheduler } from "./scheduler.js";
import {
  bodyOf,
  type Control,
  LAST,
  lastArgs,
  NACK,
  NB_MAX,
  nackArgs,
  parseControl,
  priorOf,
  priorTag,
  RSND,
  rsndArgs,
  SKIP,
  withoutPrior,
} from "./wire.js";

export interface ReliableOptions {
  clock: Clock;
  rng: Rng;
  /** Upper bound of the random wait before a NACK; base of the retry backoff. Default 200 ms. */
  nackWaitMs?: number;
  /** NACK rounds (ours or others') before a lost message is given up. Default 10. */
  nackTries?: number;
  /** Upper bound of the random wait before answering a NACK. Default 100 ms. */
  rsndWaitMs?: number;
  /** Retransmission buffers (ours, and copies of others'): most messages kept. Default 512. */
  holdCount?: number;
  /** ... and longest kept. Default 60 s. */
  holdTimeMs?: number;
  /** How many LAST announcements follow the last send. Default 4. */
  announceCount?: number;
  /** NACKs we send per second at most (bursts of twice that); 0: unlimited. Default 10. */
  nackRate?: number;
  /** RSND/SKIP answers we send per second at most (bursts of twice that); 0: unlimited. Default 20. */
  rsndRate?: number;
  /** On close(), after a recent message other than a BEAT (an EXIT, a last command), stay this
   *  long announcing it and answering NACKs for it before leaving. Default 0 (leave at once). */
  lingerMs?: number;
  limits?: StreamLimits;
  logger?: Logger;
  /** Called for each message delivered through RSND (benchmarks, diagnostics). */
  onRepaired?: (msg: ChanMessage, source: Source) => void;
}

export interface ReliableStats {
  /** Sequenced messages passed to the application. */
  delivered: number;
  /** ... of which arrived through RSND. */
  repaired: number;
  duplicates: number;
  /** Below the tracking window (history from before we joined, or too old). */
  old: number;
  gaps: number;
  nacksSent: number;
  /** NACK rounds we did not send because another peer NACKed first. */
  nacksSuppressed: number;
  rsndSent: number;
  skipSent: number;
  /** Answers we did not send because another peer answered first. */
  answersSuppressed: number;
  /** Gaps closed by a SKIP. */
  skipped: number;
  /** Gaps closed without a NACK: a later BEAT's prior= tag showed they were BEATs. */
  beatsInferred: number;
  /** NACK rounds and answers postponed because their token bucket was empty. */
  nacksDeferred: number;
  answersDeferred: number;
  /** Gaps given up after nackTries rounds. */
  givenUp: number;
  lastSent: number;
  restarts: number;
  controlReceived: number;
  invalidControl: number;
}

interface Gap {
  tries: number;
  /** When the current NACK round began (ours or another peer's). */
  roundAt: number;
}

interface Stream {
  seq: SeqStream;
  /** Where the sender's own datagrams come from: the source of its repaired messages. */
  source: Source;
  heard: number;
  gaps: Map<number, Gap>;
}

function sameSource(a: Source, b: Source): boolean {
  return a.address === b.address && a.port === b.port;
}

const nackKey = (sender: string, seq: number): string => `n ${sender} ${seq}`;
const answerKey = (sender: string, seq: number): string => `r ${sender} ${seq}`;
const ANNOUNCE = "a";

export class ReliableChannel extends EventEmitter<ChannelEvents> implements GroupChannel {
  readonly reliability: ReliableStats = {
    delivered: 0,
    repaired: 0,
    duplicates: 0,
    old: 0,
    gaps: 0,
    nacksSent: 0,
    nacksSuppressed: 0,
    rsndSent: 0,
    skipSent: 0,
    answersSuppressed: 0,
    skipped: 0,
    beatsInferred: 0,
    nacksDeferred: 0,
    answersDeferred: 0,
    givenUp: 0,
    lastSent: 0,
    restarts: 0,
    controlReceived: 0,
    invalidControl: 0,
  };

  private readonly clock: Clock;
  private readonly rng: Rng;
  private readonly nackWait: number;
  private readonly nackTries: number;
  private readonly rsndWait: number;
  private readonly announceCount: number;
  private readonly limits: StreamLimits;
  private readonly sched: Scheduler;
  private readonly nackBucket: TokenBucket;
  private readonly answerBucket: TokenBucket;
  private readonly streams = new Map<string, Stream>();
  /** Our own messages, and copies of everyone else's. */
  private readonly ownBuf: RetransmitBuffer;
  private readonly peerBuf: RetransmitBuffer;
  /** When each (sender, seq) was last answered by anyone: NACKs of the same round are ignored. */
  private readonly answeredAt = new Map<string, number>();
  private readonly joinedAt: number;
  private lastSweep: number;
  private closed = false;
  /** Between close() and the end of the linger: only NACKs for our own messages are handled. */
  private lingering = false;
  private closing: Promise<void> | undefined;

  // Our stream under the current id, for LAST.
  private firstSeq: number | undefined;
  private firstAt = 0;
  /** Our latest non-BEAT under the current id (the prior= tag of our BEATs). */
  private priorSeq = 0;
  /** Our latest non-BEATs under the current id, newest first (the nb= tag of LAST). */
  private recentNonBeats: number[] = [];
  private lastSeq = 0;
  private lastAt = 0;
  private announcePending = false;
  private announceRound = 0;

  constructor(
    readonly inner: Channel,
    private readonly opts: ReliableOptions,
  ) {
    super();
    this.clock = opts.clock;
    this.rng = opts.rng;
    this.nackWait = opts.nackWaitMs ?? 200;
    this.nackTries = opts.nackTries ?? 10;
    this.rsndWait = opts.rsndWaitMs ?? 100;
    this.announceCount = opts.announceCount ?? 4;
    this.limits = opts.limits ?? DEFAULT_LIMITS;
    const limits = { maxCount: opts.holdCount ?? 512, maxAgeMs: opts.holdTimeMs ?? 60_000 };
    this.ownBuf = new RetransmitBuffer(limits);
    this.peerBuf = new RetransmitBuffer(limits);
    this.sched = new Scheduler(this.clock);
    this.joinedAt = this.clock.now();
    const nackRate = opts.nackRate ?? 10;
    const rsndRate = opts.rsndRate ?? 20;
    this.nackBucket = new TokenBucket(nackRate, Math.max(1, 2 * nackRate), this.joinedAt);
    this.answerBucket = new TokenBucket(rsndRate, Math.max(1, 2 * rsndRate), this.joinedAt);
    this.lastSweep = this.joinedAt;
    inner.on("message", (msg, source) => this.onMessage(msg, source));
    inner.on("invalid", (reason, text, source) => this.emit("invalid", reason, text, source));
    inner.on("error", (err) => this.emit("error", err));
    inner.on("warning", (err) => this.emit("warning", err));
  }

  get id(): string {
    return this.inner.id;
  }

  get stats(): ChannelStats {
    return this.inner.stats;
  }

  /** Gaps currently waiting for repair (diagnostics, tests). */
  get pendingGaps(): number {
    let n = 0;
    for (const s of this.streams.values()) n += s.gaps.size;
    return n;
  }

  /** Timers currently armed (tests check that close() leaves none). */
  get pendingTimers(): number {
    return this.sched.size;
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number {
    const beat = opcode === BEAT;
    const sent = beat ? [...args, priorTag(this.priorSeq)] : args;
    const seq = this.inner.send(opcode, dest, sent);
    if (seq < 0) return seq;
    const now = this.clock.now();
    if (!beat) {
      this.priorSeq = seq;
      this.recentNonBeats.unshift(seq);
      if (this.recentNonBeats.length > NB_MAX) this.recentNonBeats.pop();
    }
    this.ownBuf.put(this.inner.id, seq, beat ? "" : formatBody(opcode, dest, sent), beat, now);
    if (this.firstSeq === undefined) {
      this.firstSeq = seq;
      this.firstAt = now;
    }
    this.lastSeq = seq;
    this.lastAt = now;
    // A lost BEAT is only ever SKIPped, and bots BEAT often: no announcement after BEATs alone.
    // The repetitions count from the last non-BEAT; a busy sender still announces every
    // nackWait, so receivers learn early where its stream began. BEATs don't restart the count
    // (a bot beating every second after one NEWS would announce forever): their prior= tag
    // already tells receivers of the non-BEAT.
    if (!beat && !this.closed) {
      this.announcePending = true;
      this.announceRound = 0;
      if (!this.sched.has(ANNOUNCE)) this.sched.set(ANNOUNCE, this.nackWait, () => this.announce());
    }
    return seq;
  }

  rename(id: string): void {
    this.inner.rename(id);
    // Receivers see a new sender: its stream begins with our next message.
    this.firstSeq = undefined;
    this.priorSeq = 0;
    this.recentNonBeats = [];
    this.announcePending = false;
    this.sched.cancel(ANNOUNCE);
    this.forget(id);
  }

  close(): Promise<void> {
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    this.closed = true;
    const lingerMs = this.opts.lingerMs ?? 0;
    // Last words (an EXIT, a supervisor's last KILL) are announced at once. If nobody else may
    // hold them (a killed bot's EXIT), only we can repair them: stay a moment to answer NACKs,
    // with the announcements still running, then leave.
    if (this.announcePending && this.firstSeq !== undefined) {
      this.sendLast();
      if (lingerMs > 0) {
        this.lingering = true;
        await new Promise<void>((resolve) => this.clock.setTimeout(resolve, lingerMs));
        this.lingering = false;
      }
    }
    this.sched.clear();
    await this.inner.close();
  }

  // ---- receiving ----

  private onMessage(msg: ChanMessage, source: Source): void {
    if (this.closed) {
      if (this.lingering && msg.seq === 0 && msg.opcode === NACK && msg.dest === this.inner.id) {
        this.onControl(msg, source);
      }
      return;
    }
    if (msg.seq === 0) {
      if (isControlOpcode(msg.opcode)) this.onControl(msg, source);
      else this.emit("message", msg, source); // unsequenced: nothing to track
      return;
    }
    // Another peer using our id: the application must see it (collision), untracked.
    if (msg.sender === this.inner.id) {
      this.emit("message", msg, source);
      return;
    }
    this.onData(msg, source, true);
  }

  private onData(msg: ChanMessage, source: Source, direct: boolean): void {
    const sender = msg.sender;
    const now = this.clock.now();
    let st = this.streams.get(sender);
    if (direct) {
      if (st && !sameSource(st.source, source)) st = this.restarted(sender);
      st ??= this.newStream(sender, msg.seq, source);
      st.heard = now;
    } else if (!st) {
      // A repair for a sender we never heard: history from before we joined.
      this.reliability.old++;
      return;
    }
    const r = st.seq.receive(msg.seq);
    this.apply(sender, st, r);
    const beat = msg.opcode === BEAT;
    const prior = beat ? priorOf(msg) : undefined;
    if (prior !== undefined && r.arrival === "new" && st.gaps.size > 0) this.inferBeats(sender, st, prior, msg.seq);
    if (r.arrival !== "new") {
      if (r.arrival === "duplicate") this.reliability.duplicates++;
      else this.reliability.old++;
      return;
    }
    this.closeGap(sender, st, msg.seq);
    // A BEAT is only ever SKIPped: its body is not kept, so don't format it.
    this.peerBuf.put(sender, msg.seq, beat ? "" : bodyOf(msg), beat, now);
    this.reliability.delivered++;
    if (!direct) this.reliability.repaired++;
    const origin = st.source;
    this.emit("message", prior === undefined ? msg : withoutPrior(msg), origin);
    if (!direct) this.opts.onRepaired?.(msg, origin);
    this.sweep(now);
  }

  private onControl(msg: ChanMessage, source: Source): void {
    const r = parseControl(msg);
    if (!r.ok) {
      this.reliability.invalidControl++;
      this.opts.logger?.debug({ text: msg.text, reason: r.reason }, "invalid control message dropped");
      return;
    }
    this.reliability.controlReceived++;
    const c: Control = r.control;
    switch (c.kind) {
      case NACK:
        this.onNack(c.sender, c.seq);
        return;
      case RSND:
        this.answered(c.sender, c.seq);
        // Never our own message back to us.
        if (c.sender !== this.inner.id) this.onData(c.message, source, false);
        return;
      case SKIP:
        this.answered(c.sender, c.seq);
        this.onSkip(c.sender, c.seq);
        return;
      case LAST:
        this.onLast(msg.sender, c, source);
        return;
    }
  }

  private onLast(sender: string, c: Extract<Control, { kind: typeof LAST }>, source: Source): void {
    if (sender === this.inner.id) return;
    const now = this.clock.now();
    const present = now - this.joinedAt;
    // Were we here when the sender's stream began?
    const sinceStart = c.first !== undefined && c.since !== undefined && c.since <= present;
    let st = this.streams.get(sender);
    if (st && !sameSource(st.source, source)) st = this.restarted(sender);
    if (!st) {
      // First we hear of it: ask only for what was sent after we joined.
      const first = sinceStart ? (c.first as number) : c.age !== undefined && c.age <= present ? c.seq : c.seq + 1;
      st = this.newStream(sender, Math.min(first, c.seq + 1), source);
    } else if (sinceStart) {
      this.apply(sender, st, st.seq.extendBack(c.first as number));
    }
    st.heard = now;
    this.apply(sender, st, st.seq.announce(c.seq));
    if (c.nb !== undefined && st.gaps.size > 0) this.inferFromList(sender, st, c.seq, c.nb, c.first);
  }

  /** LAST listed the sender's latest non-BEATs: the other numbers we miss in the range the list
   *  covers (from the oldest listed, or from the stream's first when the list is not full) were
   *  BEATs. */
  private inferFromList(sender: string, st: Stream, last: number, nb: readonly number[], first?: number): void {
    const from = nb.length >= NB_MAX ? (nb[nb.length - 1] as number) : first;
    if (from === undefined) return;
    const keep = new Set(nb);
    for (const seq of [...st.gaps.keys()]) {
      if (seq >= from && seq <= last && !keep.has(seq) && st.seq.resolve(seq)) {
        this.closeGap(sender, st, seq);
        this.reliability.beatsInferred++;
      }
    }
  }

  private onSkip(sender: string, seq: number): void {
    const st = this.streams.get(sender);
    if (!st?.seq.resolve(seq)) return;
    this.reliability.skipped++;
    this.closeGap(sender, st, seq);
  }

  // ---- gaps and NACKs ----

  private apply(sender: string, st: Stream, change: Change): void {
    for (const seq of change.abandoned) this.closeGap(sender, st, seq);
    for (const seq of change.gaps) {
      st.gaps.set(seq, { tries: 0, roundAt: Number.NEGATIVE_INFINITY });
      this.reliability.gaps++;
      this.sched.set(nackKey(sender, seq), this.rng.next() * this.nackWait, () => this.nackDue(sender, seq));
    }
  }

  /** The BEAT says its sender's latest non-BEAT was K: what we miss between K and it were BEATs. */
  private inferBeats(sender: string, st: Stream, k: number, beatSeq: number): void {
    if (k >= beatSeq) return;
    for (const seq of [...st.gaps.keys()]) {
      if (seq > k && seq < beatSeq && st.seq.resolve(seq)) {
        this.closeGap(sender, st, seq);
        this.reliability.beatsInferred++;
      }
    }
  }

  private closeGap(sender: string, st: Stream, seq: number): void {
    if (st.gaps.delete(seq)) this.sched.cancel(nackKey(sender, seq));
  }

  /** Wait after a NACK round before the next: long enough for an answer, doubling, capped at
   *  4× so that all rounds fit in the retransmission buffers' reach (about 14 s by default). */
  private retryDelay(tries: number): number {
    const base = this.nackWait + 2 * this.rsndWait;
    return base * 2 ** Math.min(tries - 1, 2) + this.rng.next() * this.nackWait;
  }

  private nackDue(sender: string, seq: number): void {
    const st = this.streams.get(sender);
    const gap = st?.gaps.get(seq);
    if (!st || !gap) return;
    if (gap.tries >= this.nackTries) {
      st.seq.resolve(seq);
      st.gaps.delete(seq);
      this.reliability.givenUp++;
      this.opts.logger?.debug({ sender, seq, tries: gap.tries }, "gave up waiting for a lost message");
      return;
    }
    const now = this.clock.now();
    if (!this.nackBucket.take(now)) {
      // Over our NACK rate: this round waits for a token (and may be suppressed meanwhile).
      this.reliability.nacksDeferred++;
      const wait = this.nackBucket.waitMs(now) + this.rng.next() * this.nackWait;
      this.sched.set(nackKey(sender, seq), wait, () => this.nackDue(sender, seq));
      return;
    }
    if (this.inner.sendWithSeq(0, NACK, sender, nackArgs(seq))) this.reliability.nacksSent++;
    gap.tries++;
    gap.roundAt = this.clock.now();
    this.sched.set(nackKey(sender, seq), this.retryDelay(gap.tries), () => this.nackDue(sender, seq));
  }

  private onNack(sender: string, seq: number): void {
    const now = this.clock.now();
    // Suppression: someone else asked for what we miss; their round is ours.
    const st = this.streams.get(sender);
    const gap = st?.gaps.get(seq);
    if (gap && now - gap.roundAt >= this.nackWait) {
      gap.tries++;
      gap.roundAt = now;
      this.reliability.nacksSuppressed++;
      this.sched.set(nackKey(sender, seq), this.retryDelay(gap.tries), () => this.nackDue(sender, seq));
    }
    // Answer, if we can and nobody has just done so.
    const key = answerKey(sender, seq);
    if (this.sched.has(key)) return;
    const last = this.answeredAt.get(key);
    if (last !== undefined && now - last < this.nackWait) return;
    const own = sender === this.inner.id;
    if (!own && !this.held(sender, seq, now)) return;
    // The original sender answers first; other holders a little later, unless they see an answer
    // first. Under heavy loss their extra copies reach receivers that the sender's copy missed
    // (measured: deferring them further until a second round cost more rounds than it saved).
    const delay = own ? this.rng.next() * this.rsndWait : this.rsndWait * (1 + this.rng.next());
    this.sched.set(key, delay, () => this.answer(sender, seq, own));
  }

  private held(sender: string, seq: number, now: number) {
    return this.peerBuf.get(sender, seq, now) ?? this.ownBuf.get(sender, seq, now);
  }

  private answer(sender: string, seq: number, own: boolean): void {
    const now = this.clock.now();
    if (!this.answerBucket.take(now)) {
      // Over our answer rate: wait for a token; another holder may answer meanwhile.
      this.reliability.answersDeferred++;
      const wait = this.answerBucket.waitMs(now) + this.rng.next() * this.rsndWait;
      this.sched.set(answerKey(sender, seq), wait, () => this.answer(sender, seq, own));
      return;
    }
    const h = this.held(sender, seq, now);
    this.noteAnswered(answerKey(sender, seq), now);
    if (h && !h.beat && this.inner.sendWithSeq(0, RSND, sender, rsndArgs(seq, h.body))) {
      this.reliability.rsndSent++;
      return;
    }
    // A BEAT, gone from the buffer, or too large to resend: only the sender may say so.
    if ((h?.beat || own) && this.inner.sendWithSeq(0, SKIP, sender, nackArgs(seq))) this.reliability.skipSent++;
  }

  /** Another peer answered (sender, seq): cancel our answer, ignore the rest of this round. */
  private answered(sender: string, seq: number): void {
    const key = answerKey(sender, seq);
    if (this.sched.has(key)) {
      this.sched.cancel(key);
      this.reliability.answersSuppressed++;
    }
    this.noteAnswered(key, this.clock.now());
  }

  private noteAnswered(key: string, now: number): void {
    this.answeredAt.set(key, now);
    if (this.answeredAt.size > 4096) {
      for (const [k, t] of this.answeredAt) if (now - t >= this.nackWait) this.answeredAt.delete(k);
    }
  }

  // ---- our own stream ----

  private announce(): void {
    this.sendLast();
    this.announceRound++;
    if (this.announceRound < this.announceCount) {
      this.sched.set(ANNOUNCE, this.nackWait * 2 ** this.announceRound, () => this.announce());
    } else {
      this.announcePending = false;
    }
  }

  private sendLast(): void {
    const now = this.clock.now();
    const args = lastArgs(
      this.lastSeq,
      now - this.lastAt,
      this.firstSeq ?? this.lastSeq,
      now - this.firstAt,
      this.recentNonBeats,
    );
    if (this.inner.sendWithSeq(0, LAST, WILDCARD, args)) this.reliability.lastSent++;
  }

  // ---- streams ----

  private newStream(sender: string, first: number, source: Source): Stream {
    const st: Stream = {
      seq: new SeqStream(first, this.limits),
      source,
      heard: this.clock.now(),
      gaps: new Map(),
    };
    this.streams.set(sender, st);
    return st;
  }

  /** The sender speaks from a new address: a new program under the same id (restart). */
  private restarted(sender: string): undefined {
    this.forget(sender);
    this.reliability.restarts++;
    this.opts.logger?.debug({ sender }, "sender restarted: tracking its new sequence");
    return undefined;
  }

  private forget(sender: string): void {
    const st = this.streams.get(sender);
    if (st) for (const seq of st.gaps.keys()) this.sched.cancel(nackKey(sender, seq));
    this.streams.delete(sender);
    this.peerBuf.dropSender(sender);
  }

  /** Forget senders long silent with nothing missing, so memory stays bounded. */
  private sweep(now: number): void {
    const idle = 2 * Math.max(this.ownBuf.limits.maxAgeMs, 60_000);
    if (now - this.lastSweep < idle / 2) return;
    this.lastSweep = now;
    for (const [sender, st] of this.streams) {
      if (st.gaps.size === 0 && now - st.heard > idle) this.streams.delete(sender);
    }
  }
}

export { LAST, NACK, RSND, SKIP };
