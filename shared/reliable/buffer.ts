/**
 * Bounded retransmission buffer: copies of sequenced messages, kept so that we can answer a
 * NACK with RSND (the message) or SKIP (it was superseded: a heartbeat). Bounded by count and by age; the oldest
 * go first. Pure apart from the `now` the caller passes.
 */

export interface Held {
  sender: string;
  seq: number;
  /** `OPCODE DEST ARGS...`: the message without SENDER SEQ. */
  body: string;
  /** Superseded messages (heartbeats) are answered with SKIP, so only the fact is kept. */
  superseded: boolean;
  /** When it was stored, ms. */
  at: number;
}

export interface BufferLimits {
  maxCount: number;
  maxAgeMs: number;
}

function keyOf(sender: string, seq: number): string {
  return `${sender} ${seq}`;
}

export class RetransmitBuffer {
  // A Map iterates in insertion order, and entries are inserted with a non-decreasing `at`:
  // the first entry is always the oldest.
  private readonly items = new Map<string, Held>();
  evicted = 0;

  constructor(readonly limits: BufferLimits) {}

  get size(): number {
    return this.items.size;
  }

  put(sender: string, seq: number, body: string, superseded: boolean, now: number): void {
    this.expire(now);
    if (this.limits.maxCount <= 0) return;
    const key = keyOf(sender, seq);
    this.items.delete(key);
    this.items.set(key, { sender, seq, body: superseded ? "" : body, superseded, at: now });
    while (this.items.size > this.limits.maxCount) this.dropOldest();
  }

  get(sender: string, seq: number, now: number): Held | undefined {
    this.expire(now);
    return this.items.get(keyOf(sender, seq));
  }

  /** Forget a sender (it restarted: its old numbers mean other messages now). */
  dropSender(sender: string): void {
    for (const [k, h] of this.items) if (h.sender === sender) this.items.delete(k);
  }

  /** Evict what is older than maxAgeMs. */
  expire(now: number): void {
    const limit = now - this.limits.maxAgeMs;
    for (const [, h] of this.items) {
      if (h.at >= limit) break;
      this.dropOldest();
    }
  }

  private dropOldest(): void {
    const first = this.items.keys().next();
    if (first.done) return;
    this.items.delete(first.value);
    this.evicted++;
  }
}
