/**
 * GroupAuth: what a Channel holds when the group has a key. It signs every line sent (mac.ts)
 * and opens every line received: checks the MAC against every key of the ring, then freshness
 * (replay.ts), and says whether the message verified. Refusals are counted by reason.
 *
 * Without a key there is no GroupAuth: lines go out unsigned, as the original's, and a received
 * trailer is only taken off (stripTrailer) so that our unkeyed programs see messages as sent.
 * Pure apart from the injected wall clock; the session id is random unless given.
 */
import { type ChanMessage, parseLine } from "../codec.js";
import { TAG } from "../protocol.js";
import type { Keyring } from "./keyring.js";
import { AUTH_OVERHEAD, newSessionId, signLine, splitTrailer, verifyMac } from "./mac.js";
import { ReplayGuard, type ReplayStats } from "./replay.js";

/** Why a received datagram was refused. Stable identifiers: counter names and log fields. */
export type RefuseReason =
  /** No trailer, and unsigned members are not accepted (or: unsequenced, or claiming the id of a
   *  member whose messages verify). */
  | "unsigned"
  /** A trailer that is not whole and well formed (truncated, altered). */
  | "bad-trailer"
  /** The MAC matches no key of the ring (forged, altered, or another group's key). */
  | "bad-mac"
  | "future"
  | "before-start"
  | "too-old"
  | "replay";

export const REFUSE_REASONS: readonly RefuseReason[] = [
  "unsigned",
  "bad-trailer",
  "bad-mac",
  "future",
  "before-start",
  "too-old",
  "replay",
];

export interface AuthStats {
  signed: number;
  verified: number;
  /** Unsigned messages let through because acceptUnsigned is on. */
  unsignedAccepted: number;
  refused: number;
  refusedByReason: Partial<Record<RefuseReason, number>>;
  /** Verified with a key other than the signing one (rotation under way). */
  verifiedByOldKey: number;
  /** Copies in RSNDs dropped without a refusal: already received (every RSND reaches every
   *  peer, not only the one that asked), or sent before we started. */
  copiesIgnored: number;
  replay: ReplayStats;
}

export interface GroupAuthOptions {
  ring: Keyring;
  /** Let unsigned sequenced messages through, marked unverified (mixed groups with the
   *  original's programs, which cannot sign). Default false. */
  acceptUnsigned?: boolean;
  /** Wall clock, ms since 1970 (the timestamps). Default Date.now. */
  wallClock?: () => number;
  /** Clock disagreement plus transit accepted, ms. Default 10 s. */
  windowMs?: number;
  /** How old a copy embedded in an RSND may be beyond the window, ms. Default 60 s (holdTime). */
  repairAgeMs?: number;
  /** Our session id (tests); default random. */
  sid?: string;
  maxSessions?: number;
  /** Most sender ids remembered as verified (acceptUnsigned: their id is not accepted
   *  unsigned). Default 4096. */
  maxVerifiedSenders?: number;
}

export type Opened =
  | { ok: true; msg: ChanMessage }
  /** quiet: a copy in an RSND that is no news (dropped, not a refusal: nothing to report). */
  | { ok: false; reason: RefuseReason; quiet?: boolean };

export class GroupAuth {
  private _ring: Keyring;
  readonly sid: string;
  readonly acceptUnsigned: boolean;
  /** Bytes the trailer may add to a line. */
  readonly overhead = AUTH_OVERHEAD;
  readonly stats: AuthStats;
  private readonly wall: () => number;
  private readonly guard: ReplayGuard;
  /** Sender ids heard with a valid MAC, least recently heard first. */
  private readonly verifiedSenders = new Map<string, true>();
  private readonly maxVerifiedSenders: number;
  private lastTs = 0;

  constructor(opts: GroupAuthOptions) {
    this._ring = opts.ring;
    this.acceptUnsigned = opts.acceptUnsigned ?? false;
    this.wall = opts.wallClock ?? Date.now;
    this.sid = opts.sid ?? newSessionId();
    this.maxVerifiedSenders = opts.maxVerifiedSenders ?? 4096;
    this.guard = new ReplayGuard({
      startedAt: this.wall(),
      windowMs: opts.windowMs ?? 10_000,
      repairAgeMs: opts.repairAgeMs ?? 60_000,
      ownSid: this.sid,
      maxSessions: opts.maxSessions,
    });
    this.stats = {
      signed: 0,
      verified: 0,
      unsignedAccepted: 0,
      refused: 0,
      refusedByReason: {},
      verifiedByOldKey: 0,
      copiesIgnored: 0,
      replay: this.guard.stats,
    };
  }

  /** The line as sent: with its trailer, signed with the ring's first key. */
  sign(line: string): string {
    // Never two datagrams of one session with the same ts going backwards (a clock step back).
    const ts = Math.max(Math.floor(this.wall()), this.lastTs);
    this.lastTs = ts;
    this.stats.signed++;
    return signLine(line, this.ring.signing, ts, this.sid);
  }

  get ring(): Keyring {
    return this._ring;
  }

  /** Use another ring from now on (a rotation step without a restart: RSET rereads the key file). */
  setRing(ring: Keyring): void {
    this._ring = ring;
  }

  /** Whether a sender id has been heard with a valid MAC (recently enough to be remembered). */
  isVerifiedSender(id: string): boolean {
    return this.verifiedSenders.has(id);
  }

  /**
   * Open a received message (parsed with its trailer). `repair`: a copy embedded in an RSND.
   * Returns the message without its trailer, `verified` true, `auth` the trailer; or an unsigned
   * message marked `verified: false` when acceptUnsigned allows it; or the reason for refusing.
   */
  open(msg: ChanMessage, repair = false): Opened {
    const tr = splitTrailer(msg.text);
    if (tr.kind === "none") {
      // Unsequenced messages are the reliability layer's (and a NACK, SKIP or LAST could steer
      // repairs): never unsigned. Nor the id of a member whose messages verify.
      if (!this.acceptUnsigned || msg.seq === 0 || this.verifiedSenders.has(msg.sender)) return this.refuse("unsigned");
      this.stats.unsignedAccepted++;
      return { ok: true, msg: { ...msg, verified: false } };
    }
    if (tr.kind === "malformed") return this.refuse("bad-trailer");
    const key = verifyMac(this.ring.verifying, tr.signed, tr.mac);
    if (key < 0) return this.refuse("bad-mac");
    const inner = withoutTrailer(msg, tr);
    // The header is part of what was signed, so it parses; anything else is a malformed trailer.
    if (!inner) return this.refuse("bad-trailer");
    // A copy in an RSND is only checked here; confirmCopy() remembers it once it is taken.
    const verdict = repair
      ? this.guard.check(msg.sender, tr.sid, msg.seq, tr.ts, this.wall())
      : this.guard.admit(msg.sender, tr.sid, msg.seq, tr.ts, tr.macText, this.wall());
    if (repair && (verdict === "replay" || verdict === "before-start")) {
      this.stats.copiesIgnored++;
      return { ok: false, reason: verdict, quiet: true };
    }
    if (verdict !== "ok") return this.refuse(verdict);
    this.stats.verified++;
    if (key > 0) this.stats.verifiedByOldKey++;
    this.noteVerified(msg.sender);
    return { ok: true, msg: { ...inner, verified: true, auth: tr.trailer } };
  }

  /** The reliability layer took a copy that open(msg, true) passed: from now on it is a replay. */
  confirmCopy(msg: ChanMessage): void {
    const m = msg.auth === undefined ? null : AUTH_FIELDS.exec(msg.auth);
    if (!m || msg.seq === 0) return;
    this.guard.admit(msg.sender, m[2] as string, msg.seq, Number(m[1]), m[3] as string, this.wall(), true);
  }

  private noteVerified(id: string): void {
    if (this.verifiedSenders.has(id)) this.verifiedSenders.delete(id);
    else if (this.verifiedSenders.size >= this.maxVerifiedSenders) {
      const first = this.verifiedSenders.keys().next();
      if (!first.done) this.verifiedSenders.delete(first.value);
    }
    this.verifiedSenders.set(id, true);
  }

  private refuse(reason: RefuseReason): Opened {
    this.stats.refused++;
    this.stats.refusedByReason[reason] = (this.stats.refusedByReason[reason] ?? 0) + 1;
    return { ok: false, reason };
  }
}

/** Without a key: take a well-formed trailer off (unverified), so messages look as sent. The
 *  trailer is kept in `auth` so that an RSND of the message still carries the original MAC. */
export function stripTrailer(msg: ChanMessage): ChanMessage {
  // Tags keep their wire order: the trailer's mac= is the last one.
  if (Object.keys(msg.tags).at(-1) !== TAG.mac) return msg;
  const tr = splitTrailer(msg.text);
  if (tr.kind !== "signed") return msg;
  const inner = withoutTrailer(msg, tr);
  return inner ? { ...inner, auth: tr.trailer } : msg;
}

const TRAILER_TAG = / (?:ts|sid|mac)=/;
/** ts, sid and mac of a trailer as kept in ChanMessage.auth. */
const AUTH_FIELDS = /^ts=(\d+) sid=(\S+) mac=(\S+)$/;

/** The message as parsed without its trailer. The trailer's tags are the last three, so they are
 *  taken off the parsed message; only a line that has a ts/sid/mac tag of its own (which the
 *  trailer's hid) is parsed again. */
function withoutTrailer(msg: ChanMessage, tr: { line: string }): ChanMessage | undefined {
  if (TRAILER_TAG.test(tr.line)) {
    const r = parseLine(tr.line);
    return r.ok && r.msg.sender === msg.sender && r.msg.seq === msg.seq ? r.msg : undefined;
  }
  const tags: Record<string, string> = Object.assign(Object.create(null), msg.tags);
  delete tags.ts;
  delete tags.sid;
  delete tags.mac;
  return { ...msg, tags, text: tr.line };
}

/** Counters as `reason N, reason N` (logs, WHO), in a stable order; empty when none. */
export function refusedSummary(byReason: Partial<Record<RefuseReason, number>>): string {
  return REFUSE_REASONS.filter((r) => (byReason[r] ?? 0) > 0)
    .map((r) => `${r} ${byReason[r]}`)
    .join(", ");
}
