/**
 * Injected time: the bot and supervisor logic never call Date.now() or setTimeout directly, so
 * tests drive a minute of bot life in milliseconds with a ManualClock.
 * All times are milliseconds on a monotonic scale.
 */
export type TimerId = number;

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real thing: performance.now() and the Node timers. */
export class SystemClock implements Clock {
  private readonly timers = new Map<TimerId, NodeJS.Timeout>();
  private next = 1;

  now(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.next++;
    const h = setTimeout(
      () => {
        this.timers.delete(id);
        fn();
      },
      Math.max(0, ms),
    );
    this.timers.set(id, h);
    return id;
  }

  clearTimeout(id: TimerId): void {
    const h = this.timers.get(id);
    if (h !== undefined) {
      clearTimeout(h);
      this.timers.delete(id);
    }
  }
}

interface Pending {
  id: TimerId;
  at: number;
  fn: () => void;
}

/** Most timers advance() fires at one instant before it decides they re-arm for ever. */
export const MAX_FIRES_PER_INSTANT = 10_000;

/**
 * A clock that only moves when told to. Timers fire in time order, ties in creation order.
 * A timer that keeps setting another for the same instant (a zero-delay loop) would hang
 * advance(); after MAX_FIRES_PER_INSTANT fires at one instant it throws instead, so the test
 * fails and says why.
 */
export class ManualClock implements Clock {
  private t: number;
  private pending: Pending[] = [];
  private next = 1;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.next++;
    this.pending.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(id: TimerId): void {
    this.pending = this.pending.filter((p) => p.id !== id);
  }

  /** Number of timers not yet fired. */
  get timerCount(): number {
    return this.pending.length;
  }

  /** Move time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    let fires = 0;
    for (;;) {
      let due: Pending | undefined;
      for (const p of this.pending) {
        if (p.at <= end && (due === undefined || p.at < due.at || (p.at === due.at && p.id < due.id))) due = p;
      }
      if (!due) break;
      this.pending = this.pending.filter((p) => p !== due);
      if (due.at > this.t) {
        this.t = due.at;
        fires = 0;
      }
      if (++fires > MAX_FIRES_PER_INSTANT) {
        throw new Error(
          `ManualClock.advance: more than ${MAX_FIRES_PER_INSTANT} timers fired at ${this.t} ms: a timer keeps re-arming at the same instant`,
        );
      }
      due.fn();
    }
    this.t = end;
  }

  /** Advance in steps, letting queued microtasks (in-memory deliveries) run between them. */
  async run(ms: number, step = 10): Promise<void> {
    let left = ms;
    while (left > 0) {
      const d = Math.min(step, left);
      this.advance(d);
      left -= d;
      await flushMicrotasks();
    }
  }
}

/** Let pending microtasks (and the promises they resolve) run. */
export async function flushMicrotasks(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await Promise.resolve();
}
