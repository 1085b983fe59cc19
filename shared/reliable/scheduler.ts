/**
 * Keyed deadlines over one Clock timer. The reliability layer keeps a timer per missing message
 * and per pending answer — thousands under heavy loss — so it uses a heap and a single clock
 * timer for the earliest deadline instead of one clock timer each. Setting a key again replaces
 * its deadline; cancelled entries are skipped when they reach the top of the heap.
 */
import type { Clock, TimerId } from "../clock.js";

interface Slot {
  at: number;
  gen: number;
  fn: () => void;
}

interface HeapItem {
  at: number;
  key: string;
  gen: number;
}

export class Scheduler {
  private readonly slots = new Map<string, Slot>();
  private heap: HeapItem[] = [];
  private gen = 0;
  private timer: TimerId | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private firing = false;

  constructor(private readonly clock: Clock) {}

  /** Run fn after delayMs, replacing any deadline already set for key. */
  set(key: string, delayMs: number, fn: () => void): void {
    const at = this.clock.now() + Math.max(0, delayMs);
    const gen = ++this.gen;
    this.slots.set(key, { at, gen, fn });
    this.push({ at, key, gen });
    if (!this.firing) this.arm();
  }

  cancel(key: string): void {
    this.slots.delete(key);
    if (this.slots.size === 0) this.disarm();
  }

  has(key: string): boolean {
    return this.slots.has(key);
  }

  /** When key falls due, or undefined. */
  dueAt(key: string): number | undefined {
    return this.slots.get(key)?.at;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Entries in the heap, stale ones included (tests check it stays proportional to size). */
  get heapSize(): number {
    return this.heap.length;
  }

  /** Cancel everything (close()). */
  clear(): void {
    this.slots.clear();
    this.heap = [];
    this.disarm();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
    this.firing = true;
    try {
      const now = this.clock.now();
      for (;;) {
        const top = this.heap[0];
        if (!top || top.at > now) break;
        this.pop();
        const slot = this.slots.get(top.key);
        if (!slot || slot.gen !== top.gen) continue;
        this.slots.delete(top.key);
        slot.fn();
      }
    } finally {
      this.firing = false;
    }
    this.arm();
  }

  private arm(): void {
    // Drop stale entries so the heap stays proportional to live deadlines.
    while (this.heap[0] && this.slots.get(this.heap[0].key)?.gen !== this.heap[0].gen) this.pop();
    if (this.heap.length > 64 && this.heap.length > 4 * this.slots.size) this.rebuild();
    const top = this.heap[0];
    if (!top) {
      this.disarm();
      return;
    }
    if (this.timer !== undefined && this.timerAt <= top.at) return;
    this.disarm();
    this.timerAt = top.at;
    this.timer = this.clock.setTimeout(() => this.fire(), top.at - this.clock.now());
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Number.POSITIVE_INFINITY;
  }

  private rebuild(): void {
    const live: HeapItem[] = [];
    for (const [key, s] of this.slots) live.push({ at: s.at, key, gen: s.gen });
    this.heap = [];
    for (const item of live) this.push(item);
  }

  private less(a: HeapItem, b: HeapItem): boolean {
    return a.at < b.at || (a.at === b.at && a.gen < b.gen);
  }

  private push(item: HeapItem): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as HeapItem, h[p] as HeapItem)) break;
      [h[i], h[p]] = [h[p] as HeapItem, h[i] as HeapItem];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop();
    if (h.length === 0 || !last) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as HeapItem, h[m] as HeapItem)) m = l;
      if (r < h.length && this.less(h[r] as HeapItem, h[m] as HeapItem)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as HeapItem, h[i] as HeapItem];
      i = m;
    }
  }
}
