/**
 * Sequence tracking for one sender: which sequence numbers we have delivered, which are
 * missing, and whether an arriving one is new, a duplicate or too old to matter. Pure: no
 * timers, no I/O; the reliability layer schedules NACKs for the gaps this reports.
 *
 * Tracking starts at the first sequence number seen (a late joiner never asks for history);
 * `extendBack` lowers that start when the sender's announcement shows we were there earlier.
 * Memory is bounded: duplicates are recognised within `window` numbers below the highest
 * seen, and at most `maxMissing` gaps are tracked (the oldest are abandoned first).
 */

export type Arrival = "new" | "duplicate" | "old";

export interface StreamLimits {
  /** How far below the highest sequence number duplicates are still recognised. */
  window: number;
  /** Most gaps tracked at once. */
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

export class SeqStream {
  /** Lowest sequence number we track. */
  private _base: number;
  /** Highest sequence number seen (or announced); base - 1 before anything. */
  private _high: number;
  private readonly delivered = new Set<number>();
  private readonly missingSet = new Set<number>();

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
    return this.missingSet;
  }

  isMissing(seq: number): boolean {
    return this.missingSet.has(seq);
  }

  /** Lowest number still recognised as a duplicate (anything below is "old"). */
  private floor(): number {
    return Math.max(this._base, this._high - this.limits.window + 1);
  }

  /** A sequenced message arrived (directly or repaired). */
  receive(seq: number): ReceiveResult {
    if (seq < this.floor()) return OLD;
    if (this.delivered.has(seq)) return DUPLICATE;
    this.delivered.add(seq);
    if (seq === this._high + 1 && this.missingSet.size === 0 && this.delivered.size <= 2 * this.limits.window) {
      // In order: nothing missing, nothing to prune (the usual case).
      this._high = seq;
      return NEW_IN_ORDER;
    }
    this.missingSet.delete(seq);
    if (seq <= this._high) return NEW_IN_ORDER;
    const change = this.raiseHigh(seq, true);
    return { arrival: "new", gaps: change.gaps, abandoned: change.abandoned };
  }

  /** The sender announced that `last` is its latest number: everything up to it is expected. */
  announce(last: number): Change {
    if (last <= this._high) return NO_CHANGE;
    return this.raiseHigh(last, false);
  }

  /** We learn we were present from `first` on: track from there. */
  extendBack(first: number): Change {
    if (first >= this._base) return NO_CHANGE;
    const oldBase = this._base;
    this._base = Math.max(first, this._high - this.limits.window + 1, 1);
    const gaps: number[] = [];
    for (let s = this._base; s < oldBase && s <= this._high; s++) {
      if (!this.delivered.has(s) && !this.missingSet.has(s)) {
        this.missingSet.add(s);
        gaps.push(s);
      }
    }
    return this.settle(gaps, this.capMissing());
  }

  /** Stop waiting for seq (skipped by the sender, or given up). A late copy is still delivered. */
  resolve(seq: number): boolean {
    return this.missingSet.delete(seq);
  }

  private raiseHigh(to: number, arrived: boolean): Change {
    const from = this._high + 1;
    const end = arrived ? to - 1 : to; // an arrived message is not missing; an announced one is
    this._high = to;
    const gaps: number[] = [];
    // A huge jump only tracks the newest gaps; the rest are past the window or the cap anyway.
    const start = Math.max(from, end - this.limits.maxMissing + 1, this._base);
    for (let s = start; s <= end; s++) {
      if (!this.delivered.has(s)) {
        this.missingSet.add(s);
        gaps.push(s);
      }
    }
    return this.settle(gaps, [...this.prune(), ...this.capMissing()]);
  }

  /** Gaps found and dropped in the same step are neither reported as gaps nor as abandoned. */
  private settle(found: number[], dropped: number[]): Change {
    const added = new Set(found);
    return {
      gaps: found.filter((g) => this.missingSet.has(g)),
      abandoned: dropped.filter((d) => !added.has(d)),
    };
  }

  /** Forget what fell below the window. */
  private prune(): number[] {
    const floor = this.floor();
    const abandoned: number[] = [];
    if (this.delivered.size > 2 * this.limits.window) {
      for (const s of this.delivered) if (s < floor) this.delivered.delete(s);
    }
    for (const s of this.missingSet) {
      if (s < floor) {
        this.missingSet.delete(s);
        abandoned.push(s);
      }
    }
    return abandoned;
  }

  /** Keep at most maxMissing gaps, dropping the oldest. */
  private capMissing(): number[] {
    const over = this.missingSet.size - this.limits.maxMissing;
    if (over <= 0) return [];
    const oldest = [...this.missingSet].sort((a, b) => a - b).slice(0, over);
    for (const s of oldest) this.missingSet.delete(s);
    return oldest;
  }
}
