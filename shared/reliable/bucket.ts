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

/** A requester's bucket, with what the table needs to know about it. */
interface Requester {
  bucket: TokenBucket;
  /** When it last moved to the recent end of the eviction order (ms). */
  touched: number;
  /** Requests refused since its last allowed one. */
  refusedRun: number;
}

/** LRU order is refreshed at most this often per requester (ms): a Map delete and set on every
 *  request would be most of the cost of refusing a flood. */
const TOUCH_MS = 1000;

/**
 * Per-requester and total token buckets; requesters in a bounded table (least recently heard
 * forgotten first, to within TOUCH_MS). Used for what a peer does for others: the bot's answers
 * and uploads (dnabot/limits.ts), and the datagrams a Link reads from each source (channel.ts).
 */
export class RequestLimiter {
  private readonly total: TokenBucket;
  /** Insertion order = least recently heard first. */
  private readonly byRequester = new Map<string, Requester>();
  readonly stats: LimiterStats = { allowed: 0, refusedRequester: 0, refusedTotal: 0, evicted: 0 };
  private _refusedBefore = 0;

  constructor(
    private readonly limits: RateLimits,
    now: number,
  ) {
    this.total = new TokenBucket(limits.totalRate, limits.totalBurst, now);
  }

  /** After allow() said "ok": how many requests of that requester were refused since its
   *  previous allowed one (what a reader dropped just before this datagram). */
  get refusedBefore(): number {
    return this._refusedBefore;
  }

  /** May this requester have one more now? A refusal costs no token. */
  allow(requester: string, now: number): Verdict {
    let own = this.byRequester.get(requester);
    if (own) {
      if (now - own.touched >= TOUCH_MS) {
        this.byRequester.delete(requester);
        this.byRequester.set(requester, own);
        own.touched = now;
      }
    } else {
      if (this.byRequester.size >= this.limits.maxRequesters) {
        const oldest = this.byRequester.keys().next();
        if (!oldest.done) this.byRequester.delete(oldest.value);
        this.stats.evicted++;
      }
      own = {
        bucket: new TokenBucket(this.limits.perRequesterRate, this.limits.perRequesterBurst, now),
        touched: now,
        refusedRun: 0,
      };
      this.byRequester.set(requester, own);
    }
    // Per requester first: a flooder spends its own budget, not everyone's.
    if (own.bucket.waitMs(now) > 0) {
      this.stats.refusedRequester++;
      own.refusedRun++;
      return "requester";
    }
    if (!this.total.take(now)) {
      this.stats.refusedTotal++;
      own.refusedRun++;
      return "total";
    }
    own.bucket.take(now);
    this.stats.allowed++;
    this._refusedBefore = own.refusedRun;
    own.refusedRun = 0;
    return "ok";
  }

  /** Requesters tracked now (at most maxRequesters). */
  get size(): number {
    return this.byRequester.size;
  }
}
