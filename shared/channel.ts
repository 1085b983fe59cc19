/**
 * Channel: the message layer over a Transport. It stamps what we send with our id and our
 * sequence number (from 1, as the original), parses what we receive, and drops and counts
 * what does not parse. Bots and supervisors talk to a GroupChannel and never see datagrams;
 * the reliability layer is another GroupChannel wrapped around this one.
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
import type { Source, Transport } from "./transport.js";

export interface ChannelEvents {
  /** A well-formed message from another peer. */
  message: [msg: ChanMessage, source: Source];
  /** A datagram that did not parse; it has been dropped and counted. */
  invalid: [reason: InvalidReason, text: string, source: Source];
  error: [err: Error];
  warning: [err: Error];
}

export interface ChannelStats {
  sent: number;
  received: number;
  invalid: number;
  invalidByReason: Partial<Record<InvalidReason, number>>;
}

export interface GroupChannel extends EventEmitter<ChannelEvents> {
  /** Our peer id, the SENDER field of everything we send. */
  readonly id: string;
  /** Send `OPCODE DEST ARGS...` with the next sequence number; returns that number, or -1 when
   *  the message would not fit in one datagram (a 'warning' says so and nothing is sent). */
  send(opcode: string, dest: string, args?: readonly string[]): number;
  /** Take a new id (after a collision); the sequence carries on. */
  rename(id: string): void;
  /** Leave the group. */
  close(): Promise<void>;
  readonly stats: ChannelStats;
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

export interface ChannelOptions {
  id: string;
  pktSize?: number;
}

export class Channel extends EventEmitter<ChannelEvents> implements GroupChannel {
  private _id: string;
  private seq = 1;
  readonly pktSize: number;
  readonly stats: ChannelStats = { sent: 0, received: 0, invalid: 0, invalidByReason: {} };

  constructor(
    readonly transport: Transport,
    opts: ChannelOptions,
  ) {
    super();
    this._id = opts.id;
    this.pktSize = opts.pktSize ?? DEFAULT_PKT_SIZE;
    transport.on("datagram", (bytes, source) => this.onDatagram(bytes, source));
    transport.on("error", (err) => this.emit("error", err));
    transport.on("warning", (err) => this.emit("warning", err));
  }

  get id(): string {
    return this._id;
  }

  /** The sequence number the next send() will use. */
  get nextSeq(): number {
    return this.seq;
  }

  rename(id: string): void {
    this._id = id;
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number {
    const seq = this.seq;
    if (!this.sendLine(formatLine(this._id, seq, formatBody(opcode, dest, args)))) return -1;
    this.seq++;
    return seq;
  }

  /** Send a message with an explicit sequence number (used by the reliability layer for
   *  unsequenced control messages). Returns false if it did not fit. */
  sendWithSeq(seq: number, opcode: string, dest: string, args: readonly string[] = []): boolean {
    return this.sendLine(formatLine(this._id, seq, formatBody(opcode, dest, args)));
  }

  private sendLine(line: string): boolean {
    const bytes = encodeLine(line);
    if (bytes.length > this.pktSize) {
      this.emit("warning", new MessageTooLargeError(bytes.length, this.pktSize));
      return false;
    }
    this.transport.send(bytes);
    this.stats.sent++;
    return true;
  }

  private onDatagram(bytes: Buffer, source: Source): void {
    const r = parseDatagram(bytes, this.pktSize);
    if (!r.ok) {
      this.stats.invalid++;
      this.stats.invalidByReason[r.reason] = (this.stats.invalidByReason[r.reason] ?? 0) + 1;
      this.emit("invalid", r.reason, r.text, source);
      return;
    }
    this.stats.received++;
    this.emit("message", r.msg, source);
  }

  close(): Promise<void> {
    return this.transport.close();
  }
}
