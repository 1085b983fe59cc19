/**
 * Replay protection for signed datagrams (the reasoning is in protocol.md, "Group keys").
 *
 * A signed datagram carries its sender's wall-clock time (ts) and session (sid: random per
 * program start). A receiver accepts it only when:
 *
 * 1. ts is not in the future beyond the window (`windowMs`: clock disagreement plus transit);
 * 2. ts is not before the receiver's own start: nothing sent before we existed is for us, so a
 *    KILL captured before a bot restarted (same id with -seed) is refused by the new bot;
 * 3. ts is not older than the window (a copy embedded in an RSND: the window plus how long
 *    copies are held, `repairAgeMs`);
 * 4. the session is not our own (our own datagrams never come back to us: the transport drops
 *    them by source address, so one carrying our sid is someone replaying it);
 * 5. it is new for its (sender, sid): a sequenced message's number was not seen before (a
 *    sliding window of WINDOW numbers below the highest seen, as IPsec's anti-replay window);
 *    an unsequenced one (SEQ 0: NACK, RSND, SKIP, LAST) has a MAC not seen before among the
 *    session's latest RECENT ones, and is newer than the ones forgotten.
 *
 * State is kept per (sender, sid), created only for datagrams whose MAC verified (only key
 * holders can make it grow), forgotten once older than anything rule 3 still accepts, and capped
 * (least recently heard evicted first; after an eviction, a session we do not know is refused for
 * timestamps up to the newest we had from the evicted one, so forgetting never readmits a replay).
 * Pure: time comes from the caller.
 */

/** Sequence numbers remembered below the highest one seen per session. */
export const SEQ_WINDOW = 1024;
/** Unsequenced MACs remembered per session. */
export const RECENT = 64;

export type ReplayVerdict = "ok" | "future" | "before-start" | "too-old" | "replay";

export interface ReplayOptions {
  /** Our start, wall-clock ms: anything timestamped before it is refused. */
  startedAt: number;
  /** Largest clock disagreement plus transit time accepted, ms. */
  windowMs: number;
  /** How much older than the window a copy embedded in an RSND may be, ms (the longest copies
   *  are held). */
  repairAgeMs: number;
  /** Our own session id. */
  ownSid: string;
  /** Most sessions tracked. Default 4096. */
  maxSessions?: number;
}

interface Session {
  /** Highest sequence number seen, and which of the SEQ_WINDOW numbers up to it were seen. */
  highest: number;
  bits: Uint32Array;
  /** Unsequenced datagrams: MAC → ts; anything at or below zeroFloor is refused. */
  recent: Map<string, number>;
  zeroFloor: number;
  /** Newest ts accepted, and when (our clock) we last heard the session. */
  maxTs: number;
  heard: number;
}

export interface ReplayStats {
  sessions: number;
  /** Sessions dropped because the table was full. */
  evicted: number;
  /** Sessions forgotten because nothing from them could be accepted any more. */
  expired: number;
}

export class ReplayGuard {
  private readonly sessions = new Map<string, Session>();
  private readonly maxSessions: number;
  /** Timestamps at or below this are refused from sessions we do not know (one was evicted). */
  private floor = Number.NEGATIVE_INFINITY;
  private lastSweep: number;
  readonly stats: ReplayStats = { sessions: 0, evicted: 0, expired: 0 };

  constructor(private readonly opts: ReplayOptions) {
    this.maxSessions = opts.maxSessions ?? 4096;
    this.lastSweep = opts.startedAt;
  }

  /** How long after we last heard a session a datagram of it could still pass rules 1–3. */
  private get keepMs(): number {
    return 2 * this.opts.windowMs + this.opts.repairAgeMs + 1000;
  }

  /**
   * Check a sequenced copy embedded in an RSND without remembering it: it is remembered (admit)
   * only once the reliability layer takes it, so a copy it turns down (one it did not ask for
   * yet) does not make the copy it later asks for look like a replay.
   */
  check(sender: string, sid: string, seq: number, ts: number, now: number): ReplayVerdict {
    const w = this.opts.windowMs;
    if (ts > now + w) return "future";
    if (ts < this.opts.startedAt) return "before-start";
    if (ts < now - w - this.opts.repairAgeMs) return "too-old";
    if (sid === this.opts.ownSid) return "replay";
    const s = this.sessions.get(`${sender} ${sid}`);
    if (!s) return ts <= this.floor ? "replay" : "ok";
    if (seq > s.highest) return "ok";
    return s.highest - seq >= SEQ_WINDOW || getBit(s.bits, seq) ? "replay" : "ok";
  }

  /**
   * Check a verified datagram and, if it passes, remember it. `repair`: a copy embedded in an
   * RSND (older timestamps allowed). `mac`: its MAC as received (for SEQ 0).
   */
  admit(sender: string, sid: string, seq: number, ts: number, mac: string, now: number, repair = false): ReplayVerdict {
    const w = this.opts.windowMs;
    if (ts > now + w) return "future";
    if (ts < this.opts.startedAt) return "before-start";
    if (ts < now - w - (repair ? this.opts.repairAgeMs : 0)) return "too-old";
    if (sid === this.opts.ownSid) return "replay";
    this.sweep(now);
    const key = `${sender} ${sid}`;
    let s = this.sessions.get(key);
    if (s) {
      // Least recently heard first: move to the end.
      this.sessions.delete(key);
      this.sessions.set(key, s);
    } else {
      if (ts <= this.floor) return "replay";
      s = {
        highest: 0,
        bits: new Uint32Array(SEQ_WINDOW / 32),
        recent: new Map(),
        zeroFloor: -1,
        maxTs: ts,
        heard: now,
      };
      if (this.sessions.size >= this.maxSessions) this.evictOldest();
      this.sessions.set(key, s);
      this.stats.sessions = this.sessions.size;
    }
    const fresh = seq > 0 ? markSeq(s, seq) : markZero(s, mac, ts);
    if (!fresh) return "replay";
    s.maxTs = Math.max(s.maxTs, ts);
    s.heard = now;
    return "ok";
  }

  get size(): number {
    return this.sessions.size;
  }

  private evictOldest(): void {
    const first = this.sessions.entries().next();
    if (first.done) return;
    const [key, s] = first.value;
    this.sessions.delete(key);
    this.floor = Math.max(this.floor, s.maxTs);
    this.stats.evicted++;
  }

  private sweep(now: number): void {
    const keep = this.keepMs;
    if (now - this.lastSweep < keep / 4) return;
    this.lastSweep = now;
    for (const [key, s] of this.sessions) {
      if (now - s.heard > keep) {
        this.sessions.delete(key);
        this.stats.expired++;
      }
    }
    this.stats.sessions = this.sessions.size;
  }
}

/** Mark a sequence number seen; false if it was (or is too far below the highest to tell). */
function markSeq(s: Session, seq: number): boolean {
  if (seq > s.highest) {
    const shift = seq - s.highest;
    if (shift >= SEQ_WINDOW) s.bits.fill(0);
    else for (let n = s.highest + 1; n <= seq; n++) clearBit(s.bits, n);
    s.highest = seq;
    setBit(s.bits, seq);
    return true;
  }
  if (s.highest - seq >= SEQ_WINDOW) return false;
  if (getBit(s.bits, seq)) return false;
  setBit(s.bits, seq);
  return true;
}

function markZero(s: Session, mac: string, ts: number): boolean {
  if (ts <= s.zeroFloor || s.recent.has(mac)) return false;
  s.recent.set(mac, ts);
  if (s.recent.size > RECENT) {
    // Forget the oldest; from now on nothing as old is accepted from this session.
    let oldKey = mac;
    let oldTs = ts;
    for (const [k, v] of s.recent) {
      if (v < oldTs) {
        oldTs = v;
        oldKey = k;
      }
    }
    s.recent.delete(oldKey);
    s.zeroFloor = Math.max(s.zeroFloor, oldTs);
    if (oldKey === mac) return false;
  }
  return true;
}

function pos(seq: number): [number, number] {
  const i = seq % SEQ_WINDOW;
  return [i >>> 5, 1 << (i & 31)];
}
function setBit(bits: Uint32Array, seq: number): void {
  const [w, b] = pos(seq);
  bits[w] = (bits[w] as number) | b;
}
function clearBit(bits: Uint32Array, seq: number): void {
  const [w, b] = pos(seq);
  bits[w] = (bits[w] as number) & ~b;
}
function getBit(bits: Uint32Array, seq: number): boolean {
  const [w, b] = pos(seq);
  return ((bits[w] as number) & b) !== 0;
}
