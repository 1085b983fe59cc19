/**
 * Token bucket: at most `rate` events per second on average, bursts of up to `burst`. The
 * reliability layer meters its NACKs and its answers (RSND/SKIP) with one each, so that repair
 * traffic stays bounded when receivers are overloaded and lose many datagrams (the feedback
 * loop NORM and JGroups guard against: losses cause NACKs, NACKs cause more losses).
 * Pure apart from the `now` (ms) the caller passes. rate 0 means unlimited.
 */
export class TokenBucket {
  private tokens: number;
  private at: number;

  constructor(
    readonly rate: number,
    readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.at = now;
  }

  private refill(now: number): void {
    if (now <= this.at) return;
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.at) * this.rate) / 1000);
    this.at = now;
  }

  /** Take one token if there is one. */
  take(now: number): boolean {
    if (this.rate <= 0) return true;
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until a token is available (0 if one is). */
  waitMs(now: number): number {
    if (this.rate <= 0) return 0;
    this.refill(now);
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.rate;
  }
}
