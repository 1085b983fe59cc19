/**
 * Token bucket: at most `rate` events per second on average, bursts of up to `burst`. The
 * reliability layer meters its NACKs and its answers (RSND/SKIP) with one each, so that repair
 * traffic stays bounded when receivers are overloaded and lose many datagrams (the feedback
 * loop NORM and JGroups guard against: losses cause NACKs, NACKs cause more losses).
 * Pure apart from the `now` (ms) the caller passes. rate 0 means unlimited.
 * RequestLimiter (below) keeps one per requester in a bounded table, plus one in total.
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

export interface RateLimits {
  /** Requests per second one requester may make, on average, and its burst. */
  perRequesterRate: number;
  perRequesterBurst: number;
  /** Requests per second from everyone together, and the burst. */
  totalRate: number;
  totalBurst: number;
  /** Most requesters tracked; the least recently heard is forgotten beyond it. */
  maxRequesters: number;
}

export type Verdict = "ok" | "requester" | "total";

export interface LimiterStats {
  allowed: number;
  /** Refused because this requester was over its rate. */
  refusedRequester: number;
  /** Refused because everyone together was over the total rate. */
  refusedTotal: number;
  /** Requesters forgotten to stay within maxRequesters. */
  evicted: number;
}

/**
 * Per-requester and total token buckets; requesters in a bounded table (least recently heard
 * forgotten first). Used for what a peer does for others: the bot's answers and uploads
 * (dnabot/limits.ts), and the datagrams a Link reads from each source (channel.ts).
 */
export class RequestLimiter {
  private readonly total: TokenBucket;
  /** Insertion order = least recently heard first. */
  private readonly byRequester = new Map<string, TokenBucket>();
  readonly stats: LimiterStats = { allowed: 0, refusedRequester: 0, refusedTotal: 0, evicted: 0 };

  constructor(
    private readonly limits: RateLimits,
    now: number,
  ) {
    this.total = new TokenBucket(limits.totalRate, limits.totalBurst, now);
  }

  /** May this requester have one more now? A refusal costs no token. */
  allow(requester: string, now: number): Verdict {
    let own = this.byRequester.get(requester);
    if (own) {
      this.byRequester.delete(requester);
    } else {
      own = new TokenBucket(this.limits.perRequesterRate, this.limits.perRequesterBurst, now);
      if (this.byRequester.size >= this.limits.maxRequesters) {
        const oldest = this.byRequester.keys().next();
        if (!oldest.done) this.byRequester.delete(oldest.value);
        this.stats.evicted++;
      }
    }
    this.byRequester.set(requester, own);
    // Per requester first: a flooder spends its own budget, not everyone's.
    if (own.waitMs(now) > 0) {
      this.stats.refusedRequester++;
      return "requester";
    }
    if (!this.total.take(now)) {
      this.stats.refusedTotal++;
      return "total";
    }
    own.take(now);
    this.stats.allowed++;
    return "ok";
  }

  /** Requesters tracked now (at most maxRequesters). */
  get size(): number {
    return this.byRequester.size;
  }
}
