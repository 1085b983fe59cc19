/**
 * The message layer over a Transport, in two parts:
 *
 * - `Link` (a `MessageLink`): parses what arrives (malformed datagrams are dropped and counted)
 *   and sends `SENDER SEQ OPCODE DEST ARGS...` lines under any id and number it is given. It is
 *   the one place where a message becomes a datagram, so the size rule (`measure`, `PKT_SIZE`)
 *   lives here and nowhere else. The reliability layer sits on a MessageLink (an interface: it
 *   never needs this class).
 * - `Channel` (a `GroupChannel`): one sender on a Link, stamping what it sends with its id and
 *   its sequence number (from 1, as the original). The plain stack of `reliable=false`.
 *
 * Bots and supervisors talk to a GroupChannel and never see datagrams; the reliability layer
 * (shared/reliable/) gives them another GroupChannel with the same contract:
 *   - `nextSeq` is the number the next successful send() takes;
 *   - `measure()`/`fits()` say, before sending, how large the datagram would be and whether it
 *     fits in one (with our id and nextSeq, and whatever the layer adds, e.g. prior= on BEATs);
 *   - `send()` returns the number it used, or **undefined** when the message does not fit: then
 *     nothing was sent, nextSeq has not moved, and a 'warning' (MessageTooLargeError) says so.
 *     It never throws for size and never returns a negative number.
 */
import { EventEmitter } from "node:events";
import {
  type ChanMessage,
  DEFAULT_PKT_SIZE,
  encodeLine,
  formatBody,
  formatLine,
  type InvalidReason,
  parseDatagram,
} from "./codec.js";
import { type GroupAuth, type RefuseReason, stripTrailer } from "./keys/auth.js";
import { RequestLimiter } from "./reliable/bucket.js";
import type { Source, Transport } from "./transport.js";

export interface ChannelEvents {
  /** A well-formed message from another peer. */
  message: [msg: ChanMessage, source: Source];
  /** A datagram that did not parse; it has been dropped and counted. */
  invalid: [reason: InvalidReason, text: string, source: Source];
  /** With a group key: a datagram refused (unsigned, bad MAC, replayed...; see shared/keys/). */
  refused: [reason: RefuseReason, text: string, source: Source];
  error: [err: Error];
  warning: [err: Error];
}

/**
 * Pass a channel's reports on to another emitter: invalid and refused datagrams, errors and
 * warnings, and its messages unless `messages` is false (a layer that filters them itself).
 */
export function relayEvents(from: EventEmitter<ChannelEvents>, to: EventEmitter<ChannelEvents>, messages = true): void {
  if (messages) from.on("message", (msg, source) => to.emit("message", msg, source));
  from.on("invalid", (reason, text, source) => to.emit("invalid", reason, text, source));
  from.on("refused", (reason, text, source) => to.emit("refused", reason, text, source));
  from.on("error", (err) => to.emit("error", err));
  from.on("warning", (err) => to.emit("warning", err));
}

export interface ChannelStats {
  sent: number;
  received: number;
  invalid: number;
  invalidByReason: Partial<Record<InvalidReason, number>>;
  /** Datagrams dropped unread because their source was over its budget (Link's sourceRate). */
  throttled?: number;
  /** Sources forgotten to keep the budget table within maxSources. */
  sourcesEvicted?: number;
}

export interface GroupChannel extends EventEmitter<ChannelEvents> {
  /** Our peer id, the SENDER field of everything we send. */
  readonly id: string;
  /** The sequence number the next successful send() uses. */
  readonly nextSeq: number;
  /** Bytes the datagram of `OPCODE DEST ARGS...` would take if sent now (id, nextSeq and what
   *  the layers add included). */
  measure(opcode: string, dest: string, args?: readonly string[]): number;
  /** True if send() with these fields would fit in one datagram (measure() <= PKT_SIZE). */
  fits(opcode: string, dest: string, args?: readonly string[]): boolean;
  /** Send `OPCODE DEST ARGS...` with the next sequence number; returns that number, or
   *  undefined when the message would not fit in one datagram (nothing is sent, nextSeq does
   *  not move, a 'warning' says so). */
  send(opcode: string, dest: string, args?: readonly string[]): number | undefined;
  /** Take a new id (after a collision); the sequence carries on. */
  rename(id: string): void;
  /** Leave the group. */
  close(): Promise<void>;
  readonly stats: ChannelStats;
}

/** What a MessageLink reports: the channel events. */
export type LinkEvents = ChannelEvents;

/**
 * The datagram side of a channel, as the reliability layer needs it: every parsed message
 * (any sender, any SEQ, control messages included) and sending a line under any id.
 */
export interface MessageLink extends EventEmitter<LinkEvents> {
  /** Largest datagram, bytes. */
  readonly pktSize: number;
  /** Bytes the datagram `SENDER SEQ OPCODE DEST ARGS...` would take. */
  measure(sender: string, seq: number, opcode: string, dest: string, args?: readonly string[]): number;
  /** Send it; false if it does not fit (nothing sent; the caller reports it where it belongs). */
  sendAs(sender: string, seq: number, opcode: string, dest: string, args?: readonly string[]): boolean;
  close(): Promise<void>;
  readonly stats: ChannelStats;
  /** Group keys: the MAC trailer of the last line sent (a held copy keeps it, so an RSND of it
   *  carries the original signature). Undefined without a key. */
  readonly lastAuth?: string;
  /** Group keys: check a copy an RSND carried as if its original sender had sent it (undefined:
   *  refused, counted, 'refused' emitted); without a key, only take its trailer off. */
  openCopy?(msg: ChanMessage, source: Source): ChanMessage | undefined;
  /** Group keys: the layer took a copy openCopy() passed (from now on it is a replay). */
  confirmCopy?(msg: ChanMessage): void;
}

export class MessageTooLargeError extends Error {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super(`message of ${size} bytes exceeds PKT_SIZE ${limit}`);
    this.name = "MessageTooLargeError";
  }
}

/** Datagrams per second one source (address and port) may have read, by default. A bot host
 *  of 10,000 bots (the most spawnBots packs in one) sends about 1,500 a second at the default
 *  heartbeat (BEATs, NEWS and their LASTs), 2,500 while its bots start; a flood from one source
 *  is cut to this before it costs any parsing (tools/bench/flood.ts measures the effect). */
export const DEFAULT_SOURCE_RATE = 3000;
/** Sources tracked for the budget (least recently heard forgotten). */
export const DEFAULT_MAX_SOURCES = 4096;

export interface LinkOptions {
  pktSize?: number;
  /** The group key: sign every line sent, verify every line received (shared/keys/). */
  auth?: GroupAuth;
  /** Datagrams per second read from one source (address and port), bursts of twice that; the
   *  rest are dropped before parsing and counted (`throttled`), so a flooding peer pays for its
   *  flood instead of everyone else. 0: unlimited. Default DEFAULT_SOURCE_RATE. */
  sourceRate?: number;
  /** Most sources tracked for sourceRate. Default DEFAULT_MAX_SOURCES. */
  maxSources?: number;
  /** Time for the budgets, ms (default performance.now). */
  now?: () => number;
}

export class Link extends EventEmitter<LinkEvents> implements MessageLink {
  readonly pktSize: number;
  readonly stats: ChannelStats = {
    sent: 0,
    received: 0,
    invalid: 0,
    invalidByReason: {},
    throttled: 0,
    sourcesEvicted: 0,
  };
  private readonly budget: RequestLimiter | undefined;
  /** The budget key of the last source read, reused while the same source goes on (a flood). */
  private lastSource: Source = { address: "", port: -1 };
  private lastKey = "";
  private readonly now: () => number;
  readonly auth: GroupAuth | undefined;
  lastAuth: string | undefined;

  constructor(
    readonly transport: Transport,
    opts: LinkOptions = {},
  ) {
    super();
    this.pktSize = opts.pktSize ?? DEFAULT_PKT_SIZE;
    this.auth = opts.auth;
    this.now = opts.now ?? (() => performance.now());
    const rate = opts.sourceRate ?? DEFAULT_SOURCE_RATE;
    this.budget =
      rate > 0
        ? new RequestLimiter(
            {
              perRequesterRate: rate,
              perRequesterBurst: 2 * rate,
              totalRate: 0,
              totalBurst: 0,
              maxRequesters: opts.maxSources ?? DEFAULT_MAX_SOURCES,
            },
            this.now(),
          )
        : undefined;
    transport.on("datagram", (bytes, source) => this.onDatagram(bytes, source));
    transport.on("error", (err) => this.emit("error", err));
    transport.on("warning", (err) => this.emit("warning", err));
  }

  measure(sender: string, seq: number, opcode: string, dest: string, args: readonly string[] = []): number {
    const bytes = Buffer.byteLength(formatLine(sender, seq, formatBody(opcode, dest, args)), "utf8");
    return this.auth ? bytes + this.auth.overhead : bytes;
  }

  sendAs(sender: string, seq: number, opcode: string, dest: string, args: readonly string[] = []): boolean {
    const line = formatLine(sender, seq, formatBody(opcode, dest, args));
    let bytes: Buffer;
    if (this.auth) {
      // Signed: the trailer (auth.overhead bytes) counts against the limit.
      if (Buffer.byteLength(line, "utf8") + this.auth.overhead > this.pktSize) return false;
      const signed = this.auth.sign(line);
      this.lastAuth = signed.slice(line.length + 1);
      bytes = encodeLine(signed);
    } else {
      bytes = encodeLine(line);
      if (bytes.length > this.pktSize) return false;
    }
    this.transport.send(bytes);
    this.stats.sent++;
    return true;
  }

  /** Sources tracked for the budget now. */
  get sources(): number {
    return this.budget?.size ?? 0;
  }

  private onDatagram(bytes: Buffer, from: Source): void {
    const budget = this.budget;
    let source = from;
    if (budget) {
      if (from.port !== this.lastSource.port || from.address !== this.lastSource.address) {
        this.lastSource = from;
        this.lastKey = `${from.address} ${from.port}`;
      }
      const verdict = budget.allow(this.lastKey, this.now());
      this.stats.sourcesEvicted = budget.stats.evicted;
      if (verdict !== "ok") {
        this.stats.throttled = budget.stats.refusedRequester;
        return;
      }
      // Tell the reliability layer which numbers we dropped ourselves: it must not NACK them.
      if (budget.refusedBefore > 0) source = { address: from.address, port: from.port, dropped: budget.refusedBefore };
    }
    const r = parseDatagram(bytes, this.pktSize);
    if (!r.ok) {
      this.stats.invalid++;
      this.stats.invalidByReason[r.reason] = (this.stats.invalidByReason[r.reason] ?? 0) + 1;
      this.emit("invalid", r.reason, r.text, source);
      return;
    }
    const msg = this.open(r.msg, source, false);
    if (!msg) return;
    this.stats.received++;
    this.emit("message", msg, source);
  }

  openCopy(msg: ChanMessage, source: Source): ChanMessage | undefined {
    return this.open(msg, source, true);
  }

  confirmCopy(msg: ChanMessage): void {
    this.auth?.confirmCopy(msg);
  }

  /** With a key: verify and take off the MAC trailer (undefined: refused, counted, 'refused'
   *  emitted). Without: only take a trailer off. `copy`: embedded in an RSND. */
  private open(msg: ChanMessage, source: Source, copy: boolean): ChanMessage | undefined {
    if (!this.auth) return stripTrailer(msg);
    const o = this.auth.open(msg, copy);
    if (o.ok) return o.msg;
    if (!o.quiet) this.emit("refused", o.reason, msg.text, source);
    return undefined;
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}

export interface ChannelOptions extends LinkOptions {
  id: string;
}

/**
 * One sender on a Link: an id and a sequence. Its 'message' events are what it is handed
 * (deliver()); a Channel hands it everything its own link receives.
 */
export class LinkSender extends EventEmitter<ChannelEvents> implements GroupChannel {
  private _id: string;
  private seq = 1;
  private closing: Promise<void> | undefined;

  constructor(
    readonly link: MessageLink,
    id: string,
    /** Called once by close() (a Channel closes its link; an endpoint forgets the sender). */
    private readonly onClose: () => Promise<void> = () => Promise.resolve(),
  ) {
    super();
    this._id = id;
  }

  get id(): string {
    return this._id;
  }

  get nextSeq(): number {
    return this.seq;
  }

  get pktSize(): number {
    return this.link.pktSize;
  }

  get stats(): ChannelStats {
    return this.link.stats;
  }

  measure(opcode: string, dest: string, args: readonly string[] = []): number {
    return this.link.measure(this._id, this.seq, opcode, dest, args);
  }

  fits(opcode: string, dest: string, args: readonly string[] = []): boolean {
    return this.measure(opcode, dest, args) <= this.link.pktSize;
  }

  rename(id: string): void {
    this._id = id;
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number | undefined {
    const seq = this.seq;
    if (!this.link.sendAs(this._id, seq, opcode, dest, args)) {
      this.emit("warning", new MessageTooLargeError(this.measure(opcode, dest, args), this.link.pktSize));
      return undefined;
    }
    this.seq++;
    return seq;
  }

  /** Emit 'message' on this sender. */
  deliver(msg: ChanMessage, source: Source): void {
    this.emit("message", msg, source);
  }

  close(): Promise<void> {
    this.closing ??= this.onClose();
    return this.closing;
  }
}

/** One sender on its own Link: the plain channel (no repair). */
export class Channel extends LinkSender {
  declare readonly link: Link;

  constructor(transport: Transport, opts: ChannelOptions) {
    const link = new Link(transport, opts);
    super(link, opts.id, () => link.close());
    relayEvents(link, this);
  }
}

/** A sender of an endpoint: a GroupChannel whose messages are what the program hands it. */
export interface EndpointSender extends GroupChannel {
  /** Emit 'message' on this sender (a bot host's dispatcher hands each bot what concerns it). */
  deliver(msg: ChanMessage, source: Source): void;
}

/**
 * One receive pipeline for many local senders (a bot host): every message from the group is
 * emitted ONCE on the endpoint; openSender(id) gives each local sender its own id and sequence;
 * closing a sender does not close the endpoint. ReliableEndpoint (shared/reliable/endpoint.ts)
 * adds repair; PlainEndpoint is the reliable=false one.
 */
export interface GroupEndpoint extends EventEmitter<ChannelEvents> {
  openSender(id: string): EndpointSender;
  /** The open sender with this id, if any. */
  sender(id: string): EndpointSender | undefined;
  /** Every sender leaves, then the link closes. */
  close(): Promise<void>;
  readonly stats: ChannelStats;
}

/** The endpoint of reliable=false: one Link, plain senders, nothing repaired. */
export class PlainEndpoint extends EventEmitter<ChannelEvents> implements GroupEndpoint {
  private readonly local = new Map<LinkSender, true>();

  constructor(readonly link: MessageLink) {
    super();
    relayEvents(link, this);
  }

  get stats(): ChannelStats {
    return this.link.stats;
  }

  openSender(id: string): LinkSender {
    if (this.sender(id)) throw new Error(`sender ${id} is already open on this endpoint`);
    const s: LinkSender = new LinkSender(this.link, id, async () => {
      this.local.delete(s);
    });
    this.local.set(s, true);
    return s;
  }

  sender(id: string): LinkSender | undefined {
    for (const s of this.local.keys()) if (s.id === id) return s;
    return undefined;
  }

  async close(): Promise<void> {
    await Promise.all([...this.local.keys()].map((s) => s.close()));
    await this.link.close();
  }
}
