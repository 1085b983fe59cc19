/**
 * What a bot does for others is bounded: every command that costs it work (PING and RSET answer
 * with a BEAT, UPLD opens a TCP connection and sends a file) passes a rate limit per requester
 * and one in total, so a flood of `PING *` costs a bounded number of BEATs and leaves nothing
 * queued once it stops; and a warning that could repeat at the rate of the network is printed
 * at most once per interval, with a count. Pure: times (ms) come from the caller.
 */
import type { RateLimits } from "../shared/reliable/bucket.js";

// The limiter is shared with the reliability layer and the link (shared/reliable/bucket.ts).
export { type LimiterStats, type RateLimits, RequestLimiter, type Verdict } from "../shared/reliable/bucket.js";

/**
 * PING and RSET: a requester gets an answer per second on average (3 at once), all requesters
 * together 5 per second (10 at once). A supervisor's `PING *` every few seconds is never refused.
 */
export const ANSWER_LIMITS: RateLimits = {
  perRequesterRate: 1,
  perRequesterBurst: 3,
  totalRate: 5,
  totalBurst: 10,
  maxRequesters: 256,
};

/** UPLD: one upload per second per requester (5 at once), 2 per second in total (10 at once).
 *  Uploads also run one at a time, with at most 16 waiting (bot.ts). */
export const UPLOAD_LIMITS: RateLimits = {
  perRequesterRate: 1,
  perRequesterBurst: 5,
  totalRate: 2,
  totalBurst: 10,
  maxRequesters: 256,
};

/**
 * A warning that may be due many times a second: note() every occurrence; due() says, at most
 * once per interval, how many occurred since the last time it said so (undefined otherwise).
 */
export class ThrottledCount {
  private pending = 0;
  private lastAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly intervalMs: number) {}

  note(n = 1): void {
    this.pending += n;
  }

  due(now: number): number | undefined {
    if (this.pending === 0 || now - this.lastAt < this.intervalMs) return undefined;
    const n = this.pending;
    this.pending = 0;
    this.lastAt = now;
    return n;
  }
}

/** What a bot accepts in an UPLD's `port=` tag (see protocol.md, "Uploads over TCP"). */
export type PortDecision = { ok: true; port: number } | { ok: false; reason: "bad-port" | "privileged-port" };

/** Ports below this need privileges: a bot connects to one only if it is filePort. */
export const FIRST_UNPRIVILEGED_PORT = 1024;

/**
 * The port an UPLD makes the bot connect to: filePort without a tag; the tag's port when it is
 * a number in 1..65535 that is filePort or unprivileged (≥ 1024); anything else is refused, so
 * a forged UPLD cannot point a bot at a mail, SSH or web server.
 */
export function uploadPort(tag: string | undefined, filePort: number): PortDecision {
  if (tag === undefined) return { ok: true, port: filePort };
  if (!/^[0-9]{1,5}$/.test(tag)) return { ok: false, reason: "bad-port" };
  const port = Number(tag);
  if (port < 1 || port > 65535) return { ok: false, reason: "bad-port" };
  if (port < FIRST_UNPRIVILEGED_PORT && port !== filePort) return { ok: false, reason: "privileged-port" };
  return { ok: true, port };
}
