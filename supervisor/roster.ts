/**
 * Roster: the members of the group as one supervisor sees them, learned only from the traffic
 * (there is no membership protocol). Pure: times come from the caller.
 *
 * - A member joins when it is first heard, and leaves when it sends EXIT (at once) or is aged
 *   out after ageOutMs of silence.
 * - state comes from the state= tag our bots put on BEAT/NEWS/EXIT; the original's bots send
 *   none, so theirs stays "unknown" and the missing tag marks them as the original's.
 * - Supervisors (HUMAN, HUMAN-xxxx) are listed too, but send no heartbeats: they come and go
 *   silently, without join/leave events.
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
  /** Members silent for longer than this are aged out (2 heartbeats). */
  ageOutMs: number;
  /** Our own id (messages carrying it come from someone else: a collision). */
  selfId: () => string;
}

export class Roster {
  private readonly members = new Map<string, Member>();
  private readonly listeners = new Set<(n: RosterNotice) => void>();
  /** Unverified messages ignored because they named a member whose messages verify. */
  ignoredUnverified = 0;

  constructor(private readonly opts: RosterOptions) {}

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
      if (m.kind === "bot" && msg.opcode !== EXIT) events.push({ kind: "joined", member: m });
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

  /** Remove members silent for longer than ageOutMs. */
  ageOut(now: number): RosterEvent[] {
    const events: RosterEvent[] = [];
    for (const m of [...this.members.values()]) {
      if (now - m.lastHeard > this.opts.ageOutMs) {
        this.members.delete(m.id);
        if (m.kind === "bot") events.push({ kind: "left", member: m, reason: AGED_OUT });
      }
    }
    this.tell(events);
    return events;
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
