/**
 * The reliability endpoint: ONE receive pipeline per process (one link, one parse, one
 * reliability layer) for any number of local senders. Used directly by the bot host; the
 * programs' single-sender ReliableChannel (channel.ts) is a thin front over it.
 *
 * API
 *   const ep = new ReliableEndpoint(link, { clock, rng, superseded: ["BEAT"], ...options });
 *   ep.on("message", (msg, source) => ...)   every message from the group, ONCE per process:
 *                                            sequenced ones repaired and de-duplicated (prior=
 *                                            consumed), unsequenced ones as they come, control
 *                                            messages never. A sequenced message carrying a local
 *                                            sender's id (a collision) is passed on untracked.
 *                                            Messages of local senders never come back (the
 *                                            transport drops our own datagrams).
 *   ep.on("invalid" | "warning" | "error")   from the link (as a Channel's)
 *   const s = ep.openSender(id)              a local sender: a GroupChannel with its own id,
 *                                            sequence numbers (from 1), held copies, LAST
 *                                            announcements, linger and rename. Throws if `id` is
 *                                            already open here.
 *   s.send(opcode, dest, args) / s.fits(...) / s.measure(...) / s.nextSeq / s.rename(id)
 *   s.deliver(msg, source)                   emit 'message' on this sender (the host's dispatcher
 *                                            hands each bot what concerns it; the endpoint itself
 *                                            never emits messages on senders)
 *   await s.close()                          leave as that sender (lingering to repair its last
 *                                            words, `lingerMs`); the endpoint and the other
 *                                            senders go on
 *   ep.sender(id) / ep.senders               the open senders
 *   ep.reliability                           counters for the whole endpoint (ReliableStats)
 *   await ep.close()                         every sender leaves (lingering at once, in parallel),
 *                                            then the link closes. While closing, only NACKs for
 *                                            local senders' messages are handled.
 *
 * Control messages about other peers (NACKs, and answers for messages we hold a copy of) go out
 * under the endpoint's `id` option, or else the id of the earliest-opened sender still open;
 * with neither, the endpoint only listens and repairs nothing.
 *
 * The parts: receiver.ts (tracking, NACK rounds), answerer.ts (RSND/SKIP), announcer.ts (LAST,
 * per sender), held.ts (copies). Wire formats are in wire.ts; everything runs on the injected
 * Clock and Rng.
 */
import { EventEmitter } from "node:events";
import {
  type ChannelEvents,
  type ChannelStats,
  type EndpointSender,
  type GroupEndpoint,
  type MessageLink,
  MessageTooLargeError,
  relayEvents,
} from "../channel.js";
import { type ChanMessage, formatBody } from "../codec.js";
import { t } from "../i18n.js";
import type { Source } from "../transport.js";
import { Announcer } from "./announcer.js";
import { Answerer } from "./answerer.js";
import { TokenBucket } from "./bucket.js";
import { HeldCopies } from "./held.js";
import {
  debugLog,
  emptyStats,
  type ReliableOptions,
  type ReliableStats,
  type Settings,
  settingsOf,
} from "./options.js";
import { Receiver } from "./receiver.js";
import { Scheduler } from "./scheduler.js";
import { bodyOf, isControlOpcode, LAST, NACK, nackArgs, parseControl, priorTag, RSND, rsndArgs, SKIP } from "./wire.js";

export interface EndpointOptions extends ReliableOptions {
  /** Id for control messages about other peers when no sender is open (default: none). */
  id?: string;
}

type State = "open" | "closing" | "closed";

export class ReliableEndpoint extends EventEmitter<ChannelEvents> implements GroupEndpoint {
  private readonly counters: ReliableStats = emptyStats();
  /** @internal */ readonly s: Settings;
  /** @internal */ readonly sched: Scheduler;
  /** @internal */ readonly held: HeldCopies;
  private readonly receiver: Receiver;
  private readonly answerer: Answerer;
  private readonly nackBucket: TokenBucket;
  private readonly local = new Map<string, ReliableSender>();
  private readonly fixedId: string | undefined;
  private state: State = "open";
  private closing: Promise<void> | undefined;
  private senderCount = 0;

  constructor(
    readonly link: MessageLink,
    opts: EndpointOptions,
  ) {
    super();
    this.s = settingsOf(opts);
    this.fixedId = opts.id;
    this.sched = new Scheduler(this.s.clock);
    this.held = new HeldCopies({ maxCount: this.s.holdCount, maxAgeMs: this.s.holdTimeMs });
    const now = this.s.clock.now();
    this.nackBucket = new TokenBucket(this.s.nackRate, Math.max(1, 2 * this.s.nackRate), now);
    this.receiver = new Receiver(
      this.s,
      this.sched,
      this.counters,
      {
        deliver: (msg, origin, repaired, superseded) => this.deliver(msg, origin, repaired, superseded),
        nack: (sender, seq) => this.sendControl(NACK, sender, nackArgs(seq)),
      },
      (t) => this.nackBucket.take(t),
      (t) => this.nackBucket.waitMs(t),
    );
    this.receiver.onRestart = (sender) => this.held.dropPeer(sender);
    this.answerer = new Answerer(this.s, this.sched, this.counters, {
      find: (sender, seq, t) => this.held.find(sender, seq, t),
      isOwn: (sender, seq) => {
        const s = this.local.get(sender);
        return s !== undefined && seq < s.nextSeq && this.held.isOwn(sender);
      },
      send: (kind, sender, seq, body) =>
        this.sendControl(kind, sender, body === undefined ? nackArgs(seq) : rsndArgs(seq, body), sender),
    });
    link.on("message", (msg, source) => this.onMessage(msg, source));
    relayEvents(link, this, false);
  }

  /** The layer's counters (ReliableStats: what was delivered, repaired, asked, answered,
   *  refused and evicted). */
  get reliability(): ReliableStats {
    this.counters.copiesEvicted = this.held.evicted;
    return this.counters;
  }

  /** The link's counters (datagrams sent and received, invalid ones). */
  get stats(): ChannelStats {
    return this.link.stats;
  }

  /** Gaps currently waiting for repair (diagnostics, tests). */
  get pendingGaps(): number {
    return this.receiver.pendingGaps;
  }

  /** Remote senders currently tracked. */
  get trackedSenders(): number {
    return this.receiver.trackedSenders;
  }

  /** Timers currently armed (tests check that close() leaves none). */
  get pendingTimers(): number {
    return this.sched.size;
  }

  /** The open sender with this id, if any. */
  sender(id: string): ReliableSender | undefined {
    return this.local.get(id);
  }

  /** The open senders, in the order they were opened (renamed ones last). */
  get senders(): ReliableSender[] {
    return [...this.local.values()];
  }

  /** A new local sender under `id`. */
  openSender(id: string): ReliableSender {
    if (this.state !== "open") throw new Error("the endpoint is closed");
    if (this.local.has(id)) throw new Error(`sender ${id} is already open on this endpoint`);
    const s = new ReliableSender(this, id, `a ${++this.senderCount}`);
    this.attach(s, id);
    return s;
  }

  close(): Promise<void> {
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    this.state = "closing";
    await Promise.all(this.senders.map((s) => s.close()));
    this.state = "closed";
    this.sched.clear();
    await this.link.close();
  }

  // ---- for ReliableSender ----

  /** @internal */
  attach(s: ReliableSender, id: string): void {
    this.local.set(id, s);
    this.held.openLocal(id);
    // A remote stream under the id we take is someone else's: stop tracking it.
    this.receiver.forget(id);
  }

  /** @internal */
  renamed(s: ReliableSender, from: string, to: string): void {
    if (this.local.has(to)) throw new Error(`sender ${to} is already open on this endpoint`);
    this.local.delete(from);
    this.local.set(to, s);
    this.held.renameLocal(from, to);
    this.receiver.forget(to);
  }

  /** @internal */
  detach(s: ReliableSender): void {
    if (this.local.get(s.id) !== s) return;
    this.local.delete(s.id);
    this.held.closeLocal(s.id);
  }

  /** @internal a control message (SEQ 0); `about` a local sender answers as itself. */
  sendControl(opcode: string, dest: string, args: readonly string[], about?: string): boolean {
    const voice = (about !== undefined && this.local.has(about) ? about : undefined) ?? this.voice();
    if (voice === undefined) return false;
    if (this.link.sendAs(voice, 0, opcode, dest, args)) return true;
    this.emit("warning", new MessageTooLargeError(this.link.measure(voice, 0, opcode, dest, args), this.link.pktSize));
    return false;
  }

  /** @internal */
  countLast(sent: boolean): boolean {
    if (sent) this.counters.lastSent++;
    return sent;
  }

  private voice(): string | undefined {
    if (this.fixedId !== undefined) return this.fixedId;
    for (const s of this.local.values()) if (!s.isClosed) return s.id;
    return this.local.keys().next().value;
  }

  // ---- receiving ----

  private onMessage(msg: ChanMessage, source: Source): void {
    if (this.state === "closed") return;
    if (this.state === "closing") {
      // Leaving: only repairs of our own last words.
      if (msg.seq === 0 && msg.opcode === NACK && this.held.isOwn(msg.dest)) this.onControl(msg, source);
      return;
    }
    if (msg.seq === 0) {
      if (isControlOpcode(msg.opcode)) this.onControl(msg, source);
      else this.emit("message", msg, source); // unsequenced: nothing to track
      return;
    }
    // Another peer using a local sender's id: the application must see it (collision), untracked.
    if (this.local.has(msg.sender)) {
      this.emit("message", msg, source);
      return;
    }
    this.receiver.onData(msg, source);
  }

  private onControl(msg: ChanMessage, source: Source): void {
    const r = parseControl(msg);
    if (!r.ok) {
      this.counters.invalidControl++;
      debugLog(this.s.logger)?.debug({ text: msg.text, reason: r.reason }, t("invalid control message dropped"));
      return;
    }
    this.counters.controlReceived++;
    const c = r.control;
    switch (c.kind) {
      case NACK:
        if (!this.local.has(c.sender)) this.receiver.onNack(c.sender, c.seq);
        this.answerer.onNack(c.sender, c.seq, `${source.address} ${source.port}`);
        return;
      case RSND:
        this.answerer.answered(c.sender, c.seq);
        // Never a local sender's message back to us.
        if (!this.local.has(c.sender)) {
          // Group keys: the copy carries its original MAC, checked as the original (or refused).
          const copy = this.link.openCopy ? this.link.openCopy(c.message, source) : c.message;
          if (copy) this.receiver.onRepair(copy);
        }
        return;
      case SKIP:
        this.answerer.answered(c.sender, c.seq);
        this.receiver.onSkip(c.sender, c.seq);
        return;
      case LAST:
        if (!this.local.has(msg.sender)) this.receiver.onLast(msg.sender, c, source);
        return;
    }
  }

  private deliver(msg: ChanMessage, origin: Source, repaired: boolean, superseded: boolean): void {
    // A superseded message is only ever SKIPped: its body is not kept, so don't format it.
    // With a group key the copy keeps its MAC trailer: an RSND of it carries the original.
    const body = superseded ? "" : withAuth(bodyOf(msg), msg.auth);
    this.held.keepPeer(msg.sender, msg.seq, body, superseded, this.s.clock.now());
    // A copy the layer took is, from now on, a replay (group keys).
    if (repaired) this.link.confirmCopy?.(msg);
    this.emit("message", msg, origin);
    if (repaired) this.s.onRepaired?.(msg, origin);
  }
}

/** A body with the MAC trailer it was sent with (group keys), as an RSND carries it. */
function withAuth(body: string, auth: string | undefined): string {
  return auth === undefined ? body : `${body} ${auth}`;
}

/**
 * One local sender of an endpoint: a GroupChannel (see channel.ts for the contract). Its
 * 'message' events are only what someone hands it with deliver(); 'warning' says a send did not
 * fit. `stats` are the endpoint's link counters, shared by all its senders.
 */
export class ReliableSender extends EventEmitter<ChannelEvents> implements EndpointSender {
  private _id: string;
  private seq = 1;
  private readonly announcer: Announcer;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly ep: ReliableEndpoint,
    id: string,
    key: string,
  ) {
    super();
    this._id = id;
    this.announcer = new Announcer(ep.s, ep.sched, key, (args) =>
      ep.countLast(ep.sendControl(LAST, "*", args, this._id)),
    );
  }

  get id(): string {
    return this._id;
  }

  get nextSeq(): number {
    return this.seq;
  }

  get stats(): ChannelStats {
    return this.ep.link.stats;
  }

  /** close() has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** What goes on the wire after OPCODE DEST: a superseded message gets its prior= tag. */
  private wireArgs(opcode: string, args: readonly string[]): readonly string[] {
    return this.ep.s.superseded.has(opcode) ? [...args, priorTag(this.announcer.prior)] : args;
  }

  measure(opcode: string, dest: string, args: readonly string[] = []): number {
    return this.ep.link.measure(this._id, this.seq, opcode, dest, this.wireArgs(opcode, args));
  }

  fits(opcode: string, dest: string, args: readonly string[] = []): boolean {
    return this.measure(opcode, dest, args) <= this.ep.link.pktSize;
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number | undefined {
    if (this.closed) {
      this.emit("warning", new Error(`sender ${this._id} is closed: ${opcode} not sent`));
      return undefined;
    }
    const superseded = this.ep.s.superseded.has(opcode);
    const sent = this.wireArgs(opcode, args);
    const seq = this.seq;
    if (!this.ep.link.sendAs(this._id, seq, opcode, dest, sent)) {
      this.emit("warning", new MessageTooLargeError(this.measure(opcode, dest, args), this.ep.link.pktSize));
      return undefined;
    }
    this.seq++;
    const body = superseded ? "" : withAuth(formatBody(opcode, dest, sent), this.ep.link.lastAuth);
    this.ep.held.keepOwn(this._id, seq, body, superseded, this.ep.s.clock.now());
    this.announcer.sent(seq, superseded);
    return seq;
  }

  rename(id: string): void {
    if (id === this._id) return;
    this.ep.renamed(this, this._id, id);
    this._id = id;
    // Receivers see a new sender: its stream begins with our next message.
    this.announcer.reset();
  }

  /** Emit 'message' on this sender (the host's dispatcher). */
  deliver(msg: ChanMessage, source: Source): void {
    this.emit("message", msg, source);
  }

  close(): Promise<void> {
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    this.closed = true;
    // Last words (an EXIT, a supervisor's last KILL) are announced at once. If nobody else may
    // hold them (a killed bot's EXIT), only we can repair them: stay a moment to answer NACKs,
    // with the announcements still running, then leave.
    if (this.announcer.pending && this.announcer.announceNow() && this.ep.s.lingerMs > 0) {
      await new Promise<void>((resolve) => this.ep.s.clock.setTimeout(resolve, this.ep.s.lingerMs));
    }
    this.announcer.stop();
    this.ep.detach(this);
  }
}
