/**
 * Packet-loss simulator: a Transport wrapper that impairs datagrams on the way out (send), on
 * the way in (recv) or both, so the reliability layer can be tested and measured without a
 * lossy network. Impairments, each seeded by the injected Rng so a run is repeatable:
 *   - loss with average probability lossRate, independent (lossBurst 1) or in bursts of mean
 *     length lossBurst datagrams (a two-state Gilbert model: the bad state drops everything);
 *   - duplication with probability dupRate (the copy follows the original at once);
 *   - reordering with probability reorderRate: the datagram is held back and released right
 *     after the next one in the same direction, or after reorderDelayMs if nothing follows.
 * Every drop, duplicate and reorder is counted in `stats`.
 */
import { EventEmitter } from "node:events";
import type { Clock, TimerId } from "./clock.js";
import type { Rng } from "./random.js";
import type { Source, Transport, TransportEvents } from "./transport.js";

export type LossDir = "send" | "recv" | "both";
export const LOSS_DIRS: readonly LossDir[] = ["send", "recv", "both"];

export interface LossSettings {
  /** Average probability that a datagram is dropped, 0..1. */
  lossRate: number;
  /** Mean length of a run of drops, in datagrams; 1 means independent drops. */
  lossBurst: number;
  /** Where the impairments apply. */
  lossDir: LossDir;
  /** Probability that a datagram is delivered twice. */
  dupRate: number;
  /** Probability that a datagram is held back behind the next one. */
  reorderRate: number;
  /** Longest a held-back datagram waits for a follower, ms (default 50). */
  reorderDelayMs?: number;
}

export interface DirStats {
  /** Datagrams offered to this direction. */
  offered: number;
  dropped: number;
  duplicated: number;
  reordered: number;
}

export interface LossStats {
  send: DirStats;
  recv: DirStats;
}

/**
 * Loss process. Bernoulli for burst <= 1. Otherwise the Gilbert two-state chain, stepped once
 * per datagram: good → bad with probability q, bad → good with probability r = 1/burst (so a
 * burst lasts `burst` datagrams on average), and q chosen so that the long-run share of bad
 * steps, q/(q+r), equals `rate`.
 */
export class GilbertElliott {
  private bad = false;
  private readonly q: number;
  private readonly r: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    private readonly rng: Rng,
  ) {
    this.r = burst > 1 ? 1 / burst : 1;
    this.q = rate >= 1 ? 1 : Math.min(1, (rate * this.r) / (1 - rate));
  }

  /** True if the next datagram is lost. */
  drop(): boolean {
    if (this.rate <= 0) return false;
    if (this.rate >= 1) return true;
    if (this.burst <= 1) return this.rng.next() < this.rate;
    const u = this.rng.next();
    this.bad = this.bad ? u >= this.r : u < this.q;
    return this.bad;
  }
}

function emptyStats(): DirStats {
  return { offered: 0, dropped: 0, duplicated: 0, reordered: 0 };
}

/** The impairments of one direction; `out` passes an item (a datagram) on. */
class Impairer<T> {
  readonly stats = emptyStats();
  private readonly loss: GilbertElliott;
  private held: T[] = [];
  private timer: TimerId | undefined;

  constructor(
    private readonly s: LossSettings,
    private readonly rng: Rng,
    private readonly clock: Clock,
    private readonly out: (item: T) => void,
  ) {
    this.loss = new GilbertElliott(s.lossRate, s.lossBurst, rng);
  }

  pass(item: T): void {
    this.stats.offered++;
    if (this.loss.drop()) {
      this.stats.dropped++;
      return;
    }
    const copies = this.s.dupRate > 0 && this.rng.next() < this.s.dupRate ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      if (this.s.reorderRate > 0 && this.rng.next() < this.s.reorderRate) {
        this.stats.reordered++;
        this.held.push(item);
        // Nothing may follow (a lone KILL): don't hold it forever.
        this.timer ??= this.clock.setTimeout(() => {
          this.timer = undefined;
          this.release();
        }, this.s.reorderDelayMs ?? 50);
      } else {
        this.out(item);
        this.release();
      }
    }
  }

  private release(): void {
    if (this.timer !== undefined) {
      this.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    const held = this.held;
    this.held = [];
    for (const item of held) this.out(item);
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.held = [];
  }
}

export interface LossSimulatorOptions extends LossSettings {
  rng: Rng;
  clock: Clock;
}

interface Arrival {
  bytes: Buffer;
  source: Source;
}

export class LossSimulator extends EventEmitter<TransportEvents> implements Transport {
  private readonly sendSide: Impairer<Buffer> | undefined;
  private readonly recvSide: Impairer<Arrival> | undefined;
  private closed = false;

  constructor(
    readonly inner: Transport,
    opts: LossSimulatorOptions,
  ) {
    super();
    const dir = opts.lossDir;
    if (dir === "send" || dir === "both") {
      this.sendSide = new Impairer<Buffer>(opts, opts.rng, opts.clock, (b) => inner.send(b));
    }
    if (dir === "recv" || dir === "both") {
      this.recvSide = new Impairer<Arrival>(opts, opts.rng, opts.clock, (a) => {
        if (!this.closed) this.emit("datagram", a.bytes, a.source);
      });
    }
    inner.on("datagram", (bytes, source) => {
      if (this.recvSide) this.recvSide.pass({ bytes, source });
      else this.emit("datagram", bytes, source);
    });
    inner.on("error", (e) => this.emit("error", e));
    inner.on("warning", (e) => this.emit("warning", e));
    inner.on("listening", () => this.emit("listening"));
    inner.on("close", () => this.emit("close"));
  }

  /** Counters per direction (a copy). */
  get stats(): LossStats {
    return {
      send: { ...(this.sendSide?.stats ?? emptyStats()) },
      recv: { ...(this.recvSide?.stats ?? emptyStats()) },
    };
  }

  send(bytes: Buffer): void {
    if (this.sendSide) this.sendSide.pass(bytes);
    else this.inner.send(bytes);
  }

  localSource(): Source | undefined {
    return this.inner.localSource();
  }

  ready(): Promise<void> {
    return this.inner.ready();
  }

  close(): Promise<void> {
    this.closed = true;
    this.sendSide?.close();
    this.recvSide?.close();
    return this.inner.close();
  }
}
