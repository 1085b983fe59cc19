/**
 * A bot host: many DNABots in one process, each a full, unchanged `Bot` state machine with its
 * own id, sequence numbers, results file, state, timers and lifespan, indistinguishable on the
 * wire from a standalone `node dnabot`.
 *
 * Underneath is one multi-sender endpoint (shared/: one socket, one parse, one reliability layer
 * per process, emitting each message once) and the Dispatcher (dispatch.ts), which hands each
 * message only to the bots it concerns. Each bot talks to a HostedChannel: a GroupChannel whose
 * sending side is the endpoint's sender for that bot (`openSender(id)`: own id, sequence, held
 * copies, LAST, linger) and whose receiving side is fed by the dispatcher.
 *
 * Pure of I/O: the endpoint, clock, files, uploads and loggers are injected (host_main.ts wires
 * the real ones), so a test runs a host of many bots on the in-memory network.
 */
import { EventEmitter } from "node:events";
import type { Logger } from "pino";
import type { ChannelEvents, ChannelStats, GroupChannel } from "../shared/channel.js";
import type { Clock } from "../shared/clock.js";
import type { ChanMessage } from "../shared/codec.js";
import type { Config } from "../shared/config.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import { type RefuseReason, refusedSummary } from "../shared/keys/auth.js";
import type { ExitReason } from "../shared/protocol.js";
import type { Rng } from "../shared/random.js";
import type { Source } from "../shared/transport.js";
import { Bot, type ResultsFile } from "./bot.js";
import { Dispatcher } from "./dispatch.js";
import { newName } from "./identity.js";
import type { Uploader } from "./upload.js";

/** One local sender of the endpoint (contract 3: `openSender(id)`). */
export interface HostSender
  extends Pick<GroupChannel, "id" | "nextSeq" | "measure" | "fits" | "send" | "rename" | "close"> {}

/** The endpoint the host runs on: one receive pipeline, many senders. */
export interface HostEndpoint extends EventEmitter<ChannelEvents> {
  openSender(id: string): HostSender;
  close(): Promise<void>;
}

/** What one bot of the host needs besides the shared endpoint and clock. */
export interface HostedBotSpec {
  /** Its directory (for exit records and messages). */
  dir: string;
  config: Config;
  rng: Rng;
  results: ResultsFile;
  uploader: Uploader;
  /** This bot's logger; the host keeps its `bot` binding equal to the bot's id. */
  logger: Logger;
  reloadConfig?: () => Config;
  /** The id to take if it is free (not local, not heard): see host_list.ts runIdNumber. */
  preferredId?: string;
}

/** How a hosted bot ended: its exit status and why (contract 4's exit.json). */
export interface BotEnding {
  id: string;
  status: number;
  reason: ExitReason | "error";
  /** For reason "error": what went wrong (translated). */
  detail?: string;
}

/** Refused datagrams (group keys) are summed in one warning at most this often. */
const REFUSED_REPORT_MS = 10_000;

export interface BotHostOptions {
  endpoint: HostEndpoint;
  clock: Clock;
  /** The host's own log lines (not about one bot). */
  logger: Logger;
  /** Runs fn soon, after the messages arriving now (setImmediate in a program). One call per
   *  batch for the whole host, however many bots have something queued. Default: a 0 ms timer. */
  defer?: (fn: () => void) => void;
  /** Probability tick of every bot, ms (tests). */
  tickMs?: number;
  /** Called once per bot, when it has left the group. */
  onEnded?: (bot: HostedBot, ending: BotEnding) => void;
}

export interface HostStats {
  bots: number;
  running: number;
  ended: number;
}

/** A bot of the host: its Bot, its channel, its spec and how it ended. */
export class HostedBot {
  ending: BotEnding | undefined;
  /** Set when the host stops it (signal), so the ending says "signal". */
  stopReason: ExitReason | undefined;
  constructor(
    readonly index: number,
    readonly spec: HostedBotSpec,
    readonly channel: HostedChannel,
    readonly bot: Bot,
  ) {}

  get id(): string {
    return this.channel.id;
  }
}

/**
 * The GroupChannel one bot sees. Sending goes to its sender; messages arrive from the host's
 * dispatcher; rename and close go through the host, which keeps ids unique.
 */
export class HostedChannel extends EventEmitter<ChannelEvents> implements GroupChannel {
  readonly stats: ChannelStats = { sent: 0, received: 0, invalid: 0, invalidByReason: {} };
  private closing: Promise<void> | undefined;

  constructor(
    readonly sender: HostSender,
    private readonly host: BotHost,
    readonly rng: Rng,
  ) {
    super();
  }

  get id(): string {
    return this.sender.id;
  }

  get nextSeq(): number {
    return this.sender.nextSeq;
  }

  measure(opcode: string, dest: string, args: readonly string[] = []): number {
    return this.sender.measure(opcode, dest, args);
  }

  fits(opcode: string, dest: string, args: readonly string[] = []): boolean {
    return this.sender.fits(opcode, dest, args);
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number | undefined {
    const seq = this.sender.send(opcode, dest, args);
    if (seq !== undefined) this.stats.sent++;
    return seq;
  }

  rename(id: string): void {
    this.host.renameChannel(this, id);
  }

  close(): Promise<void> {
    this.closing ??= this.host.closeChannel(this);
    return this.closing;
  }

  /** @internal the dispatcher hands a message to this bot. */
  deliver(msg: ChanMessage, source: Source): void {
    this.stats.received++;
    this.emit("message", msg, source);
  }
}

export class BotHost {
  private readonly dispatcher = new Dispatcher<HostedChannel>();
  private readonly bots: HostedBot[] = [];
  private readonly byChannel = new Map<HostedChannel, HostedBot>();
  private readonly deferred: (() => void)[] = [];
  private deferPending = false;
  private ended = 0;
  /** Bots that changed their id before their first message (another peer had it). */
  preRenamed = 0;
  private started = false;
  private stopping = false;
  private closed = false;
  private resolveAllEnded: () => void = () => {};
  /** Resolves once every bot has ended and the endpoint is closed. */
  readonly finished: Promise<void>;
  private readonly onMessage = (msg: ChanMessage, source: Source): void => {
    // Another peer uses the id of a local bot that has not spoken yet: that bot takes another id
    // now, so the group never sees the id twice (a bot that has spoken handles the collision
    // itself, as a standalone bot does).
    const own = this.dispatcher.get(msg.sender);
    if (own !== undefined && own.sender.nextSeq === 1) this.renameSilent(own, msg.sender);
    this.dispatcher.route(msg, (ch) => ch.deliver(msg, source));
  };
  private readonly onInvalid = (reason: string, text: string, source: Source): void => {
    if (this.opts.logger.isLevelEnabled("debug")) {
      this.opts.logger.debug({ reason, text: printable(text), from: source.address }, t("invalid datagram dropped"));
    }
  };
  private readonly onWarning = (err: Error): void => {
    this.opts.logger.warn(t("Channel warning: {{error}}", { error: err.message }));
  };
  /** Group keys: datagrams the endpoint refused, by reason; logged at most every REFUSED_REPORT_MS. */
  readonly refusedByReason: Partial<Record<RefuseReason, number>> = {};
  private refusedUnreported: Partial<Record<RefuseReason, number>> = {};
  private refusedReportedAt = Number.NEGATIVE_INFINITY;
  private readonly onRefused = (reason: RefuseReason, text: string, source: Source): void => {
    this.refusedByReason[reason] = (this.refusedByReason[reason] ?? 0) + 1;
    this.refusedUnreported[reason] = (this.refusedUnreported[reason] ?? 0) + 1;
    if (this.opts.logger.isLevelEnabled("debug")) {
      this.opts.logger.debug({ reason, text: printable(text), from: source.address }, t("refused datagram dropped"));
    }
    if (this.opts.clock.now() - this.refusedReportedAt >= REFUSED_REPORT_MS) this.reportRefused();
  };
  private reportRefused(): void {
    const counts = refusedSummary(this.refusedUnreported);
    if (counts === "") return;
    this.refusedUnreported = {};
    this.refusedReportedAt = this.opts.clock.now();
    this.opts.logger.warn(t("Refused datagrams (unsigned, forged or replayed): {{counts}}", { counts }));
  }

  constructor(private readonly opts: BotHostOptions) {
    this.finished = new Promise((r) => {
      this.resolveAllEnded = r;
    });
    opts.endpoint.on("message", this.onMessage);
    opts.endpoint.on("invalid", this.onInvalid);
    opts.endpoint.on("refused", this.onRefused);
    opts.endpoint.on("warning", this.onWarning);
  }

  get dispatch(): Dispatcher<HostedChannel>["stats"] {
    return this.dispatcher.stats;
  }

  get stats(): HostStats {
    return { bots: this.bots.length, running: this.bots.length - this.ended, ended: this.ended };
  }

  /** The bots, in the order they were added. */
  get members(): readonly HostedBot[] {
    return this.bots;
  }

  /** The bot now using this id, if any. */
  botById(id: string): HostedBot | undefined {
    const ch = this.dispatcher.get(id);
    return ch ? this.byChannel.get(ch) : undefined;
  }

  /** Add a bot (before start()): it gets a fresh id, unique in this host, and its own sender. */
  add(spec: HostedBotSpec): HostedBot {
    if (this.started) throw new Error("BotHost.add after start");
    const want = spec.preferredId;
    const id =
      want !== undefined && !this.dispatcher.isLocal(want) && !this.dispatcher.wasHeard(want)
        ? want
        : this.dispatcher.allocate(() => newName(spec.rng));
    const sender = this.opts.endpoint.openSender(id);
    const channel = new HostedChannel(sender, this, spec.rng);
    this.dispatcher.add(id, channel);
    spec.logger.setBindings({ bot: id });
    const bot = new Bot({
      channel,
      clock: this.opts.clock,
      rng: spec.rng,
      config: spec.config,
      results: spec.results,
      uploader: spec.uploader,
      logger: spec.logger,
      exit: (code) => this.botExited(hosted, code),
      reloadConfig: spec.reloadConfig,
      tickMs: this.opts.tickMs,
      defer: (fn) => this.defer(fn),
    });
    const hosted = new HostedBot(this.bots.length, spec, channel, bot);
    this.bots.push(hosted);
    this.byChannel.set(channel, hosted);
    return hosted;
  }

  /** Start every bot. A bot that cannot start (its results file) ends at once with status 1;
   *  the others go on. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const b of this.bots) {
      if (this.stopping) break;
      try {
        b.bot.start();
      } catch (e) {
        const detail = t("cannot create results file {{file}}: {{error}}", {
          file: b.spec.config.results,
          error: (e as Error).message,
        });
        b.spec.logger.error(detail);
        void this.abandon(b, detail);
      }
    }
    if (this.bots.length === 0) void this.allEnded();
  }

  /** Every bot leaves with this reason (SIGTERM/SIGINT: "signal"). Resolves when all have. */
  stop(reason: ExitReason = "signal"): Promise<void> {
    this.stopping = true;
    for (const b of this.bots) {
      if (b.ending || b.stopReason) continue;
      b.stopReason = reason;
      void b.bot.stop(reason);
    }
    if (!this.started) {
      this.started = true;
      void this.allEnded();
    }
    return this.finished;
  }

  // ---- for HostedChannel ----

  /** A bot that has sent nothing yet leaves an id someone else uses: no collision happened. */
  private renameSilent(ch: HostedChannel, taken: string): void {
    this.renameChannel(ch, newName(ch.rng, taken));
    this.preRenamed++;
    this.byChannel
      .get(ch)
      ?.spec.logger.info(
        t("Bot {{old}} is now {{id}}: another peer was heard using {{old}} first", { old: taken, id: ch.id }),
      );
  }

  /** @internal */
  renameChannel(ch: HostedChannel, wanted: string): void {
    const from = ch.id;
    // Unique in the host by construction; and not an id just heard from someone else.
    const id =
      this.dispatcher.isLocal(wanted) || this.dispatcher.wasHeard(wanted)
        ? this.dispatcher.allocate(() => newName(ch.rng, from))
        : wanted;
    this.dispatcher.rename(from, id, ch);
    ch.sender.rename(id);
    this.byChannel.get(ch)?.spec.logger.setBindings({ bot: id });
    // The old id is free again: a remote peer holds it now, not us.
  }

  /** @internal */
  async closeChannel(ch: HostedChannel): Promise<void> {
    const id = ch.id;
    this.dispatcher.remove(id, ch);
    try {
      await ch.sender.close();
    } finally {
      this.dispatcher.release(id);
    }
  }

  // ---- endings ----

  private botExited(b: HostedBot, code: number): void {
    const reason: ExitReason = b.stopReason ?? (code === 255 ? "killed" : "lifespan");
    this.ended1(b, { id: b.id, status: code, reason });
  }

  private async abandon(b: HostedBot, detail: string): Promise<void> {
    await b.channel.close();
    this.ended1(b, { id: b.id, status: 1, reason: "error", detail });
  }

  private ended1(b: HostedBot, ending: BotEnding): void {
    if (b.ending) return;
    b.ending = ending;
    this.ended++;
    try {
      this.opts.onEnded?.(b, ending);
    } catch (e) {
      this.opts.logger.warn(t("Cannot record how bot {{id}} ended: {{error}}", { id: b.id, error: String(e) }));
    }
    if (this.ended === this.bots.length) void this.allEnded();
  }

  private async allEnded(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ep = this.opts.endpoint;
    ep.off("message", this.onMessage);
    ep.off("invalid", this.onInvalid);
    ep.off("refused", this.onRefused);
    this.reportRefused();
    try {
      await ep.close();
    } catch (e) {
      this.opts.logger.debug(t("endpoint close failed: {{error}}", { error: String(e) }));
    }
    ep.off("warning", this.onWarning);
    this.resolveAllEnded();
  }

  // ---- one deferred batch for all bots ----

  private defer(fn: () => void): void {
    this.deferred.push(fn);
    if (this.deferPending) return;
    this.deferPending = true;
    const run = (): void => {
      this.deferPending = false;
      const batch = this.deferred.splice(0, this.deferred.length);
      for (const f of batch) f();
    };
    if (this.opts.defer) this.opts.defer(run);
    else this.opts.clock.setTimeout(run, 0);
  }
}
