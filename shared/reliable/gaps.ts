/**
 * Sequence tracking for one sender: which sequence numbers we have delivered, which are
 * missing, and whether an arriving one is new, a duplicate or too old to matter. Pure: no
 * timers, no I/O; the receiver schedules NACKs for the gaps this reports.
 *
 * Tracking starts at the first sequence number seen (a late joiner never asks for history);
 * `extendBack` lowers that start when the sender's announcement shows we were there earlier.
 *
 * Compact, because a peer tracks every sender of the group: a number in [base, high] counts as
 * delivered unless it is missing (a gap we wait for) or late (we stopped waiting for it: skipped,
 * given up or abandoned, but a copy that still comes is delivered once). Both sets exist only
 * while non-empty, so a sender whose stream is complete costs a few numbers, not a set of
 * everything it sent. Bounds: at most `maxMissing` gaps (the oldest are abandoned first) and as
 * many late numbers; nothing more than `window` numbers below the highest is tracked.
 */

export type Arrival = "new" | "duplicate" | "old";

export interface StreamLimits {
  /** How far below the highest sequence number gaps are still tracked and copies delivered. */
  window: number;
  /** Most gaps (and most late numbers) tracked at once. */
  maxMissing: number;
}

export const DEFAULT_LIMITS: StreamLimits = { window: 4096, maxMissing: 256 };

export interface Change {
  /** Sequence numbers newly found missing (to NACK). */
  gaps: number[];
  /** Missing numbers no longer tracked (their NACK timers must be cancelled). */
  abandoned: number[];
}

export interface ReceiveResult extends Change {
  arrival: Arrival;
}

// Shared results for the common cases, so the per-message path allocates nothing. Callers only
// read them.
const NO_CHANGE: Change = Object.freeze({ gaps: [], abandoned: [] }) as unknown as Change;
const OLD: ReceiveResult = Object.freeze({ arrival: "old", gaps: [], abandoned: [] }) as unknown as ReceiveResult;
const DUPLICATE: ReceiveResult = Object.freeze({
  arrival: "duplicate",
  gaps: [],
  abandoned: [],
}) as unknown as ReceiveResult;
const NEW_IN_ORDER: ReceiveResult = Object.freeze({
  arrival: "new",
  gaps: [],
  abandoned: [],
}) as unknown as ReceiveResult;
const NONE: ReadonlySet<number> = new Set<number>();

export class SeqStream {
  /** Lowest sequence number we track. */
  private _base: number;
  /** Highest sequence number seen (or announced); base - 1 before anything. */
  private _high: number;
  private missingSet: Set<number> | undefined;
  private lateSet: Set<number> | undefined;

  constructor(
    first: number,
    readonly limits: StreamLimits = DEFAULT_LIMITS,
  ) {
    this._base = first;
    this._high = first - 1;
  }

  get base(): number {
    return this._base;
  }

  get high(): number {
    return this._high;
  }

  /** Missing sequence numbers, in no particular order. */
  get missing(): ReadonlySet<number> {
    return this.missingSet ?? NONE;
  }

  /** Numbers we stopped waiting for whose copy would still be delivered. */
  get late(): ReadonlySet<number> {
    return this.lateSet ?? NONE;
  }

  isMissing(seq: number): boolean {
    return this.missingSet?.has(seq) ?? false;
  }

  /** A copy of seq would be delivered: it is missing, or we stopped waiting but never got it. */
  awaits(seq: number): boolean {
    return this.isMissing(seq) || (this.lateSet?.has(seq) ?? false);
  }

  /** Lowest number still tracked (anything below is "old"). */
  private floor(): number {
    return Math.max(this._base, this._high - this.limits.window + 1);
  }

  /** A sequenced message arrived (directly or repaired). */
  receive(seq: number): ReceiveResult {
    if (seq < this.floor()) return OLD;
    if (seq <= this._high) {
      if (this.take(this.missingSet, seq) || this.take(this.lateSet, seq)) {
        if (this.missingSet?.size === 0) this.missingSet = undefined;
        if (this.lateSet?.size === 0) this.lateSet = undefined;
        return NEW_IN_ORDER;
      }
      return DUPLICATE;
    }
    if (seq === this._high + 1 && this.missingSet === undefined && this.lateSet === undefined) {
      // In order, nothing missing: the usual case.
      this._high = seq;
      return NEW_IN_ORDER;
    }
    const change = this.raiseHigh(seq, true);
    return { arrival: "new", gaps: change.gaps, abandoned: change.abandoned };
  }

  /** The numbers up to `to` are ones we chose not to read (dropped unparsed by our read
   *  budget): move past them without awaiting them; a copy of one would count as a duplicate.
   *  Returns how many numbers were passed over, and the gaps that fell below the window. */
  skipTo(to: number): { passed: number; abandoned: number[] } {
    if (to <= this._high) return { passed: 0, abandoned: [] };
    const passed = to - this._high;
    this._high = to;
    return { passed, abandoned: this.prune() };
  }

  /** The sender announced that `last` is its latest number: everything up to it is expected. */
  announce(last: number): Change {
    if (last <= this._high) return NO_CHANGE;
    return this.raiseHigh(last, false);
  }

  /** We learn we were present from `first` on: track from there (at most maxMissing numbers
   *  further back, and never below the window). */
  extendBack(first: number): Change {
    if (first >= this._base) return NO_CHANGE;
    const oldBase = this._base;
    const top = Math.min(oldBase - 1, this._high);
    this._base = Math.max(first, this._high - this.limits.window + 1, oldBase - this.limits.maxMissing, 1);
    const gaps: number[] = [];
    for (let s = this._base; s <= top; s++) gaps.push(this.addMissing(s));
    return this.settle(gaps, this.capMissing());
  }

  /** Stop waiting for seq (skipped by the sender, or given up). A late copy is still delivered. */
  resolve(seq: number): boolean {
    if (!this.take(this.missingSet, seq)) return false;
    if (this.missingSet?.size === 0) this.missingSet = undefined;
    this.addLate(seq);
    return true;
  }

  /** Stop tracking seq altogether (a gap refused under pressure): a copy of it would count as a
   *  duplicate, so the stream keeps no memory of it. */
  forgo(seq: number): boolean {
    if (!this.take(this.missingSet, seq)) return false;
    if (this.missingSet?.size === 0) this.missingSet = undefined;
    return true;
  }

  private take(set: Set<number> | undefined, seq: number): boolean {
    return set?.delete(seq) ?? false;
  }

  private addMissing(seq: number): number {
    this.missingSet ??= new Set();
    this.missingSet.add(seq);
    return seq;
  }

  private addLate(seq: number): void {
    this.lateSet ??= new Set();
    this.lateSet.add(seq);
    if (this.lateSet.size > this.limits.maxMissing) {
      // The oldest late number now counts as delivered: a copy of it would be a duplicate.
      let min = Number.POSITIVE_INFINITY;
      for (const s of this.lateSet) if (s < min) min = s;
      this.lateSet.delete(min);
    }
  }

  private raiseHigh(to: number, arrived: boolean): Change {
    const from = this._high + 1;
    const end = arrived ? to - 1 : to; // an arrived message is not missing; an announced one is
    this._high = to;
    const gaps: number[] = [];
    // A huge jump only tracks the newest gaps; the rest are past the window or the cap anyway.
    const start = Math.max(from, end - this.limits.maxMissing + 1, this._base);
    for (let s = start; s <= end; s++) gaps.push(this.addMissing(s));
    // Numbers of a huge jump below `start` are not awaited: a copy of one counts as a duplicate.
    return this.settle(gaps, [...this.prune(), ...this.capMissing()]);
  }

  /** Gaps found and dropped in the same step are neither reported as gaps nor as abandoned. */
  private settle(found: number[], dropped: number[]): Change {
    if (dropped.length === 0) return { gaps: found, abandoned: dropped };
    const added = new Set(found);
    return {
      gaps: found.filter((g) => this.isMissing(g)),
      abandoned: dropped.filter((d) => !added.has(d)),
    };
  }

  /** Forget what fell below the window. */
  private prune(): number[] {
    const floor = this.floor();
    const abandoned: number[] = [];
    if (this.lateSet) {
      for (const s of this.lateSet) if (s < floor) this.lateSet.delete(s);
      if (this.lateSet.size === 0) this.lateSet = undefined;
    }
    if (this.missingSet) {
      for (const s of this.missingSet) {
        if (s < floor) {
          this.missingSet.delete(s);
          abandoned.push(s);
        }
      }
      if (this.missingSet.size === 0) this.missingSet = undefined;
    }
    return abandoned;
  }

  /** Keep at most maxMissing gaps, abandoning the oldest (a copy of one is still delivered). */
  private capMissing(): number[] {
    const set = this.missingSet;
    const over = (set?.size ?? 0) - this.limits.maxMissing;
    if (!set || over <= 0) return [];
    const oldest = [...set].sort((a, b) => a - b).slice(0, over);
    for (const s of oldest) {
      set.delete(s);
      this.addLate(s);
    }
    return oldest;
  }
}
