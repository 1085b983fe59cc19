/**
 * What the web page shows, kept apart from HTTP: the supervisor's events and counters folded
 * into batches (one every batchMs, however many messages arrive), a bounded history of them for
 * a page that opens late, a bounded timeline (joins, leaves with their reason, kills, Frankenstein
 * turns), a bounded list of uploads, and queries over the roster (filter, sort, one page).
 * Pure: times come from the injected clock, counters from a function.
 *
 * Everything taken from the network (ids, addresses, texts, upload lines) goes through
 * printable() here, so the page receives text that is safe to show (it shows it as text too).
 */
import type { Clock } from "../../shared/clock.js";
import type { ChanMessage } from "../../shared/codec.js";
import { printable } from "../../shared/escape.js";
import { KILL, type SeenState } from "../../shared/protocol.js";
import type { Member, RosterNotice } from "../roster.js";
import type { Upload } from "../upload_server.js";
import {
  type Batch,
  CHART_OPCODES,
  type Counters,
  MAX_PAGE,
  OTHER_OPCODE,
  type RosterPage,
  type RosterRow,
  type SeriesPoint,
  type Snapshot,
  SORT_KEYS,
  type SortKey,
  type StateCounts,
  type TimelineEntry,
  type UploadingView,
  type UploadSummary,
  type UploadView,
} from "./wire.js";

export interface RosterSource {
  values(): Iterable<Member>;
  readonly size: number;
}

export interface WebModelOptions {
  clock: Clock;
  /** Wall-clock ms for the page's time axis. */
  wallClock?: () => number;
  roster: RosterSource;
  counters: () => Counters;
  /** Uploads under way now (default: none). */
  uploading?: () => UploadingView[];
  /** Points of history kept for a page that opens late (at batchMs each). */
  historyPoints?: number;
  batchMs?: number;
  maxTimeline?: number;
  maxUploads?: number;
  /** Bytes of each upload kept for viewing on the page. */
  maxUploadView?: number;
}

export const DEFAULT_BATCH_MS = 500;
/** Most timeline entries one batch carries (what a page shows). */
export const BATCH_TIMELINE = 500;

function emptyByOpcode(): Record<string, number> {
  const r: Record<string, number> = {};
  for (const op of CHART_OPCODES) r[op] = 0;
  r[OTHER_OPCODE] = 0;
  return r;
}

/** A fixed-size ring: push drops the oldest beyond the limit and counts it. */
class Ring<T> {
  private items: T[] = [];
  dropped = 0;
  constructor(readonly limit: number) {}
  push(item: T): void {
    this.items.push(item);
    // Trim in chunks so a full ring does not shift on every push.
    if (this.items.length > this.limit * 1.25) {
      const excess = this.items.length - this.limit;
      this.items = this.items.slice(excess);
      this.dropped += excess;
    }
  }
  /** The newest `limit` items, oldest first. */
  all(): T[] {
    return this.items.length > this.limit ? this.items.slice(this.items.length - this.limit) : [...this.items];
  }
  get droppedCount(): number {
    return this.dropped + Math.max(0, this.items.length - this.limit);
  }
}

interface StoredUpload {
  summary: UploadSummary;
  data: Buffer;
}

export class WebModel {
  readonly batchMs: number;
  private readonly wall: () => number;
  private byOpcode = emptyByOpcode();
  private messages = 0;
  private joins = 0;
  private leaves = 0;
  private last: Counters;
  private lastAt: number;
  private rosterVersion = 0;
  private timelineN = 0;
  private uploadN = 0;
  private refusedUploads = 0;
  private readonly history: Ring<SeriesPoint>;
  private readonly timeline: Ring<TimelineEntry>;
  private readonly uploads: Ring<StoredUpload>;
  private pendingTimeline: TimelineEntry[] = [];
  private pendingUploads: UploadSummary[] = [];
  private readonly maxUploadView: number;

  constructor(private readonly opts: WebModelOptions) {
    this.batchMs = opts.batchMs ?? DEFAULT_BATCH_MS;
    this.wall = opts.wallClock ?? (() => Date.now());
    this.history = new Ring(opts.historyPoints ?? 600);
    this.timeline = new Ring(opts.maxTimeline ?? 2000);
    this.uploads = new Ring(opts.maxUploads ?? 100);
    this.maxUploadView = opts.maxUploadView ?? 256 * 1024;
    this.last = opts.counters();
    this.lastAt = opts.clock.now();
  }

  /** A message from the group (after the roster has seen it). */
  message(msg: ChanMessage): void {
    this.messages++;
    this.rosterVersion++;
    const op = (CHART_OPCODES as readonly string[]).includes(msg.opcode) ? msg.opcode : OTHER_OPCODE;
    this.byOpcode[op] = (this.byOpcode[op] ?? 0) + 1;
    if (msg.opcode === KILL) this.kill(msg.dest, msg.sender);
  }

  /** A KILL on the group, or one we sent. */
  kill(dest: string, by: string): void {
    this.addTimeline({ kind: "kill", id: printable(dest), by: printable(by) });
  }

  /** A roster event or state change. */
  roster(n: RosterNotice): void {
    this.rosterVersion++;
    const id = printable(n.member.id);
    switch (n.kind) {
      case "joined":
        this.joins++;
        this.addTimeline({ kind: "join", id });
        return;
      case "left":
        this.leaves++;
        this.addTimeline({ kind: "leave", id, reason: n.reason });
        return;
      case "state":
        if (n.to === "frankenstein") this.addTimeline({ kind: "turn", id, reason: n.to });
        return;
      case "collision":
        this.addTimeline({ kind: "collision", id, by: printable(n.source.address) });
        return;
    }
  }

  /** An upload connection the upload server refused. */
  uploadRefused(): void {
    this.refusedUploads++;
  }

  upload(u: Upload): void {
    const summary: UploadSummary = {
      n: ++this.uploadN,
      at: this.wall(),
      from: printable(u.from.address),
      botId: u.botId === undefined ? undefined : printable(u.botId),
      file: u.file === undefined ? undefined : printable(u.file),
      status: printable(u.status),
      code: u.code,
      bytes: u.bytes,
      truncated: u.truncated,
      timedOut: u.timedOut,
      interrupted: u.interrupted === true,
      savedAs: u.savedAs === undefined ? undefined : printable(u.savedAs),
      saveError: u.saveError === undefined ? undefined : printable(u.saveError.message),
    };
    // Keep a copy of what the page may show, not a view into a buffer of up to maxUpload bytes.
    const data = Buffer.from(u.head.subarray(0, this.maxUploadView));
    this.uploads.push({ summary, data });
    this.pendingUploads.push(summary);
  }

  /** One upload's content for viewing, or undefined when unknown or forgotten. */
  uploadView(n: number): UploadView | undefined {
    const found = this.uploads.all().find((u) => u.summary.n === n);
    if (!found) return undefined;
    const lines = found.data.toString("utf8").split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    return { ...found.summary, lines: lines.map(printable), cut: found.summary.bytes > found.data.length };
  }

  private addTimeline(e: Omit<TimelineEntry, "n" | "at">): void {
    const entry: TimelineEntry = { n: ++this.timelineN, at: this.wall(), ...e };
    this.timeline.push(entry);
    this.pendingTimeline.push(entry);
    // A flood of events between two batches: a batch carries the newest ones only (as many as a
    // page shows); the rest stay in the server's timeline.
    if (this.pendingTimeline.length > 2 * BATCH_TIMELINE) {
      this.pendingTimeline = this.pendingTimeline.slice(-BATCH_TIMELINE);
    }
  }

  counts(): StateCounts {
    const c: StateCounts = {
      members: 0,
      bots: 0,
      asimov: 0,
      frankenstein: 0,
      unknown: 0,
      supervisors: 0,
      ours: 0,
      original: 0,
    };
    for (const m of this.opts.roster.values()) {
      c.members++;
      if (m.ours) c.ours++;
      else c.original++;
      if (m.kind === "supervisor") {
        c.supervisors++;
        continue;
      }
      c.bots++;
      c[m.state]++;
    }
    return c;
  }

  /** Close the current interval: the batch every page receives. */
  flush(): Batch {
    const now = this.opts.clock.now();
    const cur = this.opts.counters();
    const counts = this.counts();
    const point: SeriesPoint = {
      t: this.wall(),
      dt: Math.max(1, now - this.lastAt),
      byOpcode: this.byOpcode,
      messages: this.messages,
      control: Math.max(0, cur.control - this.last.control),
      repaired: Math.max(0, cur.repaired - this.last.repaired),
      invalid: Math.max(0, cur.invalid - this.last.invalid),
      joins: this.joins,
      leaves: this.leaves,
      members: counts.members,
    };
    this.history.push(point);
    this.byOpcode = emptyByOpcode();
    this.messages = 0;
    this.joins = 0;
    this.leaves = 0;
    this.last = cur;
    this.lastAt = now;
    const batch: Batch = {
      t: point.t,
      point,
      counts,
      uploadsInProgress: cur.uploadsInProgress,
      uploading: this.opts.uploading?.() ?? [],
      uploadsRefused: this.refusedUploads,
      timeline: this.pendingTimeline.slice(-BATCH_TIMELINE),
      uploads: this.pendingUploads,
      rosterVersion: this.rosterVersion,
      dropped: { timeline: this.timeline.droppedCount, uploads: this.uploads.droppedCount },
    };
    this.pendingTimeline = [];
    this.pendingUploads = [];
    return batch;
  }

  /** Everything a page that opens now needs before the next batch. */
  snapshot(maxTimeline = 500): Snapshot {
    const timeline = this.timeline.all();
    return {
      batchMs: this.batchMs,
      history: this.history.all(),
      timeline: timeline.slice(-maxTimeline),
      uploads: this.uploads.all().map((u) => u.summary),
      counts: this.counts(),
      uploadsInProgress: this.opts.counters().uploadsInProgress,
      uploading: this.opts.uploading?.() ?? [],
      uploadsRefused: this.refusedUploads,
      rosterVersion: this.rosterVersion,
    };
  }
}

// ---- roster queries ----

export type StateFilter = SeenState | "supervisor" | "";
export type ProgramFilter = "ours" | "original" | "";

export interface RosterQuery {
  sort: SortKey;
  desc: boolean;
  /** Only members in this state ("supervisor": only supervisors); "" for all. */
  state: StateFilter;
  /** Only ids containing this text, ignoring case; "" for all. */
  id: string;
  program: ProgramFilter;
  offset: number;
  /** At most MAX_PAGE. */
  limit: number;
}

/** Read a query from URL parameters; anything unknown or out of range takes its default. */
export function parseRosterQuery(p: URLSearchParams): RosterQuery {
  const sort = p.get("sort") ?? "";
  const state = p.get("state") ?? "";
  const program = p.get("program") ?? "";
  const int = (name: string, def: number, max: number): number => {
    const v = Number(p.get(name));
    return p.has(name) && Number.isInteger(v) && v >= 0 ? Math.min(v, max) : def;
  };
  return {
    sort: (SORT_KEYS as readonly string[]).includes(sort) ? (sort as SortKey) : "id",
    desc: p.get("desc") === "1",
    state: ["asimov", "frankenstein", "unknown", "supervisor"].includes(state) ? (state as StateFilter) : "",
    id: (p.get("id") ?? "").slice(0, 64),
    program: program === "ours" || program === "original" ? program : "",
    offset: int("offset", 0, Number.MAX_SAFE_INTEGER),
    limit: Math.max(1, int("limit", 100, MAX_PAGE)),
  };
}

const STATE_ORDER: Record<SeenState, number> = { frankenstein: 0, asimov: 1, unknown: 2 };

function compare(a: Member, b: Member, key: SortKey): number {
  switch (key) {
    case "id":
      return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
    case "kind":
      return a.kind === b.kind ? 0 : a.kind === "bot" ? -1 : 1;
    case "address":
      return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
    case "state":
      return STATE_ORDER[a.state] - STATE_ORDER[b.state];
    case "firstHeard":
      return a.firstHeard - b.firstHeard;
    case "lastHeard":
      return a.lastHeard - b.lastHeard;
    case "messages":
      return a.messages - b.messages;
    case "discoveries":
      return a.discoveries - b.discoveries;
    case "ours":
      return Number(b.ours) - Number(a.ours);
  }
}

/** One page of the roster: filtered, sorted (ties by id), sliced. */
export function queryRoster(members: Iterable<Member>, q: RosterQuery, now: number): RosterPage {
  const idNeedle = q.id.toLowerCase();
  const matched: Member[] = [];
  let all = 0;
  for (const m of members) {
    all++;
    if (
      q.state === "supervisor" ? m.kind !== "supervisor" : q.state !== "" && (m.kind !== "bot" || m.state !== q.state)
    )
      continue;
    if (q.program === "ours" && !m.ours) continue;
    if (q.program === "original" && m.ours) continue;
    if (idNeedle !== "" && !m.id.toLowerCase().includes(idNeedle)) continue;
    matched.push(m);
  }
  const sign = q.desc ? -1 : 1;
  matched.sort((a, b) => sign * (compare(a, b, q.sort) || compare(a, b, "id")));
  const rows = matched.slice(q.offset, q.offset + Math.min(q.limit, MAX_PAGE)).map(
    (m): RosterRow => ({
      id: printable(m.id),
      kind: m.kind,
      address: printable(m.address),
      port: m.port,
      state: m.state,
      sinceMs: Math.max(0, now - m.firstHeard),
      silentMs: Math.max(0, now - m.lastHeard),
      messages: m.messages,
      discoveries: m.discoveries,
      ours: m.ours,
    }),
  );
  return { total: matched.length, all, offset: q.offset, rows };
}
