/**
 * Roster: the members of the group as one supervisor sees them, learned only from the traffic
 * (there is no membership protocol). Pure: times come from the caller.
 *
 * - A member joins when it is first heard, and leaves when it sends EXIT (at once) or is aged
 *   out after ageOutMs of silence.
 * - state comes from the state= tag our bots put on BEAT/NEWS/EXIT; the original's bots send
 *   none, so theirs stays "unknown" and the missing tag marks them as the original's.
 * - Supervisors (HUMAN, HUMAN-xxxx) are listed too, but send no heartbeats: they come and go
 *   silently, without join/leave events, and are aged out like bots once silent (a supervisor
 *   that quits sends no EXIT).
 * - Bounded: at most maxMembers (default 20,000); beyond it the least recently heard member is
 *   evicted silently and counted (a flood of invented ids cannot grow it).
 */
import type { ChanMessage } from "../shared/codec.js";
import {
  AGED_OUT,
  botStateOf,
  EXIT,
  EXIT_UNTAGGED,
  exitReasonOf,
  isOurSupervisorId,
  isSupervisorId,
  type LeaveReason,
  NEWS,
  type SeenState,
  TAG,
  UNKNOWN_STATE,
} from "../shared/protocol.js";
import type { Source } from "../shared/transport.js";

export type MemberKind = "bot" | "supervisor";

export interface Member {
  id: string;
  kind: MemberKind;
  address: string;
  port: number;
  firstHeard: number;
  lastHeard: number;
  state: SeenState;
  /** NEWS messages seen from it. */
  discoveries: number;
  messages: number;
  /** One of ours (it sends our tags), or the original program. */
  ours: boolean;
  /** With a group key: its messages verify (once one has, unverified ones in its name are
   *  ignored: no EXIT, no state change, no collision). Absent or false otherwise. */
  verified?: boolean;
}

export type RosterEvent =
  | { kind: "joined"; member: Member }
  | { kind: "left"; member: Member; reason: LeaveReason }
  /** Another peer sends with our own id. */
  | { kind: "collision"; member: Member; source: Source };

/** What a roster listener hears: the events above, and a bot changing state (a Frankenstein turn,
 *  or back to Asimov after RSET). */
export type RosterNotice = RosterEvent | { kind: "state"; member: Member; from: SeenState; to: SeenState };

export interface RosterOptions {
  /** Members silent for longer than this are aged out (protocol.ts ageOutMs: 2 heartbeats plus
   *  the beat jitter). */
  ageOutMs: number;
  /** Most members kept (default 20,000). */
  maxMembers?: number;
  /** Our own id (messages carrying it come from someone else: a collision). */
  selfId: () => string;
}

/** How a typed destination maps onto the roster. */
export type Resolution =
  /** A member's id (typed exactly, or in another case). */
  | { kind: "known"; id: string }
  /** The unique member whose id starts with what was typed. */
  | { kind: "completed"; id: string; typed: string }
  /** Several members' ids start with what was typed (a few of them, sorted). */
  | { kind: "ambiguous"; typed: string; ids: string[]; count: number }
  /** Nobody heard has this id; suggestions are close ids of members. */
  | { kind: "unknown"; id: string; suggestions: string[] };

export const DEFAULT_MAX_MEMBERS = 20_000;

export class Roster {
  /** Least recently heard first (a member heard again moves to the end). */
  private readonly members = new Map<string, Member>();
  private readonly listeners = new Set<(n: RosterNotice) => void>();
  /** Unverified messages ignored because they named a member whose messages verify. */
  ignoredUnverified = 0;
  private readonly maxMembers: number;
  /** Members evicted because the roster was full. */
  evicted = 0;

  constructor(private readonly opts: RosterOptions) {
    this.maxMembers = opts.maxMembers ?? DEFAULT_MAX_MEMBERS;
  }

  get capacity(): number {
    return this.maxMembers;
  }

  /** Hear every event and state change as it happens (the web view); returns the unsubscribe. */
  subscribe(listener: (n: RosterNotice) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private tell(notices: readonly RosterNotice[]): void {
    if (this.listeners.size === 0) return;
    for (const n of notices) for (const l of this.listeners) l(n);
  }

  /** Record a message; returns the events it causes (joined, left, collision). */
  observe(msg: ChanMessage, source: Source, now: number): RosterEvent[] {
    const events: RosterEvent[] = [];
    const { tags } = msg;
    let m = this.members.get(msg.sender);
    if (m?.verified && msg.verified === false) {
      this.ignoredUnverified++;
      return events;
    }
    if (!m) {
      m = {
        id: msg.sender,
        kind: isSupervisorId(msg.sender) ? "supervisor" : "bot",
        address: source.address,
        port: source.port,
        firstHeard: now,
        lastHeard: now,
        state: UNKNOWN_STATE,
        discoveries: 0,
        messages: 0,
        ours: false,
        verified: false,
      };
      this.members.set(m.id, m);
      while (this.members.size > this.maxMembers) {
        const oldest = this.members.keys().next().value as string;
        this.members.delete(oldest);
        this.evicted++;
      }
      if (m.kind === "bot" && msg.opcode !== EXIT) events.push({ kind: "joined", member: m });
    } else if (now >= m.lastHeard) {
      // Most recently heard last: eviction and age-out look at the front.
      this.members.delete(m.id);
      this.members.set(m.id, m);
    }
    if (msg.verified) m.verified = true;
    if (msg.sender === this.opts.selfId() && msg.verified !== false)
      events.push({ kind: "collision", member: m, source });
    m.address = source.address;
    m.port = source.port;
    m.lastHeard = Math.max(m.lastHeard, now);
    m.messages++;
    const state = botStateOf(tags[TAG.state]);
    if (state !== undefined && m.state !== state) {
      if (m.state !== UNKNOWN_STATE) this.tell([{ kind: "state", member: m, from: m.state, to: state }]);
      m.state = state;
    }
    // Our bots tag BEAT/NEWS/EXIT with state=; our supervisors tag UPLD with port= and use HUMAN-.
    if (tags[TAG.state] !== undefined || tags[TAG.port] !== undefined || isOurSupervisorId(msg.sender)) m.ours = true;
    if (msg.opcode === NEWS) m.discoveries++;
    if (msg.opcode === EXIT) {
      this.members.delete(m.id);
      const reason: LeaveReason = exitReasonOf(tags[TAG.reason]) ?? EXIT_UNTAGGED;
      if (m.kind === "bot") events.push({ kind: "left", member: m, reason });
    }
    this.tell(events);
    return events;
  }

  /** Remove members silent for longer than ageOutMs (the least recently heard are in front). */
  ageOut(now: number): RosterEvent[] {
    const events: RosterEvent[] = [];
    for (const m of this.members.values()) {
      if (now - m.lastHeard <= this.opts.ageOutMs) break;
      this.members.delete(m.id);
      if (m.kind === "bot") events.push({ kind: "left", member: m, reason: AGED_OUT });
    }
    this.tell(events);
    return events;
  }

  /**
   * What a typed destination means: a member's id (case ignored), the unique member whose id
   * starts with it, several such members, or nobody (with up to 3 close ids as suggestions).
   */
  resolve(typed: string): Resolution {
    const found = this.find(typed);
    if (found) return { kind: "known", id: found.id };
    const low = typed.toLowerCase();
    const starts: string[] = [];
    let count = 0;
    for (const id of this.members.keys()) {
      if (id.toLowerCase().startsWith(low)) {
        count++;
        if (starts.length < 8) starts.push(id);
      }
    }
    if (count === 1) return { kind: "completed", id: starts[0] as string, typed };
    if (count > 1) return { kind: "ambiguous", typed, ids: starts.sort(), count };
    return { kind: "unknown", id: typed, suggestions: this.closeIds(typed, 3) };
  }

  /** Up to n ids of members within a small edit distance of typed (closest first). */
  closeIds(typed: string, n: number): string[] {
    const low = typed.toLowerCase();
    const limit = Math.max(1, Math.min(3, Math.floor(low.length / 3)));
    const hits: [number, string][] = [];
    for (const id of this.members.keys()) {
      const d = editDistance(low, id.toLowerCase(), limit);
      if (d <= limit) hits.push([d, id]);
    }
    hits.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
    return hits.slice(0, n).map((h) => h[1]);
  }

  get(id: string): Member | undefined {
    return this.members.get(id);
  }

  /** Find a member by id ignoring case (people type bot ids in lower case). */
  find(id: string): Member | undefined {
    const exact = this.members.get(id);
    if (exact) return exact;
    const low = id.toLowerCase();
    for (const m of this.members.values()) if (m.id.toLowerCase() === low) return m;
    return undefined;
  }

  /** All members, bots first, each group sorted by id. */
  list(): Member[] {
    return [...this.members.values()].sort((a, b) =>
      a.kind !== b.kind ? (a.kind === "bot" ? -1 : 1) : a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
    );
  }

  /** Every member, in no particular order, without copying or sorting (counts over 10,000). */
  values(): IterableIterator<Member> {
    return this.members.values();
  }

  botIds(): string[] {
    return this.list()
      .filter((m) => m.kind === "bot")
      .map((m) => m.id);
  }

  get size(): number {
    return this.members.size;
  }
}

/** Levenshtein distance of a and b, or limit + 1 as soon as it is sure to exceed limit. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        (prev[j] as number) + 1,
        (cur[j - 1] as number) + 1,
        (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      best = Math.min(best, v);
    }
    if (best > limit) return limit + 1;
    prev = cur;
  }
  return prev[b.length] as number;
}
