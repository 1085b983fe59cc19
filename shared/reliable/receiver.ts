/**
 * Receive tracking and NACK rounds: every remote sender's stream (gaps.ts), the gaps we wait
 * for, and when to ask for them.
 *
 * - A gap is NACKed after a random wait in [0, nackWait); seeing another peer's NACK for the
 *   same gap counts as our round (suppression). Rounds repeat with backoff until the message is
 *   repaired, skipped, or nackTries rounds have gone by; then it is given up.
 * - NACKs are metered by a token bucket (nackRate per second, bursts of twice that). A round
 *   that finds it empty waits for a token without counting as a try.
 * - Superseded messages (heartbeats) carry prior=K: gaps between K and them close without a
 *   NACK, and so do the numbers a LAST's nb= list shows were superseded.
 * - A late joiner tracks a sender from the first number it sees (or, from a LAST, from what was
 *   sent after it joined); a sender heard from a new address has restarted and is tracked anew.
 * - Senders long silent with nothing missing are forgotten.
 *
 * Bounded whatever the network sends (issue 11, protocol.md "Bounds"):
 * - at most maxSenders streams; beyond it the least recently heard is forgotten (its next
 *   message starts its tracking anew: delivery goes on, only repair continuity is lost);
 * - at most maxMissing gaps per sender (gaps.ts) and maxGaps in all; gaps beyond are refused;
 * - a LAST moves a stream only within a plausible window of what was seen: maxMissing numbers
 *   above the highest for a sender heard directly, LAST_SPAN for one known only from LASTs
 *   (and such a stream, first heard through a LAST, tracks at most LAST_SPAN numbers);
 * - an RSND is delivered only for a number we await (missing, or given up but never received);
 * - numbers our own read budget dropped (Link's sourceRate: the source floods) are not awaited;
 * - a NACK round that waits MAX_DEFER_ROUNDS rounds for a token counts as a try (deferred
 *   rounds expire),
 *   and a sender known only from LASTs, or one that never spoke this protocol (no LAST, no
 *   prior= tag: the original's bots, forgers), gets unconfirmedTries rounds, not nackTries.
 *
 * What to do with a message (deliver it, keep a copy) and how to send a NACK are the caller's
 * (endpoint.ts), through the hooks.
 */
import type { ChanMessage } from "../codec.js";
import { t } from "../i18n.js";
import type { Source } from "../transport.js";
import { type Change, SeqStream } from "./gaps.js";
import { debugLog, type ReliableStats, type Settings } from "./options.js";
import type { Scheduler } from "./scheduler.js";
import { type LastControl, NB_MAX, priorOf, withoutPrior } from "./wire.js";

export interface ReceiverHooks {
  /** A sequenced message to pass on, once (prior= already consumed), from its sender's address.
   *  `superseded`: its opcode is one the program said a later message makes moot. */
  deliver(msg: ChanMessage, origin: Source, repaired: boolean, superseded: boolean): void;
  /** Send a NACK for (sender, seq); false if it could not be sent. */
  nack(sender: string, seq: number): boolean;
}

interface Gap {
  tries: number;
  /** When the current NACK round began (ours or another peer's). */
  roundAt: number;
  /** When the pending round fell due while no NACK token was left; -1 if it is not waiting. */
  waitingSince: number;
}

interface Stream {
  seq: SeqStream;
  /** Where the sender's own datagrams come from: the source of its repaired messages. */
  source: Source;
  heard: number;
  /** A sequenced message of it was heard directly (not only LASTs about it). */
  direct: boolean;
  /** It speaks this protocol: it sent a LAST or a prior= tag. The original's bots never answer a
   *  NACK (only a peer holding a copy can), nor does a forger. */
  speaks: boolean;
  /** The gaps awaited (only while there are some). */
  gaps: Map<number, Gap> | undefined;
}

/** How many numbers a LAST may open for a sender known only from LASTs. */
export const LAST_SPAN = NB_MAX;

/** A NACK round waits at most this many rounds (the longest backoff) for a token. */
export const MAX_DEFER_ROUNDS = 4;

/** LRU order is refreshed at most this often per sender (ms): re-inserting on every message
 *  would cost a Map delete and set per datagram. */
const TOUCH_MS = 1000;

function sameSource(a: Source, b: Source): boolean {
  return a.address === b.address && a.port === b.port;
}

const nackKey = (sender: string, seq: number): string => `n ${sender} ${seq}`;

export class Receiver {
  /** Least recently heard first (to within TOUCH_MS). */
  private readonly streams = new Map<string, Stream>();
  private totalGaps = 0;
  private readonly joinedAt: number;
  private lastSweep: number;

  constructor(
    private readonly s: Settings,
    private readonly sched: Scheduler,
    private readonly stats: ReliableStats,
    private readonly hooks: ReceiverHooks,
    /** Takes a NACK token (the endpoint's bucket); false when over the rate. */
    private readonly takeNackToken: (now: number) => boolean,
    /** Milliseconds until the next NACK token. */
    private readonly nackTokenWait: (now: number) => number,
  ) {
    this.joinedAt = s.clock.now();
    this.lastSweep = this.joinedAt;
  }

  /** Gaps currently waiting for repair. */
  get pendingGaps(): number {
    return this.totalGaps;
  }

  /** Senders currently tracked. */
  get trackedSenders(): number {
    return this.streams.size;
  }

  /** A sequenced message heard directly from its sender. */
  onData(msg: ChanMessage, source: Source): void {
    const now = this.s.clock.now();
    let st = this.streams.get(msg.sender);
    if (st && !sameSource(st.source, source)) st = this.restarted(msg.sender);
    st ??= this.newStream(msg.sender, msg.seq, source);
    this.touch(msg.sender, st, now);
    st.direct = true;
    if (source.dropped && msg.seq > st.seq.high + 1) {
      // Our read budget dropped datagrams of this source just before: the numbers between are
      // most likely among them. Asking for them would make a flooding source send more.
      const { passed, abandoned } = st.seq.skipTo(msg.seq - 1);
      for (const seq of abandoned) this.closeGap(msg.sender, st, seq);
      this.stats.gapsDropped += passed;
    }
    this.arrived(msg, st, false, now);
  }

  /** The message an RSND carried (from any holder). */
  onRepair(msg: ChanMessage): void {
    const st = this.streams.get(msg.sender);
    if (!st) {
      // A repair for a sender we never heard: history from before we joined.
      this.stats.old++;
      return;
    }
    if (msg.seq > st.seq.high) {
      // Never asked for: beyond anything seen of that sender. Accepting it would jump the stream
      // and make the sender's next real messages look old.
      this.stats.rsndRefused++;
      return;
    }
    this.arrived(msg, st, true, this.s.clock.now());
  }

  private arrived(msg: ChanMessage, st: Stream, repaired: boolean, now: number): void {
    const sender = msg.sender;
    const r = st.seq.receive(msg.seq);
    this.apply(sender, st, r);
    const superseded = this.s.superseded.has(msg.opcode);
    const prior = superseded ? priorOf(msg) : undefined;
    if (prior !== undefined) st.speaks = true;
    if (prior !== undefined && r.arrival === "new" && st.gaps) this.inferPrior(sender, st, prior, msg.seq);
    if (r.arrival !== "new") {
      if (r.arrival === "duplicate") this.stats.duplicates++;
      else this.stats.old++;
      return;
    }
    this.closeGap(sender, st, msg.seq);
    this.stats.delivered++;
    if (repaired) this.stats.repaired++;
    this.hooks.deliver(prior === undefined ? msg : withoutPrior(msg), st.source, repaired, superseded);
    this.sweep(now);
  }

  /** The sender says (sender, seq) will not come (a SKIP). */
  onSkip(sender: string, seq: number): void {
    const st = this.streams.get(sender);
    if (!st?.seq.resolve(seq)) return;
    this.stats.skipped++;
    this.closeGap(sender, st, seq);
  }

  /** A sender announced its latest number. */
  onLast(sender: string, c: LastControl, source: Source): void {
    const now = this.s.clock.now();
    const present = now - this.joinedAt;
    // Were we here when the sender's stream began?
    const sinceStart = c.first !== undefined && c.since !== undefined && c.since <= present;
    let st = this.streams.get(sender);
    if (st && !sameSource(st.source, source)) st = this.restarted(sender);
    if (!st) {
      // First we hear of it: ask only for what was sent after we joined, and at most LAST_SPAN.
      const first = sinceStart ? (c.first as number) : c.age !== undefined && c.age <= present ? c.seq : c.seq + 1;
      st = this.newStream(sender, Math.min(Math.max(first, c.seq - LAST_SPAN + 1), c.seq + 1), source);
    } else {
      const span = st.direct ? st.seq.limits.maxMissing : LAST_SPAN;
      if (c.seq > st.seq.high + span) {
        this.stats.lastRefused++;
        debugLog(this.s.logger)?.debug({ sender, seq: c.seq, high: st.seq.high }, t("implausible LAST refused"));
        return;
      }
      if (sinceStart) this.apply(sender, st, st.seq.extendBack(Math.max(c.first as number, st.seq.high - span + 1)));
    }
    this.touch(sender, st, now);
    st.speaks = true;
    this.apply(sender, st, st.seq.announce(c.seq));
    if (c.nb !== undefined && st.gaps) this.inferFromList(sender, st, c.seq, c.nb, c.first);
  }

  /** Someone NACKed (sender, seq): if we miss it too, their round is ours (suppression). */
  onNack(sender: string, seq: number): void {
    const now = this.s.clock.now();
    const st = this.streams.get(sender);
    const gap = st?.gaps?.get(seq);
    if (gap && now - gap.roundAt >= this.s.nackWaitMs) {
      gap.tries++;
      gap.roundAt = now;
      gap.waitingSince = -1;
      this.stats.nacksSuppressed++;
      this.sched.set(nackKey(sender, seq), this.retryDelay(gap.tries), () => this.nackDue(sender, seq));
    }
  }

  /** Stop tracking a sender (it restarted, or one of our own senders took its id). */
  forget(sender: string): void {
    const st = this.streams.get(sender);
    if (!st) return;
    if (st.gaps) {
      for (const seq of st.gaps.keys()) this.sched.cancel(nackKey(sender, seq));
      this.totalGaps -= st.gaps.size;
    }
    this.streams.delete(sender);
  }

  /** Called when a sender restarted, so its held copies can be dropped too. */
  onRestart: (sender: string) => void = () => {};

  // ---- gaps and NACKs ----

  private apply(sender: string, st: Stream, change: Change): void {
    for (const seq of change.abandoned) this.closeGap(sender, st, seq);
    for (const seq of change.gaps) {
      if (this.totalGaps >= this.s.maxGaps) {
        // Not awaited, and not remembered (the stream would grow under a flood): a copy that
        // still comes counts as a duplicate.
        st.seq.forgo(seq);
        this.stats.gapsRefused++;
        continue;
      }
      st.gaps ??= new Map();
      st.gaps.set(seq, { tries: 0, roundAt: Number.NEGATIVE_INFINITY, waitingSince: -1 });
      this.totalGaps++;
      this.stats.gaps++;
      this.sched.set(nackKey(sender, seq), this.s.rng.next() * this.s.nackWaitMs, () => this.nackDue(sender, seq));
    }
  }

  /** A superseded message says its sender's latest other message was K: what we miss between
   *  K and it were superseded ones too. */
  private inferPrior(sender: string, st: Stream, k: number, seq: number): void {
    if (k >= seq || !st.gaps) return;
    for (const gap of [...st.gaps.keys()]) {
      if (gap > k && gap < seq && st.seq.resolve(gap)) {
        this.closeGap(sender, st, gap);
        this.stats.beatsInferred++;
      }
    }
  }

  /** LAST listed the sender's latest non-superseded numbers: the other numbers we miss in the
   *  range the list covers (from the oldest listed, or from the stream's first when the list is
   *  not full) were superseded ones. */
  private inferFromList(sender: string, st: Stream, last: number, nb: readonly number[], first?: number): void {
    const from = nb.length >= NB_MAX ? (nb[nb.length - 1] as number) : first;
    if (from === undefined || !st.gaps) return;
    const keep = new Set(nb);
    for (const seq of [...st.gaps.keys()]) {
      if (seq >= from && seq <= last && !keep.has(seq) && st.seq.resolve(seq)) {
        this.closeGap(sender, st, seq);
        this.stats.beatsInferred++;
      }
    }
  }

  private closeGap(sender: string, st: Stream, seq: number): void {
    if (!st.gaps?.delete(seq)) return;
    this.totalGaps--;
    this.sched.cancel(nackKey(sender, seq));
    if (st.gaps.size === 0) st.gaps = undefined;
  }

  /** One NACK round: long enough for an answer. */
  private roundMs(): number {
    return this.s.nackWaitMs + 2 * this.s.rsndWaitMs;
  }

  /** Wait after a NACK round before the next: long enough for an answer, doubling, capped at
   *  4× so that all rounds fit in the retransmission buffers' reach (about 14 s by default). */
  private retryDelay(tries: number): number {
    return this.roundMs() * 2 ** Math.min(tries - 1, 2) + this.s.rng.next() * this.s.nackWaitMs;
  }

  private nackDue(sender: string, seq: number): void {
    const st = this.streams.get(sender);
    const gap = st?.gaps?.get(seq);
    if (!st || !gap) return;
    const tries = st.direct && st.speaks ? this.s.nackTries : Math.min(this.s.nackTries, this.s.unconfirmedTries);
    if (gap.tries >= tries) {
      st.seq.resolve(seq);
      this.closeGap(sender, st, seq);
      this.stats.givenUp++;
      debugLog(this.s.logger)?.debug({ sender, seq, tries: gap.tries }, t("gave up waiting for a lost message"));
      return;
    }
    const now = this.s.clock.now();
    if (!this.takeNackToken(now)) {
      const first = gap.waitingSince < 0;
      if (first) gap.waitingSince = now;
      const windowMs = MAX_DEFER_ROUNDS * this.roundMs();
      const left = gap.waitingSince + windowMs - now;
      // More gaps await than tokens will come in a window (tokens come nackRate a second): each
      // tries once, at a random moment of its window, then its round is spent. Polling every few
      // hundred milliseconds instead, thousands of gaps under a flood took most of a victim's CPU.
      const crowded = this.s.nackRate > 0 && (this.totalGaps / this.s.nackRate) * 1000 > windowMs;
      if (left > 0 && (first || !crowded)) {
        // Over our NACK rate: this round waits for a token (and may be suppressed meanwhile).
        this.stats.nacksDeferred++;
        const tokenWait = this.nackTokenWait(now);
        const wait = crowded
          ? Math.min(left, tokenWait + this.s.rng.next() * left)
          : tokenWait + this.s.rng.next() * this.s.nackWaitMs;
        this.sched.set(nackKey(sender, seq), wait, () => this.nackDue(sender, seq));
        return;
      }
      // Waited as long as the longest backoff for a token: the round is spent, as if sent and
      // unanswered, so a backlog of gaps drains in bounded time instead of queueing behind the
      // rate limit.
      this.stats.nacksExpired++;
    } else if (this.hooks.nack(sender, seq)) {
      this.stats.nacksSent++;
    }
    gap.tries++;
    gap.roundAt = now;
    gap.waitingSince = -1;
    this.sched.set(nackKey(sender, seq), this.retryDelay(gap.tries), () => this.nackDue(sender, seq));
  }

  // ---- streams ----

  private newStream(sender: string, first: number, source: Source): Stream {
    while (this.streams.size >= this.s.maxSenders) {
      const oldest = this.streams.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
      this.stats.sendersEvicted++;
    }
    const st: Stream = {
      seq: new SeqStream(first, this.s.limits),
      source,
      heard: this.s.clock.now(),
      direct: false,
      speaks: false,
      gaps: undefined,
    };
    this.streams.set(sender, st);
    return st;
  }

  /** Heard now: move it to the recent end of the eviction order (at most every TOUCH_MS). */
  private touch(sender: string, st: Stream, now: number): void {
    if (now - st.heard >= TOUCH_MS) {
      this.streams.delete(sender);
      this.streams.set(sender, st);
    }
    st.heard = now;
  }

  /** The sender speaks from a new address: a new program under the same id (restart). */
  private restarted(sender: string): undefined {
    this.forget(sender);
    this.onRestart(sender);
    this.stats.restarts++;
    debugLog(this.s.logger)?.debug({ sender }, t("sender restarted: tracking its new sequence"));
    return undefined;
  }

  /** Forget senders long silent with nothing missing, so memory stays bounded. */
  private sweep(now: number): void {
    const idle = 2 * Math.max(this.s.holdTimeMs, 60_000);
    if (now - this.lastSweep < idle / 2) return;
    this.lastSweep = now;
    for (const [sender, st] of this.streams) {
      if (!st.gaps && now - st.heard > idle) this.streams.delete(sender);
    }
  }
}
