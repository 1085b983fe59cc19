/**
 * Answering NACKs. A NACK for a message we hold is answered by its original sender after a
 * random wait in [0, rsndWait), by any other holder after [rsndWait, 2·rsndWait); whoever sees
 * an RSND or SKIP for it first stays silent, and NACKs of the same round (within nackWait of an
 * answer) are ignored. A superseded message (a heartbeat), or one of ours no longer held, is
 * answered with SKIP: only its sender may say so.
 *
 * Answers are metered by a token bucket (rsndRate per second, bursts of twice that). An answer
 * that finds the bucket empty waits for a token, but not for ever: if it cannot go out within
 * one NACK round (nackWait + 2·rsndWait) it is dropped (`answersExpired`); the requester asks
 * again in its next round. So a NACK storm leaves no backlog once it stops.
 *
 * Each requester (the NACK's source address and port) may cause at most requesterRate answers
 * per second (bursts of twice that); NACKs beyond it are not answered (`answersRefused`), so one
 * peer asking for everything cannot use up the answers everyone else needs. A NACK for one of
 * our own numbers we never sent is not answered at all (no SKIP for what does not exist).
 *
 * Bounded: one pending answer per held message, the requester table (maxRequesters, least
 * recently heard forgotten), and the "answered at" table keeps only the last nackWait (at most
 * MAX_ANSWERED entries, the oldest dropped first).
 */
import type { Clock } from "../clock.js";
import { RSND, SKIP } from "../protocol.js";
import type { Rng } from "../random.js";
import { RequestLimiter, TokenBucket } from "./bucket.js";
import type { Found } from "./held.js";
import type { Scheduler } from "./scheduler.js";

export const MAX_ANSWERED = 4096;

export interface AnswererSettings {
  clock: Clock;
  rng: Rng;
  nackWaitMs: number;
  rsndWaitMs: number;
  rsndRate: number;
  requesterRate: number;
  maxRequesters: number;
}

export interface AnswerStats {
  rsndSent: number;
  skipSent: number;
  answersSuppressed: number;
  answersDeferred: number;
  answersExpired: number;
  answersRefused: number;
  requestersEvicted: number;
}

export interface AnswerHooks {
  /** The copy we hold of (sender, seq), if any. */
  find(sender: string, seq: number, now: number): Found | undefined;
  /** (sender, seq) is a number one of our local senders sent under its current id. */
  isOwn(sender: string, seq: number): boolean;
  /** Send RSND (with the body) or SKIP; false if it could not be sent. */
  send(kind: typeof RSND | typeof SKIP, sender: string, seq: number, body?: string): boolean;
}

const answerKey = (sender: string, seq: number): string => `r ${sender} ${seq}`;

export class Answerer {
  private readonly bucket: TokenBucket;
  private readonly requesters: RequestLimiter;
  /** When each (sender, seq) was last answered by anyone, oldest first. */
  private readonly answeredAt = new Map<string, number>();

  constructor(
    private readonly s: AnswererSettings,
    private readonly sched: Scheduler,
    private readonly stats: AnswerStats,
    private readonly hooks: AnswerHooks,
  ) {
    const now = s.clock.now();
    this.bucket = new TokenBucket(s.rsndRate, Math.max(1, 2 * s.rsndRate), now);
    // The total is the answer bucket's (spent when an answer goes out, not when it is promised).
    this.requesters = new RequestLimiter(
      {
        perRequesterRate: s.requesterRate,
        perRequesterBurst: Math.max(1, 2 * s.requesterRate),
        totalRate: 0,
        totalBurst: 0,
        maxRequesters: s.maxRequesters,
      },
      now,
    );
  }

  /** Requesters tracked for the per-requester limit. */
  get requesterCount(): number {
    return this.requesters.size;
  }

  /** Entries in the answered-at table (tests check its bound). */
  get remembered(): number {
    return this.answeredAt.size;
  }

  /** `requester` NACKed (sender, seq): answer if we can and nobody has just done so. */
  onNack(sender: string, seq: number, requester: string): void {
    const now = this.s.clock.now();
    const key = answerKey(sender, seq);
    if (this.sched.has(key)) return;
    const last = this.answeredAt.get(key);
    if (last !== undefined && now - last < this.s.nackWaitMs) return;
    const own = this.hooks.isOwn(sender, seq);
    if (!own && !this.hooks.find(sender, seq, now)) return;
    const evicted = this.requesters.stats.evicted;
    const verdict = this.requesters.allow(requester, now);
    this.stats.requestersEvicted += this.requesters.stats.evicted - evicted;
    if (verdict !== "ok") {
      this.stats.answersRefused++;
      return;
    }
    // The original sender answers first; other holders a little later, unless they see an answer
    // first. Under heavy loss their extra copies reach receivers that the sender's copy missed
    // (measured: deferring them further until a second round cost more rounds than it saved).
    const delay = own ? this.s.rng.next() * this.s.rsndWaitMs : this.s.rsndWaitMs * (1 + this.s.rng.next());
    this.sched.set(key, delay, () => this.answer(sender, seq, now + delay));
  }

  /** Another peer answered (sender, seq): cancel ours, ignore the rest of this round. */
  answered(sender: string, seq: number): void {
    const key = answerKey(sender, seq);
    if (this.sched.has(key)) {
      this.sched.cancel(key);
      this.stats.answersSuppressed++;
    }
    this.note(key, this.s.clock.now());
  }

  private answer(sender: string, seq: number, dueAt: number): void {
    const now = this.s.clock.now();
    const key = answerKey(sender, seq);
    if (!this.bucket.take(now)) {
      if (now - dueAt >= this.roundMs()) {
        // Waited a whole round for a token: the requester will ask again if it still must.
        this.stats.answersExpired++;
        return;
      }
      // Over our answer rate: wait for a token; another holder may answer meanwhile.
      this.stats.answersDeferred++;
      const wait = this.bucket.waitMs(now) + this.s.rng.next() * this.s.rsndWaitMs;
      this.sched.set(key, wait, () => this.answer(sender, seq, dueAt));
      return;
    }
    const found = this.hooks.find(sender, seq, now);
    const own = this.hooks.isOwn(sender, seq);
    this.note(key, now);
    if (found && !found.held.superseded && this.hooks.send(RSND, sender, seq, found.held.body)) {
      this.stats.rsndSent++;
      return;
    }
    // Superseded, gone from the buffer, or too large to resend: only the sender may say so.
    if ((found?.held.superseded || own) && this.hooks.send(SKIP, sender, seq)) this.stats.skipSent++;
  }

  private roundMs(): number {
    return this.s.nackWaitMs + 2 * this.s.rsndWaitMs;
  }

  private note(key: string, now: number): void {
    // Re-inserted so the map stays in time order: the front is always the oldest.
    this.answeredAt.delete(key);
    this.answeredAt.set(key, now);
    for (const [k, t] of this.answeredAt) {
      if (now - t < this.s.nackWaitMs && this.answeredAt.size <= MAX_ANSWERED) break;
      this.answeredAt.delete(k);
    }
  }
}
