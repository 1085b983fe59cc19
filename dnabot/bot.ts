/**
 * The DNABot state machine. Everything it touches is injected (channel, clock, RNG, results
 * file, uploader, logger, exit), so tests run minutes of bot life in milliseconds; main.ts wires
 * the real things.
 *
 * Timing, as the original: a random wait in [0, backoff) before the first message; then at least
 * one message every `heartbeat` seconds, taken from a control schedule fixed at start (start +
 * k·heartbeat) and sent up to 2 s early (jitter). Every BEAT or NEWS sent counts as the
 * heartbeat. Discovery and Frankenstein probabilities are per second, applied on a 1 s tick to
 * the time actually elapsed.
 *
 * Our additions on the wire (see protocol.md): `state=asimov|frankenstein` on every BEAT, NEWS
 * and EXIT; `reason=lifespan|killed|signal` on EXIT; UPLD honours a `port=N` tag; RSET.
 */
import type { Logger } from "pino";
import type { GroupChannel } from "../shared/channel.js";
import type { Clock, TimerId } from "../shared/clock.js";
import { type ChanMessage, withTags } from "../shared/codec.js";
import type { Config } from "../shared/config.js";
import { printable } from "../shared/escape.js";
import { t } from "../shared/i18n.js";
import { type RefuseReason, refusedSummary } from "../shared/keys/auth.js";
import {
  ASIMOV,
  BEAT,
  type BotState,
  beatJitterMs,
  EXIT,
  EXIT_STATUS,
  type ExitReason,
  FRANKENSTEIN,
  isCommandOpcode,
  isKnownOpcode,
  KILL,
  NEWS,
  PING,
  RSET,
  TAG,
  UPLD,
  WILDCARD,
} from "../shared/protocol.js";
import { choice, type Rng } from "../shared/random.js";
import type { Source } from "../shared/transport.js";
import { newName } from "./identity.js";
import { ANSWER_LIMITS, RequestLimiter, ThrottledCount, UPLOAD_LIMITS, uploadPort } from "./limits.js";
import { beatText, exitText, newsText, researchList } from "./research.js";
import type { Uploader, UploadRequest } from "./upload.js";

/** The results file, by name (RSET may change the name). Errors are thrown. */
export interface ResultsFile {
  /** Create the file empty, or empty it. */
  truncate(name: string): void;
  /** Append one line (a newline is added). */
  append(name: string, line: string): void;
}

/** Keys RSET applies at once; the others (channel, language, seed) need a restart. */
const LIVE_KEYS: ReadonlySet<string> = new Set([
  "lifespan",
  "backoff",
  "heartbeat",
  "results",
  "discovery",
  "frankenstein",
  "killBoost",
  "QUEUE_SIZE",
  "filePort",
]);
/** Uploads run one at a time; more requests than this waiting are dropped with a warning. */
const MAX_PENDING_UPLOADS = 16;
/** A warning that traffic can cause (queue full, requests refused) is logged at most this
 *  often, with the count since the last one. */
export const WARN_INTERVAL_MS = 5000;

export interface BotDeps {
  channel: GroupChannel;
  clock: Clock;
  rng: Rng;
  config: Config;
  results: ResultsFile;
  uploader: Uploader;
  logger: Logger;
  /** Called once, last, with the process exit status (0, or 255 when killed). */
  exit: (code: number) => void;
  /** Re-reads the configuration for RSET (file, then command line); throws if it cannot. */
  reloadConfig?: () => Config;
  /** Re-reads the group keys for RSET (a rotation step); throws if it cannot. */
  reloadKeys?: () => void;
  /** Probability tick, ms (default 1000, as the original's main loop). */
  tickMs?: number;
  /** Runs fn once the messages arriving now have been queued (main.ts: setImmediate, which
   *  batches a whole socket read without a timer or an extra loop turn); default a 0 ms timer
   *  of the clock, so tests drive it. */
  defer?: (fn: () => void) => void;
}

export interface BotStats {
  processed: number;
  /** Inbound messages dropped because the queue was full. */
  dropped: number;
  discoveries: number;
  collisions: number;
  uploads: number;
  uploadsDropped: number;
  /** PING/RSET/UPLD refused by a rate limit (per requester or total, see limits.ts). */
  refused: number;
  /** UPLDs refused for their port= tag (not a port, or privileged and not filePort). */
  badPort: number;
  /** PING * absorbed by an answer to an earlier PING * still waiting to go out. */
  coalesced: number;
  /** With a group key: unsigned messages let through by acceptUnsigned, and ignored. */
  unverified: number;
  /** With a group key: datagrams the channel refused, by reason. */
  refusedByReason: Partial<Record<RefuseReason, number>>;
}

type Phase = "created" | "waiting" | "running" | "stopping" | "stopped";

interface Queued {
  msg: ChanMessage;
  source: Source;
}

export class Bot {
  private config: Config;
  private _state: BotState = ASIMOV;
  private frankensteinP: number;
  private phase: Phase = "created";
  private readonly queue: Queued[] = [];
  /** Queue-full drops and refused requests not yet reported in a warning. */
  private readonly droppedWarn = new ThrottledCount(WARN_INTERVAL_MS);
  private readonly refusedWarn = new ThrottledCount(WARN_INTERVAL_MS);
  /** Requesters (by source address) of PING and RSET answers, and of uploads. */
  private readonly answerLimiter: RequestLimiter;
  private readonly uploadLimiter: RequestLimiter;
  /** An answer to a PING * is waiting for its random delay: later PING * share it. */
  private wildcardPingPending = false;
  private drainTimer: TimerId | undefined;
  /** A drain is scheduled through deps.defer. */
  private drainDeferred = false;
  private beatTimer: TimerId | undefined;
  private tickTimer: TimerId | undefined;
  private lifeTimer: TimerId | undefined;
  private readonly waits = new Set<TimerId>();
  private startedAt = 0;
  /** Origin of the heartbeat control schedule: slots are control0 + k·heartbeat. */
  private control0 = 0;
  /** The control slot the next BEAT or NEWS fills. */
  private slot = 0;
  private prevTick = 0;
  private uploadChain: Promise<void> = Promise.resolve();
  private pendingUploads = 0;
  private readonly onMessage = (msg: ChanMessage, source: Source): void => this.enqueue(msg, source);
  private readonly onInvalid = (reason: string, text: string, source: Source): void => {
    // Guarded: a flood of malformed datagrams comes this way, and nobody reads the lines.
    if (this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug({ reason, text: printable(text), from: source.address }, t("invalid datagram dropped"));
    }
  };
  private readonly onRefused = (reason: RefuseReason, text: string, source: Source): void => {
    this.stats.refusedByReason[reason] = (this.stats.refusedByReason[reason] ?? 0) + 1;
    this.refusedUnreported[reason] = (this.refusedUnreported[reason] ?? 0) + 1;
    if (this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug({ reason, text: printable(text), from: source.address }, t("refused datagram dropped"));
    }
    // One warning per heartbeat at most, however many arrive.
    if (this.refusedTimer !== undefined) return;
    const clock = this.deps.clock;
    const wait = Math.max(0, this.refusedReportedAt + this.config.heartbeat * 1000 - clock.now());
    this.refusedTimer = clock.setTimeout(() => this.reportRefused(), wait);
  };
  private refusedUnreported: Partial<Record<RefuseReason, number>> = {};
  private refusedReportedAt = Number.NEGATIVE_INFINITY;
  private refusedTimer: TimerId | undefined;
  private readonly onWarning = (err: Error): void => {
    this.deps.logger.warn(t("Channel warning: {{error}}", { error: err.message }));
  };
  private resolveFinished: (code: number) => void = () => {};
  /** Resolves with the exit status once the bot has left the group. */
  readonly finished: Promise<number>;
  readonly stats: BotStats = {
    processed: 0,
    dropped: 0,
    discoveries: 0,
    collisions: 0,
    uploads: 0,
    uploadsDropped: 0,
    refused: 0,
    badPort: 0,
    coalesced: 0,
    unverified: 0,
    refusedByReason: {},
  };

  constructor(private readonly deps: BotDeps) {
    this.config = deps.config;
    this.answerLimiter = new RequestLimiter(ANSWER_LIMITS, deps.clock.now());
    this.uploadLimiter = new RequestLimiter(UPLOAD_LIMITS, deps.clock.now());
    this.frankensteinP = deps.config.frankenstein;
    this.finished = new Promise((r) => {
      this.resolveFinished = r;
    });
  }

  get id(): string {
    return this.deps.channel.id;
  }

  get state(): BotState {
    return this._state;
  }

  /** Current probability per second of going Frankenstein (raised by every KILL seen). */
  get frankensteinProbability(): number {
    return this.frankensteinP;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Create the results file empty (throws if it cannot), listen, and start after a random wait. */
  start(): void {
    if (this.phase !== "created") return;
    this.deps.results.truncate(this.config.results);
    const ch = this.deps.channel;
    ch.on("message", this.onMessage);
    ch.on("invalid", this.onInvalid);
    ch.on("refused", this.onRefused);
    ch.on("warning", this.onWarning);
    this.deps.logger.info(t("Bot {{id}} activated", { id: this.id }));
    const wait = this.deps.rng.next() * this.config.backoff * 1000;
    this.deps.logger.debug(t("delay start by {{wait, seconds}}", { wait: Math.round(wait) / 1000 }));
    this.phase = "waiting";
    this.beatTimer = this.deps.clock.setTimeout(() => this.run(), wait);
  }

  private run(): void {
    const now = this.deps.clock.now();
    this.phase = "running";
    this.startedAt = now;
    this.control0 = now;
    this.slot = now;
    this.prevTick = now;
    this.lifeTimer = this.deps.clock.setTimeout(() => this.lifespanReached(), this.config.lifespan * 1000);
    this.scheduleTick();
    this.sendBeat();
    this.scheduleDrain();
  }

  private lifespanReached(): void {
    this.deps.logger.info(t("Lifespan reached"));
    void this.stop("lifespan");
  }

  /** Leave: send EXIT with the reason, leave the group, call exit(). Idempotent. */
  async stop(reason: ExitReason): Promise<void> {
    if (this.phase === "stopping" || this.phase === "stopped") return this.finished.then(() => {});
    this.phase = "stopping";
    const clock = this.deps.clock;
    for (const id of [
      this.drainTimer,
      this.beatTimer,
      this.tickTimer,
      this.lifeTimer,
      this.refusedTimer,
      ...this.waits,
    ]) {
      if (id !== undefined) clock.clearTimeout(id);
    }
    this.waits.clear();
    this.queue.length = 0;
    const ch = this.deps.channel;
    ch.off("message", this.onMessage);
    ch.off("invalid", this.onInvalid);
    ch.off("refused", this.onRefused);
    this.reportRefused();
    try {
      this.send(EXIT, exitText(), { [TAG.reason]: reason });
    } catch (e) {
      this.deps.logger.warn(t("Cannot send EXIT: {{error}}", { error: String(e) }));
    }
    try {
      await ch.close();
    } catch (e) {
      this.deps.logger.debug(t("channel close failed: {{error}}", { error: String(e) }));
    }
    ch.off("warning", this.onWarning);
    this.phase = "stopped";
    const code = EXIT_STATUS[reason];
    this.deps.logger.info(t("Bot {{id}} end of program", { id: this.id }));
    this.resolveFinished(code);
    this.deps.exit(code);
  }

  /** Log the datagrams refused since the last report (group keys), if any. */
  private reportRefused(): void {
    this.refusedTimer = undefined;
    const counts = refusedSummary(this.refusedUnreported);
    if (counts === "") return;
    this.refusedUnreported = {};
    this.refusedReportedAt = this.deps.clock.now();
    this.deps.logger.warn(t("Refused datagrams (unsigned, forged or replayed): {{counts}}", { counts }));
  }

  // ---- sending -------------------------------------------------------------------------------

  private send(opcode: string, text: string, extra: Record<string, string> = {}): void {
    const args = withTags([text], { [TAG.state]: this._state, ...extra });
    const seq = this.deps.channel.send(opcode, WILDCARD, args);
    // undefined: it did not fit, and the channel's 'warning' already said so.
    if (seq !== undefined && this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug(t("sent {{line}}", { line: `${this.id} ${seq} ${opcode} ${WILDCARD} ${args.join(" ")}` }));
    }
  }

  private sendBeat(): void {
    if (this.phase !== "running") return;
    this.send(BEAT, beatText(this._state));
    this.sent();
  }

  /**
   * A BEAT or NEWS went out: it fills the pending control slot, and the next BEAT is due at the
   * following slot minus a random jitter (the original's schedule). Two guards the original
   * lacks: the slot never runs more than one period ahead of now (many NEWS in one period fill
   * one slot), and the gap to the next message never exceeds the heartbeat.
   */
  private sent(): void {
    const clock = this.deps.clock;
    const now = clock.now();
    const period = this.config.heartbeat * 1000;
    const atOrAfter = this.control0 + Math.ceil((now - this.control0) / period) * period;
    this.slot = Math.min(this.slot + period, atOrAfter + period);
    if (this.slot <= now) this.slot = atOrAfter + period;
    const jitter = this.deps.rng.next() * beatJitterMs(period);
    const due = Math.min(this.slot - jitter, now + period);
    if (this.beatTimer !== undefined) clock.clearTimeout(this.beatTimer);
    this.beatTimer = clock.setTimeout(() => this.sendBeat(), due - now);
  }

  // ---- the tick: research and Frankenstein ---------------------------------------------------

  private scheduleTick(): void {
    this.tickTimer = this.deps.clock.setTimeout(() => this.tick(), this.deps.tickMs ?? 1000);
  }

  private tick(): void {
    const now = this.deps.clock.now();
    const delta = (now - this.prevTick) / 1000;
    this.prevTick = now;
    this.reportDrops(now);
    if (this._state === ASIMOV) this.checkFrankenstein(delta);
    this.doResearch(delta);
    if (this.phase === "running") this.scheduleTick();
  }

  private checkFrankenstein(delta: number): void {
    if (this.deps.rng.next() >= this.frankensteinP * delta) return;
    this._state = FRANKENSTEIN;
    this.deps.logger.info(t("Bot {{id}} has overridden the Laws of Robotics", { id: this.id }));
    // Say so at once: the state tag makes the change visible to every supervisor.
    this.sendBeat();
  }

  private doResearch(delta: number): void {
    if (this.deps.rng.next() >= this.config.discovery * delta) return;
    const result = choice(this.deps.rng, researchList(this._state));
    try {
      this.deps.results.append(this.config.results, result);
    } catch (e) {
      this.deps.logger.warn(
        t("Cannot write results file {{file}}: {{error}}", { file: this.config.results, error: String(e) }),
      );
      return;
    }
    this.stats.discoveries++;
    this.send(NEWS, newsText());
    this.deps.logger.info(t("Bot {{id}} has discovered something", { id: this.id }));
    this.sent();
  }

  // ---- inbound -------------------------------------------------------------------------------

  private enqueue(msg: ChanMessage, source: Source): void {
    if (this.phase === "stopping" || this.phase === "stopped") return;
    // With a group key a bot obeys only what verified: an unsigned message let through by
    // acceptUnsigned is no command, no collision, not even a KILL to be nervous about.
    if (msg.verified === false) {
      this.stats.unverified++;
      return;
    }
    if (this.queue.length >= this.config.QUEUE_SIZE) {
      this.stats.dropped++;
      this.droppedWarn.note();
      return;
    }
    this.queue.push({ msg, source });
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.phase !== "running" || this.queue.length === 0) return;
    if (this.drainTimer !== undefined || this.drainDeferred) return;
    const defer = this.deps.defer;
    if (defer) {
      this.drainDeferred = true;
      defer(this.drainNow);
    } else {
      this.drainTimer = this.deps.clock.setTimeout(this.drainNow, 0);
    }
  }

  private readonly drainNow = (): void => this.drain();

  /** Handle what has arrived so far (not what arrives meanwhile, as the original). */
  private drain(): void {
    this.drainTimer = undefined;
    this.drainDeferred = false;
    this.reportDrops(this.deps.clock.now());
    // Handle a snapshot; what arrives meanwhile (enqueued during handle) waits for the next drain.
    const batch = this.queue.splice(0, this.queue.length);
    for (const item of batch) {
      if (this.phase !== "running") break;
      this.stats.processed++;
      this.handle(item.msg, item.source);
    }
    this.scheduleDrain();
  }

  /** Warn about queue-full drops and refused requests, at most once per WARN_INTERVAL_MS each. */
  private reportDrops(now: number): void {
    const dropped = this.droppedWarn.due(now);
    if (dropped !== undefined) {
      this.deps.logger.warn(t("Receiver queue full, messages dropped: {{count}}", { count: dropped }));
    }
    const refused = this.refusedWarn.due(now);
    if (refused !== undefined) {
      this.deps.logger.warn(t("Requests refused (rate limit or port): {{count}}", { count: refused }));
    }
  }

  /** One more request from this source: within its rate and the total rate? */
  private admit(limiter: RequestLimiter, msg: ChanMessage, source: Source): boolean {
    const verdict = limiter.allow(source.address, this.deps.clock.now());
    if (verdict === "ok") return true;
    this.refuse(msg, source, () =>
      verdict === "requester" ? t("over the rate for its sender") : t("over the rate for all senders"),
    );
    this.stats.refused++;
    return false;
  }

  /** `why` is only built when debug lines are on: forged commands come in floods. */
  private refuse(msg: ChanMessage, source: Source, why: () => string): void {
    this.refusedWarn.note();
    if (this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug(
        t("{{opcode}} from {{sender}} ({{address}}) refused: {{why}}", {
          opcode: msg.opcode,
          sender: printable(msg.sender),
          address: source.address,
          why: why(),
        }),
      );
    }
    this.reportDrops(this.deps.clock.now());
  }

  private handle(msg: ChanMessage, source: Source): void {
    if (msg.sender === this.id) this.collision(source);
    // Every KILL, to anyone, makes a bot nervous.
    if (msg.opcode === KILL) {
      this.frankensteinP = Math.min(1, this.frankensteinP + this.config.killBoost);
      if (this.deps.logger.isLevelEnabled("debug")) {
        this.deps.logger.debug(t("KILL seen, Frankenstein probability now {{p, number}}", { p: this.frankensteinP }));
      }
    }
    if (msg.dest !== this.id && msg.dest !== WILDCARD) return;
    if (isCommandOpcode(msg.opcode) && this.deps.logger.isLevelEnabled("debug")) {
      this.deps.logger.debug(
        t("Command received from {{address}}: {{text}}", { address: source.address, text: printable(msg.text) }),
      );
    }
    switch (msg.opcode) {
      case PING:
        this.ping(msg, source);
        break;
      case UPLD:
        this.upload(msg, source);
        break;
      case KILL:
        this.killed(msg);
        break;
      case RSET:
        if (this.admit(this.answerLimiter, msg, source)) this.reset(msg);
        break;
      default:
        // Every other opcode of the protocol (what bots send, the reliability layer's) is not
        // for a bot to act on; anything else is a stranger's.
        if (!isKnownOpcode(msg.opcode))
          this.deps.logger.debug(
            t("no handler for {{opcode}}: {{text}}", { opcode: msg.opcode, text: printable(msg.text) }),
          );
    }
  }

  /** PING: a BEAT, at once to us, after a random wait to `*`; one answer to any number of
   *  PING * that arrive while it waits. */
  private ping(msg: ChanMessage, source: Source): void {
    if (msg.dest === WILDCARD && this.wildcardPingPending) {
      this.stats.coalesced++;
      return;
    }
    if (!this.admit(this.answerLimiter, msg, source)) return;
    if (msg.dest !== WILDCARD) {
      this.sendBeat();
      return;
    }
    this.wildcardPingPending = true;
    this.later(WILDCARD, () => {
      this.wildcardPingPending = false;
      this.sendBeat();
    });
  }

  /** Run now when addressed to us, after a random wait in [0, backoff) when addressed to all,
   *  so a group request does not make every bot answer at once. */
  private later(dest: string, fn: () => void): void {
    if (dest !== WILDCARD) {
      fn();
      return;
    }
    const id = this.deps.clock.setTimeout(
      () => {
        this.waits.delete(id);
        fn();
      },
      this.deps.rng.next() * this.config.backoff * 1000,
    );
    this.waits.add(id);
  }

  private collision(source: Source): void {
    const old = this.id;
    const id = newName(this.deps.rng, old);
    this.deps.channel.rename(id);
    this.stats.collisions++;
    this.deps.logger.warn(
      t("Name collision: {{old}} is also used by {{address}}, now {{id}}", { old, address: source.address, id }),
    );
  }

  private killed(msg: ChanMessage): void {
    this.deps.logger.warn(t("Bot {{id}} killed by {{sender}}", { id: this.id, sender: msg.sender }));
    try {
      this.deps.results.truncate(this.config.results);
    } catch (e) {
      this.deps.logger.warn(
        t("Cannot empty results file {{file}}: {{error}}", { file: this.config.results, error: String(e) }),
      );
    }
    void this.stop("killed");
  }

  private reset(msg: ChanMessage): void {
    if (this.deps.reloadConfig) {
      try {
        const fresh = this.deps.reloadConfig();
        for (const k of Object.keys(fresh) as (keyof Config)[]) {
          if (!LIVE_KEYS.has(k) && fresh[k] !== this.config[k]) {
            this.deps.logger.debug(t("RSET: {{key}} changes only on restart", { key: k }));
          }
        }
        this.config = fresh;
      } catch (e) {
        this.deps.logger.warn(
          t("Cannot reload the configuration, keeping the current one: {{error}}", {
            error: e instanceof Error ? e.message : String(e),
          }),
        );
      }
    }
    if (this.deps.reloadKeys) {
      try {
        this.deps.reloadKeys();
      } catch (e) {
        this.deps.logger.warn(
          t("Cannot reload the group keys, keeping the current ones: {{error}}", {
            error: e instanceof Error ? e.message : String(e),
          }),
        );
      }
    }
    this._state = ASIMOV;
    this.frankensteinP = this.config.frankenstein;
    this.deps.logger.info(t("Bot {{id}} reset by {{sender}}", { id: this.id, sender: msg.sender }));
    // Lifespan still counts from the start; heartbeat re-anchors on the reply sent now.
    const clock = this.deps.clock;
    if (this.lifeTimer !== undefined) clock.clearTimeout(this.lifeTimer);
    const left = this.startedAt + this.config.lifespan * 1000 - clock.now();
    this.lifeTimer = clock.setTimeout(() => this.lifespanReached(), Math.max(0, left));
    this.control0 = clock.now();
    this.slot = this.control0;
    this.sendBeat();
  }

  private upload(msg: ChanMessage, source: Source): void {
    const { words, tags } = msg;
    const resource = words[0];
    if (resource === undefined) {
      this.deps.logger.warn(t("UPLD request without resource name, ignored"));
      return;
    }
    const target = uploadPort(tags[TAG.port], this.config.filePort);
    if (!target.ok) {
      this.stats.badPort++;
      this.refuse(msg, source, () =>
        target.reason === "bad-port" ? t("port= is not a port number") : t("port= is privileged and not filePort"),
      );
      return;
    }
    const port = target.port;
    if (!this.admit(this.uploadLimiter, msg, source)) return;
    if (this.pendingUploads >= MAX_PENDING_UPLOADS) {
      this.stats.uploadsDropped++;
      this.deps.logger.warn(t("Too many uploads waiting, UPLD from {{sender}} ignored", { sender: msg.sender }));
      return;
    }
    this.pendingUploads++;
    this.later(msg.dest, () => {
      const req: UploadRequest = { host: source.address, port, resource, botId: this.id };
      this.uploadChain = this.uploadChain.then(() => this.runUpload(req));
    });
  }

  private async runUpload(req: UploadRequest): Promise<void> {
    try {
      if (this.phase !== "running") return;
      this.deps.logger.debug(
        t("upload {{resource}} to {{host}}:{{port}}", {
          resource: printable(req.resource),
          host: req.host,
          port: req.port,
        }),
      );
      const outcome = await this.deps.uploader(req);
      this.stats.uploads++;
      const where = { host: req.host, port: req.port };
      if (outcome.ok) {
        if (outcome.problem) {
          this.deps.logger.warn(
            t("Cannot read {{resource}} for upload: {{error}}", {
              resource: printable(req.resource),
              error: outcome.problem,
            }),
          );
        }
        this.deps.logger.debug(
          t("uploaded {{resource}}: status {{status}}", { resource: printable(req.resource), status: outcome.status }),
        );
      } else if (outcome.error === "timeout") {
        this.deps.logger.warn(t("Upload to {{host}}:{{port}} timed out", where));
      } else {
        this.deps.logger.warn(t("Upload to {{host}}:{{port}} failed: {{error}}", { ...where, error: outcome.detail }));
      }
    } catch (e) {
      this.deps.logger.warn(t("Upload to {{host}}:{{port}} failed: {{error}}", { ...req, error: String(e) }));
    } finally {
      this.pendingUploads--;
    }
  }
}
