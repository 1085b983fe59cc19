/**
 * The supervisor's logic, independent of the console and of real sockets: it watches a
 * GroupChannel (traffic view, roster, access and error logs), runs typed command lines, reports
 * uploads, and knows when a script's requests have been answered. main.ts wires it to the
 * real channel, the upload server, the console and the process.
 */
import type { GroupChannel } from "../shared/channel.js";
import type { Clock, TimerId } from "../shared/clock.js";
import { formatBody, formatLine } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { N_, formatNumber as num, t } from "../shared/i18n.js";
import { type RefuseReason, refusedSummary } from "../shared/keys/auth.js";
import type { Logger } from "../shared/log.js";
import { ASIMOV, ageOutMs, FRANKENSTEIN, UPLD, WILDCARD } from "../shared/protocol.js";
import type { Source } from "../shared/transport.js";
import { type Command, destNoteText, helpLines, parseCommand, type WhoFilter } from "./commands.js";
import { type RequestReport, Requests } from "./requests.js";
import { type Member, Roster } from "./roster.js";
import type { Refusal, RefusalReason, StatusInfo, Upload, UploadServer } from "./upload_server.js";
import { type Sink, TrafficView } from "./watch.js";

export interface SupervisorOptions {
  channel: GroupChannel;
  clock: Clock;
  /** Seconds, as in the config. */
  heartbeat: number;
  backoff: number;
  /** File UPLD asks for by default. */
  results: string;
  pktSize: number;
  /** Port of our upload server, sent as port= on UPLD. */
  uploadPort: number;
  sink: Sink;
  quiet?: boolean;
  /** Seconds an upload may take to come after backoff (config uploadWait, default 15). */
  uploadWait?: number;
  /** Most roster members (default 20,000). */
  maxMembers?: number;
  /** Most rows WHO prints (default 50). */
  whoRows?: number;
  /** Messages per second above which traffic is summed up on one line (0: never; default 1000). */
  summaryRate?: number;
  /** Joins shown one by one each second; the rest are counted on one line (0: all; default 100). */
  eventRate?: number;
  /** Uploads under way at the upload server (for the end of a script). */
  uploadsInProgress?: () => number;
  /** One line per valid message (received or sent), when the access log is on. */
  accessLog?: (line: string) => void;
  /** One line per malformed datagram, when the error log is on. */
  errorLog?: (line: string) => void;
  /** Wall-clock time for log lines. */
  wallClock?: () => Date;
  logger?: Logger;
  /** We hold a group key: WHO says which members verify and counts refused datagrams. */
  keyed?: boolean;
  /** Do not show refused datagrams (they are still counted and written to the error log). */
  hideUnverified?: boolean;
}

/** After the last PING or KILL, how long past `backoff` answers are still counted. */
const ANSWER_GRACE_MS = 1000;
const SETTLE_POLL_MS = 50;
/** Lines of one upload printed (the rest is counted; the file has it all). */
const MAX_SHOWN_LINES = 200;
/** Refused uploads shown one by one per heartbeat; the rest are summed up. */
const REFUSALS_SHOWN = 3;

/** Exit statuses of a script (piped input); README lists them. */
export const EXIT_OK = 0;
/** A line was refused (unknown command, bad destination...): nothing was sent for it. */
export const EXIT_REFUSED_LINE = 3;
/** What an upload's error status means, for people: the status line itself is the wire's and stays
 *  as the bot sent it (`403 Forbidden ID:FILE`), so the reader gets its meaning in their language. */
const STATUS_MEANING: Readonly<Record<number, string>> = {
  403: N_("refused: the file is outside the bot's working directory"),
  404: N_("the bot has no such file or directory"),
  500: N_("the bot cannot read it"),
  505: N_("neither a file nor a directory"),
};

/** A requested upload did not arrive, or came with an error status (403, 404, 500, 505). */
export const EXIT_UPLOAD_MISSING = 4;

export class Supervisor {
  readonly roster: Roster;
  readonly view: TrafficView;
  readonly requests: Requests;
  private requestTimer: TimerId | undefined;
  private readonly sentListeners = new Set<
    (opcode: string, dest: string, args: readonly string[], seq: number) => void
  >();
  /** Lines refused (errors): a script then exits non-zero. */
  refusedLines = 0;
  /** Upload connections refused, by reason, since the start and since the last summary. */
  readonly refusals: Record<RefusalReason, number> = { unexpected: 0, empty: 0, "no-status": 0, evicted: 0, busy: 0 };
  private refusalsUnshown: Record<RefusalReason, number> = {
    unexpected: 0,
    empty: 0,
    "no-status": 0,
    evicted: 0,
    busy: 0,
  };
  private refusalsShown = 0;
  private readonly wall: () => Date;
  private inProgress: (() => number) | undefined;

  constructor(private readonly opts: SupervisorOptions) {
    const heartbeatMs = opts.heartbeat * 1000;
    this.inProgress = opts.uploadsInProgress;
    this.wall = opts.wallClock ?? (() => new Date());
    this.roster = new Roster({
      ageOutMs: ageOutMs(heartbeatMs),
      selfId: () => opts.channel.id,
      maxMembers: opts.maxMembers,
    });
    this.requests = new Requests({
      backoffMs: opts.backoff * 1000,
      graceMs: ANSWER_GRACE_MS,
      uploadWaitMs: (opts.uploadWait ?? 15) * 1000,
    });
    this.view = new TrafficView({
      clock: opts.clock,
      heartbeatMs,
      roster: this.roster,
      sink: opts.sink,
      quiet: opts.quiet,
      summaryRate: opts.summaryRate,
      eventRate: opts.eventRate,
      onTick: () => this.showRefusals(),
      onLeft: (id) => this.showReports(this.requests.left(id, opts.clock.now())),
    });
    opts.channel.on("message", (msg, source) => {
      opts.accessLog?.(`${this.stamp()} ${where(source)} ${printable(msg.text)}`);
      this.view.receive(msg, source);
      this.showReports(this.requests.heard(msg.sender, msg.opcode, opts.clock.now()));
    });
    opts.channel.on("invalid", (reason, text, source) => {
      // Floods of malformed datagrams come this way: build the lines only for who reads them.
      const debug = opts.logger?.isLevelEnabled("debug") ? opts.logger : undefined;
      if (!debug && !opts.errorLog) return;
      const safe = printable(text);
      debug?.debug({ reason, text: safe, from: where(source) }, t("malformed datagram dropped"));
      opts.errorLog?.(`${this.stamp()} ${where(source)} ${reason} "${safe}"`);
    });
    opts.channel.on("refused", (reason, text, source) => {
      this.refused[reason] = (this.refused[reason] ?? 0) + 1;
      const safe = printable(text);
      opts.logger?.debug({ reason, text: safe, from: where(source) }, t("refused datagram dropped"));
      opts.errorLog?.(`${this.stamp()} ${where(source)} ${reason} "${safe}"`);
      if (!opts.hideUnverified) this.view.refused(reason, text, source);
    });
    opts.channel.on("warning", (err) => opts.logger?.warn(err.message));
  }

  /** With a group key: datagrams refused so far, by reason. */
  readonly refused: Partial<Record<RefuseReason, number>> = {};

  private keyStats(): KeyStats | undefined {
    return this.opts.keyed ? { refused: this.refused, ignored: this.roster.ignoredUnverified } : undefined;
  }

  start(): void {
    this.view.start();
  }

  stop(): void {
    this.view.stop();
    if (this.requestTimer !== undefined) this.opts.clock.clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
  }

  private stamp(): string {
    return this.wall().toISOString();
  }

  /** Show a reply line (never held back by the pause). */
  private reply(text: string, data?: Record<string, unknown>): void {
    this.opts.sink(data ? { kind: "reply", text, data } : { kind: "reply", text });
  }

  private error(text: string): void {
    this.refusedLines++;
    this.opts.sink({ kind: "error", text });
  }

  /**
   * Run one line typed (interactive) or read from a script. A blank line toggles the pause when
   * interactive, and is ignored in a script. Resolves "quit" when asked to leave.
   */
  async run(line: string, interactive: boolean): Promise<"quit" | undefined> {
    return this.execute(this.parse(line), interactive);
  }

  private parse(line: string): Command {
    return parseCommand(line, {
      measure: (opcode, dest, args) => this.opts.channel.measure(opcode, dest, args),
      pktSize: this.opts.pktSize,
      results: this.opts.results,
      uploadPort: this.opts.uploadPort,
      resolve: (typed) => this.roster.resolve(typed),
    });
  }

  /**
   * Send one group command given elsewhere than the console (the web page), exactly as if it had
   * been typed; local commands (WHO, WAIT...) are refused. Returns the sequence number, or the
   * translated reason nothing was sent.
   */
  command(line: string): { seq: number } | { error: string } {
    const cmd = this.parse(line);
    if (cmd.kind === "error") return { error: cmd.message };
    if (cmd.kind !== "send") return { error: t("Only PING, UPLD, KILL and RSET can be sent from here") };
    if (cmd.note) this.showNote(cmd);
    const seq = this.send(cmd.opcode, cmd.dest, cmd.args);
    return seq === undefined ? { error: t("The command is too large for one datagram; nothing was sent") } : { seq };
  }

  /** Hear every command we send (from the console, a script or the web page). */
  onSent(listener: (opcode: string, dest: string, args: readonly string[], seq: number) => void): () => void {
    this.sentListeners.add(listener);
    return () => this.sentListeners.delete(listener);
  }

  /** Say that a destination was completed from a prefix, or that nobody has heard it. */
  private showNote(cmd: Extract<Command, { kind: "send" }>): void {
    const note = cmd.note;
    if (!note) return;
    this.opts.sink({
      kind: note.kind === "unknown" ? "warning" : "reply",
      text: destNoteText(cmd.opcode, note),
      data: { note: note.kind, dest: cmd.dest, ...(note.kind === "unknown" ? { suggestions: note.suggestions } : {}) },
    });
  }

  private async execute(cmd: Command, interactive: boolean): Promise<"quit" | undefined> {
    switch (cmd.kind) {
      case "empty":
        if (interactive) this.view.togglePause();
        return undefined;
      case "help":
        for (const l of helpLines(this.opts.results)) this.reply(l);
        return undefined;
      case "who":
        for (const l of rosterLines(this.roster.list(), this.opts.clock.now(), {
          filter: cmd.filter,
          maxRows: this.opts.whoRows,
          evicted: this.roster.evicted,
          capacity: this.roster.capacity,
          keys: this.keyStats(),
        }))
          this.reply(l);
        return undefined;
      case "wait":
        await this.sleep(cmd.seconds * 1000);
        return undefined;
      case "quit":
        return "quit";
      case "error":
        this.error(cmd.message);
        return undefined;
      case "send":
        this.showNote(cmd);
        this.send(cmd.opcode, cmd.dest, cmd.args);
        return undefined;
    }
  }

  private send(opcode: string, dest: string, args: string[]): number | undefined {
    let seq: number | undefined;
    try {
      seq = this.opts.channel.send(opcode, dest, args);
    } catch {
      seq = undefined;
    }
    if (seq === undefined) {
      this.error(t("The command is too large for one datagram; nothing was sent"));
      return undefined;
    }
    const text = formatLine(this.opts.channel.id, seq, formatBody(opcode, dest, args));
    this.opts.accessLog?.(`${this.stamp()} sent ${printable(text)}`);
    this.view.sent(text, opcode);
    const now = this.opts.clock.now();
    const expected = dest === WILDCARD ? this.roster.botIds() : [dest];
    this.showReports(this.requests.sent(opcode, dest, opcode === UPLD ? args[0] : undefined, expected, now));
    this.armRequests();
    for (const l of this.sentListeners) l(opcode, dest, args, seq);
    return seq;
  }

  /**
   * Take uploads from this server: only those we asked for are accepted; each is shown, and
   * refused connections are counted. uploadsInProgress defaults to its count.
   */
  attachUploads(server: UploadServer): void {
    server.accept = (info) => this.acceptUpload(info);
    server.on("upload", (u) => this.onUpload(u));
    server.on("refused", (r) => this.onRefused(r));
    this.inProgress ??= () => server.inProgress;
  }

  /** Whether the upload server should take an upload (one we asked for). */
  acceptUpload(info: StatusInfo): boolean {
    const ok = this.requests.acceptUpload(info.botId, info.file, info.code, this.opts.clock.now());
    return ok;
  }

  /** An upload connection the server closed without an upload: counted; a few are shown. */
  onRefused(r: Refusal): void {
    this.refusals[r.reason]++;
    const loud = r.reason === "unexpected" || r.reason === "busy";
    if (loud && this.refusalsShown < REFUSALS_SHOWN) {
      this.refusalsShown++;
      this.view.show({
        kind: "warning",
        text:
          r.reason === "busy"
            ? t("Upload server full: refused a connection from {{address}}", { address: printable(r.from.address) })
            : t("Refused an upload nobody asked for from {{address}}: {{status}}", {
                address: printable(r.from.address),
                status: printable(r.status ?? ""),
              }),
        data: { refused: r.reason, from: r.from.address, status: r.status },
      });
      return;
    }
    this.refusalsUnshown[r.reason]++;
  }

  /** Once a heartbeat: sum up the refused upload connections not shown one by one. */
  private showRefusals(): void {
    this.refusalsShown = 0;
    const u = this.refusalsUnshown;
    const total = u.unexpected + u.empty + u["no-status"] + u.evicted + u.busy;
    if (total === 0) return;
    this.refusalsUnshown = { unexpected: 0, empty: 0, "no-status": 0, evicted: 0, busy: 0 };
    this.view.show({
      kind: "warning",
      text: t(
        "Upload server refused {{total}} more connections: {{unexpected}} not asked for, {{busy}} when full, {{noStatus}} without a status line, {{evicted}} closed to make room, {{empty}} empty",
        { total, unexpected: u.unexpected, busy: u.busy, noStatus: u["no-status"], evicted: u.evicted, empty: u.empty },
      ),
      data: { refused: { ...u } },
    });
  }

  private armRequests(): void {
    if (this.requestTimer !== undefined) this.opts.clock.clearTimeout(this.requestTimer);
    this.requestTimer = undefined;
    const at = this.requests.nextDue(this.opts.clock.now());
    if (at === undefined) return;
    this.requestTimer = this.opts.clock.setTimeout(
      () => {
        this.requestTimer = undefined;
        this.showReports(this.requests.due(this.opts.clock.now()));
        this.armRequests();
      },
      Math.max(0, at - this.opts.clock.now()),
    );
  }

  private showReports(reports: RequestReport[]): void {
    for (const r of reports) {
      const { text, data } = reportLine(r);
      this.reply(text, data);
    }
  }

  /** Show an upload: its first lines as received, EOF after a status line alone, what was saved. */
  onUpload(u: Upload): void {
    const who = printable(u.botId ?? u.from.address);
    const data = {
      upload: {
        from: u.from.address,
        botId: u.botId,
        file: u.file,
        code: u.code,
        bytes: u.bytes,
        lines: u.lines,
        savedAs: u.savedAs,
        truncated: u.truncated,
        timedOut: u.timedOut,
        overtime: Boolean(u.overtime),
        interrupted: Boolean(u.interrupted),
      },
    };
    this.showReports(this.requests.due(this.opts.clock.now()));
    if (u.bytes === 0) {
      this.view.show({
        kind: "warning",
        text: t("Empty upload from {{address}}", { address: printable(u.from.address) }),
        data,
      });
      return;
    }
    let lines = u.head.toString("utf8").split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    if (lines.length > MAX_SHOWN_LINES) lines = lines.slice(0, MAX_SHOWN_LINES);
    // The preview may end in the middle of a line: that line is shown as far as it came.
    const condensed = this.view.summarising;
    if (condensed) {
      this.view.show({
        kind: "upload",
        text: t("Upload from {{who}}: {{status}} ({{lines}} lines, {{bytes}} bytes)", {
          who,
          status: printable(u.status),
          lines: num(u.lines),
          bytes: num(u.bytes),
        }),
        status: u.code,
        data,
      });
    } else {
      lines.forEach((text, i) => {
        this.view.show(
          i === 0
            ? { kind: "upload", text: printable(text), status: u.code, data }
            : { kind: "upload", text: printable(text), more: true },
        );
      });
      if (u.lines > lines.length) {
        this.view.show({
          kind: "upload",
          text: t("(… {{more}} more lines not shown, {{bytes}} bytes in all)", {
            more: num(u.lines - lines.length),
            bytes: num(u.bytes),
          }),
          more: true,
        });
      }
      const meaning = u.code === undefined ? undefined : STATUS_MEANING[u.code];
      if (meaning !== undefined) this.view.show({ kind: "upload", text: `(${t(meaning)})`, more: true });
      if (u.lines === 1) this.view.show({ kind: "upload", text: t("EOF"), more: true });
    }
    if (u.truncated) {
      this.view.show({
        kind: "warning",
        text: t("The upload from {{who}} was larger than {{max}} bytes and was cut off", { who, max: u.bytes }),
      });
    }
    if (u.timedOut) {
      this.view.show({ kind: "warning", text: t("The upload from {{who}} stalled and was cut off", { who }) });
    }
    if (u.overtime) {
      this.view.show({
        kind: "warning",
        text: t("The upload from {{who}} took longer than the upload deadline and was cut off", { who }),
      });
    }
    if (u.interrupted) {
      this.view.show({
        kind: "warning",
        text: t("The upload from {{who}} was still arriving at shutdown and was cut off", { who }),
      });
    }
    if (u.notSavedFull) {
      this.view.show({
        kind: "warning",
        text: t(
          "The upload from {{who}} was not saved: the most uploads saved in one run (maxUploadFiles) were saved already",
          {
            who,
          },
        ),
      });
    }
    if (u.savedAs && !condensed) {
      this.view.show({ kind: "upload", text: t("(saved as {{path}})", { path: printable(u.savedAs) }), more: true });
    }
    if (u.saveError) {
      this.view.show({
        kind: "warning",
        text: t("Could not save the upload from {{who}}: {{error}}", { who, error: printable(u.saveError.message) }),
      });
    }
  }

  /** Whether everything asked for has had its chance to arrive. */
  private answered(now: number): boolean {
    if ((this.inProgress?.() ?? 0) > 0) return false;
    this.showReports(this.requests.due(now));
    return this.requests.pending === 0;
  }

  /**
   * End of a script: wait (at most maxWaitMs) until uploads and answers are in, then report
   * what is still missing and a tally. Returns the script's exit status.
   */
  async settle(maxWaitMs: number): Promise<number> {
    const end = this.opts.clock.now() + maxWaitMs;
    for (;;) {
      const now = this.opts.clock.now();
      if (this.answered(now) || now >= end) break;
      await this.sleep(Math.min(SETTLE_POLL_MS, end - now));
    }
    this.showReports(this.requests.closeAll(this.opts.clock.now()));
    this.showRefusals();
    const tt = this.requests.totals;
    if (tt.uploadsAsked > 0 || this.refusedLines > 0) {
      this.reply(
        t(
          "Done. Lines refused: {{refused}}; uploads asked: {{asked}}, received: {{received}}, with an error status: {{failed}}, missing: {{missing}}",
          {
            refused: num(this.refusedLines),
            asked: num(tt.uploadsAsked),
            received: num(tt.uploaded),
            failed: num(tt.uploadsFailed),
            missing: num(tt.uploadsMissing),
          },
        ),
        { tally: { refusedLines: this.refusedLines, ...tt, refusedConnections: { ...this.refusals } } },
      );
    }
    return this.exitCode();
  }

  /** The exit status a script ends with (see EXIT_*). */
  exitCode(): number {
    if (this.refusedLines > 0) return EXIT_REFUSED_LINE;
    const tt = this.requests.totals;
    if (tt.uploadsMissing + tt.uploadsFailed > 0) return EXIT_UPLOAD_MISSING;
    return EXIT_OK;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.opts.clock.setTimeout(resolve, ms));
  }
}

/** A request's report: one line and its data for -json. */
export function reportLine(r: RequestReport): { text: string; data: Record<string, unknown> } {
  const q = r.request;
  const dest = q.dest;
  const seconds = Math.round((r.at - q.sentAt) / 100) / 10;
  const expected = q.expected.size;
  const answered = expected - r.missing.length;
  const data: Record<string, unknown> = {
    request: q.opcode,
    dest,
    expected,
    answered,
    missing: r.missing.slice(0, 100),
    left: [...q.gone].slice(0, 100),
    extra: q.extra,
    seconds,
  };
  const some = (ids: string[]): string => ids.slice(0, 10).join(", ") + (ids.length > 10 ? ", …" : "");
  if (dest !== WILDCARD && q.gone.size > 0) {
    return { text: t("{{opcode}} {{dest}}: left the group before answering", { opcode: q.opcode, dest }), data };
  }
  if (dest !== WILDCARD) {
    const ok = r.missing.length === 0;
    switch (q.opcode) {
      case "PING":
        return {
          text: ok
            ? t("PING {{dest}}: answered", { dest })
            : t("PING {{dest}}: no answer after {{seconds}} s", { dest, seconds: num(seconds) }),
          data,
        };
      case "KILL":
        return {
          text: ok
            ? t("KILL {{dest}}: left", { dest })
            : t("KILL {{dest}}: no EXIT after {{seconds}} s", { dest, seconds: num(seconds) }),
          data,
        };
      case "UPLD": {
        if (!ok)
          return { text: t("UPLD {{dest}}: no upload after {{seconds}} s", { dest, seconds: num(seconds) }), data };
        const code = q.failed.get(dest);
        data.failed = Object.fromEntries(q.failed);
        return {
          text: q.failed.has(dest)
            ? t("UPLD {{dest}}: answered with status {{code}}", { dest, code: String(code ?? "?") })
            : t("UPLD {{dest}}: uploaded", { dest }),
          data,
        };
      }
    }
  }
  const parts: string[] = [];
  switch (q.opcode) {
    case "PING":
      parts.push(
        t("PING *: {{answered}} of {{expected}} answered", { answered: num(answered), expected: num(expected) }),
      );
      break;
    case "KILL":
      parts.push(t("KILL *: {{answered}} of {{expected}} left", { answered: num(answered), expected: num(expected) }));
      break;
    case "UPLD": {
      let failed = 0;
      for (const id of q.failed.keys()) if (q.expected.has(id)) failed++;
      data.failed = Object.fromEntries([...q.failed].slice(0, 100));
      parts.push(
        t("UPLD *: {{uploaded}} of {{expected}} uploaded", {
          uploaded: num(answered - failed),
          expected: num(expected),
        }),
      );
      if (failed > 0) parts.push(t("with an error status: {{failed}}", { failed: num(failed) }));
      break;
    }
  }
  if (r.missing.length > 0) parts.push(t("missing: {{ids}}", { ids: some(r.missing) }));
  if (q.gone.size > 0) parts.push(t("left before answering: {{gone}}", { gone: num(q.gone.size) }));
  if (q.extra > 0) parts.push(t("{{extra}} more from bots not heard before", { extra: num(q.extra) }));
  return { text: parts.join("; "), data };
}

function where(s: Source): string {
  return s.address.includes(":") ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** With a group key: what WHO adds (refused datagrams by reason, unverified messages ignored). */
export interface KeyStats {
  refused: Partial<Record<RefuseReason, number>>;
  ignored: number;
}

export interface WhoOptions {
  filter?: WhoFilter;
  /** Most rows printed (default 50): the counts always cover every member. */
  maxRows?: number;
  /** Members evicted because the roster was full, and its capacity. */
  evicted?: number;
  capacity?: number;
  /** With a group key: a SIGNED column and the refused datagrams. */
  keys?: KeyStats;
}

function passes(m: Member, f: WhoFilter | undefined): boolean {
  if (!f) return true;
  if (f.states.length > 0) {
    const s = m.kind === "supervisor" ? "supervisor" : m.state;
    if (!f.states.includes(s)) return false;
  }
  if (f.program !== undefined && (f.program === "ours") !== m.ours) return false;
  if (f.prefixes.length > 0) {
    const id = m.id.toLowerCase();
    if (!f.prefixes.some((p) => id.startsWith(p.toLowerCase()))) return false;
  }
  return true;
}

function filtered(f: WhoFilter | undefined): boolean {
  return f !== undefined && (f.states.length > 0 || f.prefixes.length > 0 || f.program !== undefined);
}

/** WHO: counts of every member first, then a bounded table of the members the filter passes. */
export function rosterLines(members: readonly Member[], now: number, opts: WhoOptions = {}): string[] {
  const out: string[] = [];
  if (opts.evicted) {
    out.push(
      t("The roster is full ({{capacity}} members): {{evicted}} least recently heard were dropped", {
        capacity: opts.capacity ?? members.length,
        evicted: opts.evicted,
      }),
    );
  }
  const refused = opts.keys ? refusedLine(opts.keys) : [];
  if (members.length === 0) return [...out, t("No members heard yet."), ...refused];
  const c = { bots: 0, asimov: 0, frankenstein: 0, unknown: 0, ours: 0 };
  for (const m of members) {
    if (m.ours) c.ours++;
    if (m.kind !== "bot") continue;
    c.bots++;
    c[m.state]++;
  }
  out.push(
    t(
      "Members: {{members}}; bots {{bots}} (Asimov {{asimov}}, Frankenstein {{frankenstein}}, unknown {{unknown}}); supervisors {{supervisors}}; ours {{ours}}, original {{original}}",
      {
        members: num(members.length),
        bots: num(c.bots),
        asimov: num(c.asimov),
        frankenstein: num(c.frankenstein),
        unknown: num(c.unknown),
        supervisors: num(members.length - c.bots),
        ours: num(c.ours),
        original: num(members.length - c.ours),
      },
    ),
  );
  const shown = filtered(opts.filter) ? members.filter((m) => passes(m, opts.filter)) : members;
  if (filtered(opts.filter)) out.push(t("Matching: {{matching}}", { matching: num(shown.length) }));
  if (shown.length === 0) return [...out, ...refused];
  const keys = opts.keys;
  const maxRows = opts.maxRows ?? 50;
  const rows = shown
    .slice(0, maxRows)
    .map((m) => [
      printable(m.id),
      printable(m.address),
      String(m.port),
      t("{{seconds}}s ago", { seconds: Math.max(0, Math.round((now - m.lastHeard) / 1000)) }),
      m.kind === "supervisor"
        ? t("supervisor")
        : m.state === ASIMOV
          ? "Asimov"
          : m.state === FRANKENSTEIN
            ? "Frankenstein"
            : t("unknown"),
      m.kind === "supervisor" ? "-" : String(m.discoveries),
      ...(keys ? [m.verified ? t("yes") : t("no")] : []),
      m.ours ? t("ours") : t("original"),
    ]);
  const head = [
    t("ID"),
    t("ADDRESS"),
    t("PORT"),
    t("HEARD"),
    t("STATE"),
    t("NEWS"),
    ...(keys ? [t("SIGNED")] : []),
    t("PROGRAM"),
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  out.push(fmt(head), ...rows.map(fmt));
  if (shown.length > maxRows) {
    out.push(
      t("… and {{more}} more: narrow the list with filters (WHO frankenstein, WHO 8C*, WHO original)", {
        more: num(shown.length - maxRows),
      }),
    );
  }
  return [...out, ...refused];
}

function refusedLine(keys: KeyStats): string[] {
  const counts = refusedSummary(keys.refused);
  const lines = [counts === "" ? t("Refused datagrams: none") : t("Refused datagrams: {{counts}}", { counts })];
  if (keys.ignored > 0) {
    lines.push(t("Unsigned messages in the name of a signed member, ignored: {{count}}", { count: keys.ignored }));
  }
  return lines;
}
