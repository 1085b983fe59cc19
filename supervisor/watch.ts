/**
 * The traffic view: what the supervisor shows, as a stream of lines with a kind, kept apart
 * from how they are drawn (console.ts). Pure apart from the injected clock.
 *
 * - Every message received is shown as received; members joining and leaving are events.
 * - A pause (blank line) holds traffic, events and uploads back and shows them, in order, on
 *   resume. Replies to commands, warnings and errors are never held back.
 * - Every heartbeat, members silent for 2 heartbeats are aged out; every 2 heartbeats,
 *   "Channel is quiet..." when nothing arrived (not while paused, as the original).
 * - quiet: only events, uploads, replies, warnings and errors.
 * - Above summaryRate messages per second nobody reads a line per message: traffic is then
 *   summed up once a second on one line (members, joins and leaves, messages per second by
 *   opcode, members by state) while events, replies, uploads, warnings and errors are still
 *   shown; below half that rate for 5 s in a row, every message is shown again. Both switches
 *   are said on screen.
 * - Joins too: beyond eventRate a second (a flood of invented ids), the rest of that second's
 *   joins are counted on one line, and a member whose join had no line of its own leaves without
 *   one too (counted on the same line). A member whose join was shown always has its leave shown.
 */
import type { Clock, TimerId } from "../shared/clock.js";
import type { ChanMessage } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { formatNumber as num, t } from "../shared/i18n.js";
import type { LeaveReason, SeenState } from "../shared/protocol.js";
import type { Source } from "../shared/transport.js";
import type { Member, Roster, RosterEvent } from "./roster.js";
import { LEAVE_REASON_TEXT } from "./web/wire.js";

export type LineKind =
  /** A message from another peer, as received. */
  | "traffic"
  /** A message we sent. */
  | "own"
  /** A member joined or left. */
  | "event"
  /** Upload content and what became of it. */
  | "upload"
  /** Information: start-up, quiet channel. */
  | "notice"
  /** Output of a local command (HELP, WHO). */
  | "reply"
  | "prompt"
  /** The once-a-second traffic summary at high rates (a live line on a terminal). */
  | "summary"
  | "warning"
  | "error"
  /** With a group key: a datagram refused (unsigned, forged, replayed), or an unsigned message
   *  let through by acceptUnsigned: shown apart from verified traffic. */
  | "unverified";

export interface ViewLine {
  kind: LineKind;
  /** Safe to print: whatever came from the network in it went through printable(). */
  text: string;
  opcode?: string;
  state?: SeenState;
  /** "+" joined, "-" left (events). */
  sign?: "+" | "-";
  /** An upload's status code (200, 404...) on its status line. */
  status?: number;
  /** What the line says, as data, for -json (raw values: JSON output escapes them). */
  data?: Record<string, unknown>;
  /** A continuation (upload content, EOF, where it was saved): left out of -json output. */
  more?: boolean;
}

export type Sink = (line: ViewLine) => void;

/** Kinds held back while paused. */
const HELD: ReadonlySet<LineKind> = new Set(["traffic", "own", "event", "upload", "notice", "unverified"]);
/** Kinds -quiet shows. */
const QUIET_SHOWS: ReadonlySet<LineKind> = new Set(["event", "upload", "reply", "prompt", "warning", "error"]);

export interface TrafficViewOptions {
  clock: Clock;
  heartbeatMs: number;
  roster: Roster;
  sink: Sink;
  quiet?: boolean;
  /** Most lines held while paused; older ones are dropped (and counted) beyond it. */
  maxHeld?: number;
  /** Messages per second from which traffic is summed up (default 1000; 0: never). */
  summaryRate?: number;
  /** Joins shown one by one each second (default 100; 0: all). */
  eventRate?: number;
  /** Called once a heartbeat (after the age-out). */
  onTick?: () => void;
  /** Called for each member that leaves (EXIT or aged out). */
  onLeft?: (id: string) => void;
}

/** Seconds below half the summary rate before every message is shown again. */
const CALM_SECONDS = 5;

// Every leave reason of the protocol has its text (a compile error otherwise).
const REASON_TEXT: Readonly<Record<LeaveReason, string>> = LEAVE_REASON_TEXT;

export function reasonText(reason: LeaveReason): string {
  return t(REASON_TEXT[reason]);
}

export function eventLine(ev: RosterEvent): ViewLine {
  const id = printable(ev.member.id);
  switch (ev.kind) {
    case "joined":
      return { kind: "event", sign: "+", text: t("+ {{id}} joined", { id }), data: { joined: ev.member.id } };
    case "left":
      return {
        kind: "event",
        sign: "-",
        text: t("- {{id}} left ({{reason}})", { id, reason: reasonText(ev.reason) }),
        data: { left: ev.member.id, reason: ev.reason },
      };
    case "collision":
      return {
        kind: "warning",
        text: t("Another peer ({{address}}) sends with our id {{id}}", { address: printable(ev.source.address), id }),
      };
  }
}

export class TrafficView {
  private pausedFlag = false;
  private held: ViewLine[] = [];
  private dropped = 0;
  private heard = 0;
  private ticks = 0;
  private timer: TimerId | undefined;
  private readonly maxHeld: number;
  private readonly summaryRate: number;
  private rateTimer: TimerId | undefined;
  /** Summing up traffic instead of printing each message. */
  private summary = false;
  private calmSeconds = 0;
  /** This second's counts: messages by opcode, joins, leaves. */
  private secondCount = 0;
  private byOpcode = new Map<string, number>();
  private joins = 0;
  private leaves = 0;
  private readonly eventRate: number;
  /** This second's joins shown, and joins and leaves counted without a line. */
  private joinsShown = 0;
  private joinsUnshown = 0;
  private leavesUnshown = 0;
  /** Members whose join had a line: their leave gets one too (weak: evicted members go). */
  private readonly announced = new WeakSet<Member>();

  constructor(private readonly opts: TrafficViewOptions) {
    this.maxHeld = opts.maxHeld ?? 10_000;
    this.summaryRate = opts.summaryRate ?? 1000;
    this.eventRate = opts.eventRate ?? 100;
  }

  /** Whether traffic is being summed up (high rate) rather than printed line by line. */
  get summarising(): boolean {
    return this.summary;
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Start the heartbeat checks (age-out, quiet notice). */
  start(): void {
    if (this.timer === undefined) this.schedule();
    if ((this.summaryRate > 0 || this.eventRate > 0) && this.rateTimer === undefined) this.scheduleRate();
  }

  stop(): void {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (this.rateTimer !== undefined) this.opts.clock.clearTimeout(this.rateTimer);
    this.rateTimer = undefined;
  }

  private scheduleRate(): void {
    this.rateTimer = this.opts.clock.setTimeout(() => this.second(), 1000);
  }

  /** Once a second: the joins and leaves not shown one by one; switch to or from the summary,
   *  and show it. */
  private second(): void {
    this.scheduleRate();
    this.showUnshownEvents();
    const rate = this.secondCount;
    if (this.summaryRate > 0) this.switchSummary(rate);
    if (this.summary && !this.pausedFlag) this.show(this.summaryLine(rate));
    this.secondCount = 0;
    this.byOpcode = new Map();
    this.joins = 0;
    this.leaves = 0;
  }

  /** The second's joins and leaves beyond eventRate, on one line; the counts start again. */
  private showUnshownEvents(): void {
    if (this.joinsUnshown > 0 || this.leavesUnshown > 0) {
      this.show({
        kind: "event",
        text: t(
          "+{{joins}} joined, −{{leaves}} left in the last second, without a line each (over {{rate}} joins a second)",
          {
            joins: num(this.joinsUnshown),
            leaves: num(this.leavesUnshown),
            rate: num(this.eventRate),
          },
        ),
        data: { joinedUnshown: this.joinsUnshown, leftUnshown: this.leavesUnshown },
      });
    }
    this.joinsShown = 0;
    this.joinsUnshown = 0;
    this.leavesUnshown = 0;
  }

  /** Into the summary at summaryRate messages a second; out of it after CALM_SECONDS below half. */
  private switchSummary(rate: number): void {
    if (!this.summary && rate >= this.summaryRate) {
      this.summary = true;
      this.calmSeconds = 0;
      this.show({
        kind: "notice",
        text: t(
          "{{rate}} messages/s: too many to print one by one. Showing a summary each second; events, replies, uploads and errors are still printed",
          { rate: num(rate) },
        ),
        data: { summary: "on", rate },
      });
    } else if (this.summary) {
      this.calmSeconds = rate < this.summaryRate / 2 ? this.calmSeconds + 1 : 0;
      if (this.calmSeconds >= CALM_SECONDS) {
        this.summary = false;
        this.show({
          kind: "notice",
          text: t("{{rate}} messages/s: printing every message again", { rate: num(rate) }),
          data: { summary: "off", rate },
        });
      }
    }
  }

  private summaryLine(rate: number): ViewLine {
    const states = { asimov: 0, frankenstein: 0, unknown: 0 };
    let bots = 0;
    for (const m of this.opts.roster.values()) {
      if (m.kind !== "bot") continue;
      bots++;
      states[m.state]++;
    }
    const ops = [...this.byOpcode].sort((a, b) => b[1] - a[1]);
    return {
      kind: "summary",
      text: t(
        "Members {{members}} (+{{joins}} −{{leaves}}), {{rate}} msg/s: {{opcodes}}; Asimov {{asimov}}, Frankenstein {{frankenstein}}, unknown {{unknown}}",
        {
          members: num(this.opts.roster.size),
          joins: num(this.joins),
          leaves: num(this.leaves),
          rate: num(rate),
          opcodes: ops.map(([op, n]) => `${printable(op)} ${num(n)}`).join(", ") || "-",
          asimov: num(states.asimov),
          frankenstein: num(states.frankenstein),
          unknown: num(states.unknown),
        },
      ),
      data: {
        members: this.opts.roster.size,
        bots,
        joins: this.joins,
        leaves: this.leaves,
        rate,
        byOpcode: Object.fromEntries(ops),
        byState: states,
      },
    };
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimeout(() => this.tick(), this.opts.heartbeatMs);
  }

  private tick(): void {
    this.schedule();
    for (const ev of this.opts.roster.ageOut(this.opts.clock.now())) {
      this.leaves++;
      this.showEvent(ev);
      this.opts.onLeft?.(ev.member.id);
    }
    this.opts.onTick?.();
    if (++this.ticks % 2 === 0) {
      if (this.heard === 0 && !this.pausedFlag) this.show({ kind: "notice", text: t("Channel is quiet...") });
      this.heard = 0;
    }
  }

  /** A message from the group. */
  receive(msg: ChanMessage, source: Source): void {
    this.heard++;
    this.secondCount++;
    this.byOpcode.set(msg.opcode, (this.byOpcode.get(msg.opcode) ?? 0) + 1);
    const events = this.opts.roster.observe(msg, source, this.opts.clock.now());
    for (const ev of events) {
      if (ev.kind === "joined") this.joins++;
      else if (ev.kind === "left") this.leaves++;
    }
    for (const ev of events) if (ev.kind !== "left") this.showEvent(ev);
    if (!this.summary) {
      const state = this.opts.roster.get(msg.sender)?.state ?? stateOfExit(events);
      const unverified = msg.verified === false;
      this.show({
        kind: unverified ? "unverified" : "traffic",
        text: unverified ? t("(unsigned) {{text}}", { text: printable(msg.text) }) : printable(msg.text),
        opcode: msg.opcode,
        ...(unverified ? {} : { state }),
        data: {
          from: `${source.address}:${source.port}`,
          sender: msg.sender,
          seq: msg.seq,
          opcode: msg.opcode,
          dest: msg.dest,
          words: msg.words,
          tags: msg.tags,
        },
      });
    }
    for (const ev of events) {
      if (ev.kind !== "left") continue;
      this.showEvent(ev);
      this.opts.onLeft?.(ev.member.id);
    }
  }

  /** A join, leave or collision: shown, or counted when joins come faster than eventRate. */
  private showEvent(ev: RosterEvent): void {
    if (this.eventRate > 0) {
      if (ev.kind === "joined") {
        if (this.joinsShown >= this.eventRate) {
          this.joinsUnshown++;
          return;
        }
        this.joinsShown++;
        this.announced.add(ev.member);
      } else if (ev.kind === "left" && !this.announced.has(ev.member)) {
        this.leavesUnshown++;
        return;
      }
    }
    this.show(eventLine(ev));
  }

  /** A datagram the group key refused (the supervisor shows it apart, or hides it). */
  refused(reason: string, text: string, source: Source): void {
    this.show({
      kind: "unverified",
      text: t("refused ({{reason}}) from {{address}}: {{text}}", {
        reason,
        address: printable(source.address),
        text: printable(text),
      }),
    });
  }

  /** A message we sent (the original's supervisor saw its own commands come back). */
  sent(text: string, opcode: string): void {
    this.show({ kind: "own", text: printable(text), opcode, data: { sent: text } });
  }

  /** Show a line now, or hold it while paused; -quiet filters here. */
  show(line: ViewLine): void {
    if (this.opts.quiet && !QUIET_SHOWS.has(line.kind)) return;
    if (this.pausedFlag && HELD.has(line.kind)) {
      this.held.push(line);
      if (this.held.length > this.maxHeld) {
        this.held.shift();
        this.dropped++;
      }
      return;
    }
    this.opts.sink(line);
  }

  /** Blank line: pause or resume. Returns whether now paused. */
  togglePause(): boolean {
    if (!this.pausedFlag) {
      this.pausedFlag = true;
      this.opts.sink({
        kind: "prompt",
        text: t("Paused: traffic is held until the next blank line. Command: OPCODE bot ..."),
        data: { paused: true },
      });
      return true;
    }
    this.pausedFlag = false;
    this.opts.sink({
      kind: "notice",
      text: t("Resumed: {{held}} held lines follow", { held: this.held.length }),
      data: { paused: false, held: this.held.length },
    });
    if (this.dropped > 0) {
      this.opts.sink({
        kind: "warning",
        text: t("{{count}} lines were dropped while paused", { count: this.dropped }),
      });
      this.dropped = 0;
    }
    const held = this.held;
    this.held = [];
    for (const line of held) this.opts.sink(line);
    return false;
  }

  /** Lines held back by the pause. */
  get heldCount(): number {
    return this.held.length;
  }
}

function stateOfExit(events: RosterEvent[]): SeenState | undefined {
  for (const ev of events) if (ev.kind === "left") return ev.member.state;
  return undefined;
}
