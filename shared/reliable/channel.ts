/**
 * Reliable multicast for one program: a GroupChannel that is a thin front over a
 * ReliableEndpoint (endpoint.ts) with a single sender. NACK-based in the manner of NORM
 * (RFC 5740) and JGroups NAKACK2, with the repair open to any peer holding a copy:
 *
 * - receiver.ts tracks every sender's sequence numbers (gaps.ts) and NACKs gaps, with random
 *   waits, suppression, backoff, a rate limit and a bounded number of tries;
 * - answerer.ts answers NACKs from the copies held.ts keeps (RSND, or SKIP for a superseded
 *   message or one no longer held), the original sender first, any holder after;
 * - announcer.ts announces our stream (LAST) after messages that are not superseded, so tail
 *   losses are seen; leaving, we linger to repair our last words;
 * - the application sees every sequenced message once, not ordered (a lost heartbeat never
 *   delays a KILL); repaired ones come with the original sender's address as source.
 *
 * Which opcodes are superseded (heartbeats: never resent, tagged prior=) is the program's
 * choice (`superseded`, open.ts). Wire formats are in wire.ts and protocol.md.
 */
import { EventEmitter } from "node:events";
import { type ChannelEvents, type ChannelStats, type GroupChannel, type MessageLink, relayEvents } from "../channel.js";
import { type EndpointOptions, ReliableEndpoint, type ReliableSender } from "./endpoint.js";
import type { ReliableStats } from "./options.js";

export type { ReliableOptions, ReliableStats } from "./options.js";

export interface ReliableChannelOptions extends Omit<EndpointOptions, "id"> {
  /** Our peer id. */
  id: string;
}

export class ReliableChannel extends EventEmitter<ChannelEvents> implements GroupChannel {
  readonly endpoint: ReliableEndpoint;
  private readonly sender: ReliableSender;
  private closed = false;

  constructor(link: MessageLink, opts: ReliableChannelOptions) {
    super();
    const { id, ...rest } = opts;
    this.endpoint = new ReliableEndpoint(link, rest);
    this.sender = this.endpoint.openSender(id);
    this.endpoint.on("message", (msg, source) => {
      if (!this.closed) this.emit("message", msg, source);
    });
    relayEvents(this.endpoint, this, false);
    this.sender.on("warning", (err) => this.emit("warning", err));
  }

  get id(): string {
    return this.sender.id;
  }

  get nextSeq(): number {
    return this.sender.nextSeq;
  }

  get stats(): ChannelStats {
    return this.endpoint.stats;
  }

  get reliability(): ReliableStats {
    return this.endpoint.reliability;
  }

  /** Gaps currently waiting for repair (diagnostics, tests). */
  get pendingGaps(): number {
    return this.endpoint.pendingGaps;
  }

  /** Timers currently armed (tests check that close() leaves none). */
  get pendingTimers(): number {
    return this.endpoint.pendingTimers;
  }

  measure(opcode: string, dest: string, args: readonly string[] = []): number {
    return this.sender.measure(opcode, dest, args);
  }

  fits(opcode: string, dest: string, args: readonly string[] = []): boolean {
    return this.sender.fits(opcode, dest, args);
  }

  send(opcode: string, dest: string, args: readonly string[] = []): number | undefined {
    return this.sender.send(opcode, dest, args);
  }

  rename(id: string): void {
    this.sender.rename(id);
  }

  close(): Promise<void> {
    this.closed = true;
    return this.endpoint.close();
  }
}
