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
 */
import type { Clock, TimerId } from "../shared/clock.js";
import type { ChanMessage } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import { AGED_OUT, EXIT_UNTAGGED, type LeaveReason, type SeenState } from "../shared/protocol.js";
import type { Source } from "../shared/transport.js";
import type { Roster, RosterEvent } from "./roster.js";

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
}

export function reasonText(reason: LeaveReason): string {
  switch (reason) {
    case AGED_OUT:
      return t("aged out");
    case "killed":
      return t("killed");
    case "lifespan":
      return t("lifespan over");
    case "signal":
      return t("stopped by a signal");
    case EXIT_UNTAGGED:
      return t("exit");
  }
}

export function eventLine(ev: RosterEvent): ViewLine {
  const id = printable(ev.member.id);
  switch (ev.kind) {
    case "joined":
      return { kind: "event", sign: "+", text: t("+ {{id}} joined", { id }) };
    case "left":
      return { kind: "event", sign: "-", text: t("- {{id}} left ({{reason}})", { id, reason: reasonText(ev.reason) }) };
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

  constructor(private readonly opts: TrafficViewOptions) {
    this.maxHeld = opts.maxHeld ?? 10_000;
  }

  get paused(): boolean {
    return this.pausedFlag;
  }

  /** Start the heartbeat checks (age-out, quiet notice). */
  start(): void {
    if (this.timer === undefined) this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimeout(() => this.tick(), this.opts.heartbeatMs);
  }

  private tick(): void {
    this.schedule();
    for (const ev of this.opts.roster.ageOut(this.opts.clock.now())) this.show(eventLine(ev));
    if (++this.ticks % 2 === 0) {
      if (this.heard === 0 && !this.pausedFlag) this.show({ kind: "notice", text: t("Channel is quiet...") });
      this.heard = 0;
    }
  }

  /** A message from the group. */
  receive(msg: ChanMessage, source: Source): void {
    this.heard++;
    const events = this.opts.roster.observe(msg, source, this.opts.clock.now());
    const state = this.opts.roster.get(msg.sender)?.state ?? stateOfExit(events);
    for (const ev of events) if (ev.kind !== "left") this.show(eventLine(ev));
    if (msg.verified === false) {
      this.show({
        kind: "unverified",
        text: t("(unsigned) {{text}}", { text: printable(msg.text) }),
        opcode: msg.opcode,
      });
    } else {
      this.show({ kind: "traffic", text: printable(msg.text), opcode: msg.opcode, state });
    }
    for (const ev of events) if (ev.kind === "left") this.show(eventLine(ev));
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
    this.show({ kind: "own", text: printable(text), opcode });
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
      this.opts.sink({ kind: "prompt", text: t("Command: OPCODE bot ...") });
      return true;
    }
    this.pausedFlag = false;
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
