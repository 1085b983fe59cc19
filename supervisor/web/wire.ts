/**
 * What the web server sends the page (and the page sends back), as types and constants with no
 * imports, so the server (Node) and the page's script (browser) compile against the same file.
 */

/** The member states the page knows; "unknown" is a bot of the original, which sends none. */
export type BotState = "asimov" | "frankenstein" | "unknown";
export type MemberKind = "bot" | "supervisor";

export interface Counters {
  /** Messages repaired by the reliability layer (RSND), since start. */
  repaired: number;
  /** Malformed datagrams dropped, since start. */
  invalid: number;
  /** Reliability control messages received (NACK/RSND/SKIP/LAST), since start. */
  control: number;
  /** Uploads being received now. */
  uploadsInProgress: number;
}

export interface StateCounts {
  members: number;
  bots: number;
  asimov: number;
  frankenstein: number;
  /** Bots whose state we do not know (the original's send none). */
  unknown: number;
  supervisors: number;
  ours: number;
  original: number;
}

/** One batch interval: counts over dt milliseconds ending at t (wall clock, ms). */
export interface SeriesPoint {
  t: number;
  dt: number;
  /** Messages received by opcode (CHART_OPCODES and "other"). */
  byOpcode: Record<string, number>;
  messages: number;
  control: number;
  repaired: number;
  invalid: number;
  joins: number;
  leaves: number;
  members: number;
}

export interface TimelineEntry {
  /** Increasing number, so the page can tell new entries from old. */
  n: number;
  /** Wall-clock ms. */
  at: number;
  kind: TimelineKind;
  /** The member concerned (kill: the destination), printable. */
  id: string;
  /** leave: why (aged-out, killed, lifespan, signal, exit); turn: the new state. */
  reason?: string;
  /** kill: who sent it (printable). */
  by?: string;
}

export interface UploadSummary {
  n: number;
  at: number;
  from: string;
  botId: string | undefined;
  file: string | undefined;
  status: string;
  code: number | undefined;
  bytes: number;
  truncated: boolean;
  timedOut: boolean;
  interrupted: boolean;
  savedAs: string | undefined;
  saveError: string | undefined;
}

export interface UploadView extends UploadSummary {
  /** The content as printable lines (at most maxUploadView bytes of it). */
  lines: string[];
  /** More was received than the page keeps. */
  cut: boolean;
}

/** An upload under way: who sends it, what, and how many bytes have come so far. */
export interface UploadingView {
  from: string;
  botId?: string;
  file?: string;
  bytes: number;
}

export interface Batch {
  t: number;
  point: SeriesPoint;
  counts: StateCounts;
  uploadsInProgress: number;
  /** The first uploads under way (at most 50). */
  uploading: UploadingView[];
  /** Upload connections refused so far (nobody asked, busy, no status line...). */
  uploadsRefused: number;
  timeline: TimelineEntry[];
  uploads: UploadSummary[];
  /** Changes whenever the roster may have changed: the page re-asks for its rows. */
  rosterVersion: number;
  /** Timeline entries and uploads forgotten so far (the bounds at work). */
  dropped: { timeline: number; uploads: number };
}

export interface Snapshot {
  batchMs: number;
  history: SeriesPoint[];
  timeline: TimelineEntry[];
  uploads: UploadSummary[];
  counts: StateCounts;
  uploadsInProgress: number;
  uploading: UploadingView[];
  uploadsRefused: number;
  rosterVersion: number;
}

export interface RosterRow {
  id: string;
  kind: MemberKind;
  address: string;
  port: number;
  state: BotState;
  /** ms since first heard. */
  sinceMs: number;
  /** ms since last heard. */
  silentMs: number;
  messages: number;
  discoveries: number;
  ours: boolean;
}

export interface RosterPage {
  /** Members matching the filters. */
  total: number;
  /** Members in all. */
  all: number;
  offset: number;
  rows: RosterRow[];
}

/** Opcodes charted one by one; any other (the original may send its own) counts as "other". */
export const CHART_OPCODES = ["BEAT", "NEWS", "EXIT", "PING", "UPLD", "KILL", "RSET"] as const;
export const OTHER_OPCODE = "other";

export type TimelineKind = "join" | "leave" | "kill" | "turn" | "collision";

export const SORT_KEYS = [
  "id",
  "kind",
  "address",
  "state",
  "firstHeard",
  "lastHeard",
  "messages",
  "discoveries",
  "ours",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export const MAX_PAGE = 500;

export interface CommandOutcome {
  dest: string;
  seq?: number;
  error?: string;
}

/** The first event of a stream (and after a stream fell behind): everything so far. */
export interface Hello extends Snapshot {
  about: Record<string, string | number>;
}

/** Marks an English catalogue key for extraction; this file is also compiled for the page, so it
 *  cannot import shared/i18n.ts. */
const N_ = <S extends string>(s: S): S => s;

/** How a member left, as people read it (catalogue keys): the console (watch.ts) and the page
 *  each translate it in their own language. */
export const LEAVE_REASON_TEXT = {
  "aged-out": N_("aged out"),
  killed: N_("killed"),
  lifespan: N_("lifespan over"),
  signal: N_("stopped by a signal"),
  exit: N_("exit"),
} as const;

/** The catalogue key for a leave reason; anything unknown reads as a plain exit. */
export function leaveReasonKey(reason: string | undefined): string {
  return reason !== undefined && Object.hasOwn(LEAVE_REASON_TEXT, reason)
    ? LEAVE_REASON_TEXT[reason as keyof typeof LEAVE_REASON_TEXT]
    : LEAVE_REASON_TEXT.exit;
}
