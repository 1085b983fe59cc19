/**
 * The supervisor's logic, independent of the console and of real sockets: it watches a
 * GroupChannel (traffic view, roster, access and error logs), runs typed command lines, reports
 * uploads, and knows when a script's requests have been answered. main.ts wires it to the
 * real channel, the upload server, the console and the process.
 */
import type { GroupChannel } from "../shared/channel.js";
import type { Clock } from "../shared/clock.js";
import { formatBody, formatLine } from "../shared/codec.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import { type RefuseReason, refusedSummary } from "../shared/keys/auth.js";
import type { Logger } from "../shared/log.js";
import { ASIMOV, FRANKENSTEIN, PING, UPLD, WILDCARD } from "../shared/protocol.js";
import type { Source } from "../shared/transport.js";
import { type Command, helpLines, parseCommand } from "./commands.js";
import { type Member, Roster } from "./roster.js";
import type { Upload } from "./upload_server.js";
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

/** After the last request, how long past `backoff` a script still waits for answers. */
const ANSWER_GRACE_MS = 1000;
const SETTLE_POLL_MS = 50;

export class Supervisor {
  readonly roster: Roster;
  readonly view: TrafficView;
  /** Bots asked for an upload that has not arrived yet. */
  private readonly awaited = new Set<string>();
  private lastRequestAt = Number.NEGATIVE_INFINITY;
  private readonly wall: () => Date;
  private readonly sentListeners = new Set<
    (opcode: string, dest: string, args: readonly string[], seq: number) => void
  >();

  constructor(private readonly opts: SupervisorOptions) {
    const heartbeatMs = opts.heartbeat * 1000;
    this.wall = opts.wallClock ?? (() => new Date());
    this.roster = new Roster({ ageOutMs: 2 * heartbeatMs, selfId: () => opts.channel.id });
    this.view = new TrafficView({
      clock: opts.clock,
      heartbeatMs,
      roster: this.roster,
      sink: opts.sink,
      quiet: opts.quiet,
    });
    opts.channel.on("message", (msg, source) => {
      opts.accessLog?.(`${this.stamp()} ${where(source)} ${printable(msg.text)}`);
      this.view.receive(msg, source);
    });
    opts.channel.on("invalid", (reason, text, source) => {
      const safe = printable(text);
      opts.logger?.debug({ reason, text: safe, from: where(source) }, "malformed datagram dropped");
      opts.errorLog?.(`${this.stamp()} ${where(source)} ${reason} "${safe}"`);
    });
    opts.channel.on("refused", (reason, text, source) => {
      this.refused[reason] = (this.refused[reason] ?? 0) + 1;
      const safe = printable(text);
      opts.logger?.debug({ reason, text: safe, from: where(source) }, "refused datagram dropped");
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
  }

  private stamp(): string {
    return this.wall().toISOString();
  }

  /** Show a reply line (never held back by the pause). */
  private reply(text: string): void {
    this.opts.sink({ kind: "reply", text });
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
      resolveDest: (typed) => this.roster.find(typed)?.id,
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
    const seq = this.send(cmd.opcode, cmd.dest, cmd.args);
    return seq === undefined ? { error: t("The command is too large for one datagram; nothing was sent") } : { seq };
  }

  /** Hear every command we send (from the console, a script or the web page). */
  onSent(listener: (opcode: string, dest: string, args: readonly string[], seq: number) => void): () => void {
    this.sentListeners.add(listener);
    return () => this.sentListeners.delete(listener);
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
        for (const l of rosterLines(this.roster.list(), this.opts.clock.now(), this.keyStats())) this.reply(l);
        return undefined;
      case "wait":
        await this.sleep(cmd.seconds * 1000);
        return undefined;
      case "quit":
        return "quit";
      case "error":
        this.opts.sink({ kind: "error", text: cmd.message });
        return undefined;
      case "send":
        this.send(cmd.opcode, cmd.dest, cmd.args);
        return undefined;
    }
  }

  private send(opcode: string, dest: string, args: string[]): number | undefined {
    const seq = this.opts.channel.send(opcode, dest, args);
    if (seq === undefined) {
      this.opts.sink({ kind: "error", text: t("The command is too large for one datagram; nothing was sent") });
      return undefined;
    }
    const text = formatLine(this.opts.channel.id, seq, formatBody(opcode, dest, args));
    this.opts.accessLog?.(`${this.stamp()} sent ${printable(text)}`);
    this.view.sent(text, opcode);
    if (opcode === UPLD || opcode === PING) this.lastRequestAt = this.opts.clock.now();
    if (opcode === UPLD) {
      if (dest === WILDCARD) for (const id of this.roster.botIds()) this.awaited.add(id);
      else this.awaited.add(dest);
    }
    for (const l of this.sentListeners) l(opcode, dest, args, seq);
    return seq;
  }

  /** Show an upload: its lines as received, EOF after a status line alone, and what was saved. */
  onUpload(u: Upload): void {
    const who = printable(u.botId ?? u.from.address);
    if (u.botId) this.awaited.delete(u.botId);
    if (u.data.length === 0) {
      this.view.show({
        kind: "warning",
        text: t("Empty upload from {{address}}", { address: printable(u.from.address) }),
      });
      return;
    }
    const lines = u.data.toString("utf8").split(/\r?\n/);
    if (lines.length > 1 && lines[lines.length - 1] === "") lines.pop();
    lines.forEach((text, i) => {
      this.view.show({ kind: "upload", text: printable(text), status: i === 0 ? u.code : undefined });
    });
    if (lines.length === 1) this.view.show({ kind: "upload", text: "EOF" });
    if (u.truncated) {
      this.view.show({
        kind: "warning",
        text: t("The upload from {{who}} was larger than {{max}} bytes and was cut off", {
          who,
          max: u.data.length,
        }),
      });
    }
    if (u.timedOut) {
      this.view.show({ kind: "warning", text: t("The upload from {{who}} stalled and was cut off", { who }) });
    }
    if (u.interrupted) {
      this.view.show({
        kind: "warning",
        text: t("The upload from {{who}} was still arriving at shutdown and was cut off", { who }),
      });
    }
    if (u.savedAs) this.view.show({ kind: "upload", text: t("(saved as {{path}})", { path: printable(u.savedAs) }) });
    if (u.saveError) {
      this.view.show({
        kind: "warning",
        text: t("Could not save the upload from {{who}}: {{error}}", { who, error: printable(u.saveError.message) }),
      });
    }
  }

  /** Whether everything asked for has had its chance to arrive. */
  private answered(now: number): boolean {
    if ((this.opts.uploadsInProgress?.() ?? 0) > 0) return false;
    // Bots that have left since will not upload.
    for (const id of [...this.awaited]) if (!this.roster.get(id)) this.awaited.delete(id);
    if (this.awaited.size > 0) return false;
    // Bots answer `*` after a random wait below backoff.
    return now >= this.lastRequestAt + this.opts.backoff * 1000 + ANSWER_GRACE_MS;
  }

  /** End of a script: wait (at most maxWaitMs) until uploads and answers are in. */
  async settle(maxWaitMs: number): Promise<void> {
    const end = this.opts.clock.now() + maxWaitMs;
    for (;;) {
      const now = this.opts.clock.now();
      if (this.answered(now) || now >= end) return;
      await this.sleep(Math.min(SETTLE_POLL_MS, end - now));
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.opts.clock.setTimeout(resolve, ms));
  }
}

function where(s: Source): string {
  return s.address.includes(":") ? `[${s.address}]:${s.port}` : `${s.address}:${s.port}`;
}

/** With a group key: what WHO adds (refused datagrams by reason, unverified messages ignored). */
export interface KeyStats {
  refused: Partial<Record<RefuseReason, number>>;
  ignored: number;
}

/** WHO: a table of members; with a group key, a SIGNED column and the refused datagrams. */
export function rosterLines(members: readonly Member[], now: number, keys?: KeyStats): string[] {
  const refused = keys ? refusedLine(keys) : [];
  if (members.length === 0) return [t("No members heard yet."), ...refused];
  const head = [t("ID"), t("ADDRESS"), t("HEARD"), t("STATE"), t("NEWS"), ...(keys ? [t("SIGNED")] : []), t("PROGRAM")];
  const rows = members.map((m) => [
    printable(m.id),
    printable(m.address),
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
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] as number)))
      .join("  ")
      .trimEnd();
  const bots = members.filter((m) => m.kind === "bot").length;
  return [
    fmt(head),
    ...rows.map(fmt),
    t("Bots: {{bots}}, supervisors: {{others}}", { bots, others: members.length - bots }),
    ...refused,
  ];
}

function refusedLine(keys: KeyStats): string[] {
  const counts = refusedSummary(keys.refused);
  const lines = [counts === "" ? t("Refused datagrams: none") : t("Refused datagrams: {{counts}}", { counts })];
  if (keys.ignored > 0) {
    lines.push(t("Unsigned messages in the name of a signed member, ignored: {{count}}", { count: keys.ignored }));
  }
  return lines;
}
