/**
 * Announcing one local sender's own stream (tail loss): a gap is only visible when a later
 * message arrives, and a supervisor goes quiet after its last command. So after a message other
 * than a superseded one (a heartbeat), the sender announces its latest number (LAST) every
 * nackWait while it keeps sending, then announceCount − 1 more times at doubling intervals.
 * Superseded messages don't restart the count (a bot beating every second after one NEWS would
 * announce forever): their prior= tag already tells receivers of the other message.
 *
 * It also remembers what the LAST and the prior= tag say: the first number under the current
 * id, the latest, and the latest non-superseded ones (nb=). Timers run on the shared Scheduler
 * under this sender's key.
 */
import type { Clock } from "../clock.js";
import type { Scheduler } from "./scheduler.js";
import { lastArgs, NB_MAX } from "./wire.js";

export interface AnnouncerSettings {
  clock: Clock;
  nackWaitMs: number;
  announceCount: number;
}

export class Announcer {
  private firstSeq: number | undefined;
  private firstAt = 0;
  private lastSeq = 0;
  private lastAt = 0;
  /** Latest non-superseded number under the current id (the prior= tag), 0 if none. */
  private priorSeq = 0;
  /** Latest non-superseded numbers, newest first (the nb= tag of LAST). */
  private recent: number[] = [];
  private _pending = false;
  private round = 0;

  constructor(
    private readonly s: AnnouncerSettings,
    private readonly sched: Scheduler,
    /** This sender's timer key on the scheduler (unique per sender, stable across renames). */
    private readonly key: string,
    /** Send one LAST with these arguments; false if it could not be sent. */
    private readonly sendLast: (args: string[]) => boolean,
  ) {}

  /** The prior= value for the next superseded message. */
  get prior(): number {
    return this.priorSeq;
  }

  /** Announcements are still due after the latest non-superseded message. */
  get pending(): boolean {
    return this._pending;
  }

  /** Something was sent under the current id. */
  get started(): boolean {
    return this.firstSeq !== undefined;
  }

  /** We sent `seq`; `superseded` if a later message makes it moot (a heartbeat). */
  sent(seq: number, superseded: boolean): void {
    const now = this.s.clock.now();
    if (this.firstSeq === undefined) {
      this.firstSeq = seq;
      this.firstAt = now;
    }
    this.lastSeq = seq;
    this.lastAt = now;
    if (superseded) return;
    this.priorSeq = seq;
    this.recent.unshift(seq);
    if (this.recent.length > NB_MAX) this.recent.pop();
    // The repetitions count from the last non-superseded message; a busy sender still announces
    // every nackWait, so receivers learn early where its stream began.
    this._pending = true;
    this.round = 0;
    if (!this.sched.has(this.key)) this.sched.set(this.key, this.s.nackWaitMs, () => this.announce());
  }

  /** One LAST now (leaving). False if nothing was sent under this id, or it could not be sent. */
  announceNow(): boolean {
    if (this.firstSeq === undefined) return false;
    return this.sendLast(this.args());
  }

  /** A new id: receivers see a new sender whose stream begins with our next message. */
  reset(): void {
    this.firstSeq = undefined;
    this.priorSeq = 0;
    this.recent = [];
    this.stop();
  }

  /** No more announcements. */
  stop(): void {
    this._pending = false;
    this.sched.cancel(this.key);
  }

  /** The LAST arguments as of now. */
  args(): string[] {
    const now = this.s.clock.now();
    return lastArgs(this.lastSeq, now - this.lastAt, this.firstSeq ?? this.lastSeq, now - this.firstAt, this.recent);
  }

  private announce(): void {
    this.sendLast(this.args());
    this.round++;
    if (this.round < this.s.announceCount) {
      this.sched.set(this.key, this.s.nackWaitMs * 2 ** this.round, () => this.announce());
    } else {
      this._pending = false;
    }
  }
}
