/**
 * A group of peers over a MemoryNetwork on a ManualClock, for the reliability tests: each
 * peer is a ReliableChannel (a plain Channel if legacy), optionally behind a LossSimulator and a
 * test filter that drops chosen datagrams. Every datagram on the wire is kept in net.sent.
 */
import { EventEmitter } from "node:events";
import { Channel, type GroupChannel, Link } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { type ChanMessage, parseDatagram } from "../../shared/codec.js";
import type { GroupAuth } from "../../shared/keys/auth.js";
import { type LossSettings, LossSimulator } from "../../shared/loss.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { SUPERSEDED_OPCODES } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { ReliableChannel, type ReliableOptions } from "../../shared/reliable/channel.js";
import type { Source, Transport, TransportEvents } from "../../shared/transport.js";

/** Drops datagrams for which `drop` returns true (on send and on receive). */
export class FilterTransport extends EventEmitter<TransportEvents> implements Transport {
  drop: (text: string, dir: "send" | "recv") => boolean = () => false;

  constructor(readonly inner: Transport) {
    super();
    inner.on("datagram", (b, s) => {
      if (!this.drop(b.toString("utf8"), "recv")) this.emit("datagram", b, s);
    });
    inner.on("error", (e) => this.emit("error", e));
    inner.on("warning", (e) => this.emit("warning", e));
  }
  send(bytes: Buffer): void {
    if (!this.drop(bytes.toString("utf8"), "send")) this.inner.send(bytes);
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  localSource(): Source | undefined {
    return this.inner.localSource();
  }
  ready(): Promise<void> {
    return this.inner.ready();
  }
}

export interface Received {
  msg: ChanMessage;
  source: Source;
  at: number;
}

export interface Peer {
  id: string;
  chan: GroupChannel;
  /** undefined for a legacy (original-program) peer. */
  rel: ReliableChannel | undefined;
  filter: FilterTransport;
  source: Source;
  got: Received[];
  close(): Promise<void>;
}

export interface PeerOptions {
  legacy?: boolean;
  loss?: LossSettings;
  seed?: number;
  reliable?: Partial<Omit<ReliableOptions, "clock" | "rng">>;
  /** A group key: the peer signs and verifies (shared/keys/). */
  auth?: GroupAuth;
  /** The Link's read budget per source (datagrams per second on the group's clock). */
  sourceRate?: number;
}

let seedCounter = 1;

export class Group {
  readonly net = new MemoryNetwork();
  readonly clock = new ManualClock();
  readonly peers: Peer[] = [];

  peer(id: string, opts: PeerOptions = {}): Peer {
    const ep = this.net.endpoint();
    const seed = opts.seed ?? seedCounter++;
    const lossy: Transport = opts.loss
      ? new LossSimulator(ep, { ...opts.loss, rng: seededRng(seed * 7919), clock: this.clock })
      : ep;
    const filter = new FilterTransport(lossy);
    const rel = opts.legacy
      ? undefined
      : new ReliableChannel(new Link(filter, { auth: opts.auth, ...this.budget(opts.sourceRate) }), {
          id,
          clock: this.clock,
          rng: seededRng(seed),
          superseded: SUPERSEDED_OPCODES,
          ...(opts.reliable ?? {}),
        });
    const chan: GroupChannel = rel ?? new Channel(filter, { id, auth: opts.auth });
    const p: Peer = {
      id,
      chan,
      rel,
      filter,
      source: ep.localSource(),
      got: [],
      close: () => chan.close(),
    };
    chan.on("message", (msg, source) => p.got.push({ msg, source, at: this.clock.now() }));
    this.peers.push(p);
    return p;
  }

  private budget(sourceRate: number | undefined): { sourceRate?: number; now?: () => number } {
    return sourceRate === undefined ? {} : { sourceRate, now: () => this.clock.now() };
  }

  /** Advance simulated time, letting every in-memory delivery run between steps. */
  async run(ms: number, step = 5): Promise<void> {
    for (let left = ms; left > 0; left -= step) {
      this.clock.advance(Math.min(step, left));
      await drain();
    }
  }

  /** Datagrams seen on the wire with this opcode (optionally about one sender). */
  wire(opcode: string, about?: string): ChanMessage[] {
    const out: ChanMessage[] = [];
    for (const d of this.net.sent) {
      const r = parseDatagram(d.bytes);
      if (r.ok && r.msg.opcode === opcode && (about === undefined || r.msg.dest === about)) out.push(r.msg);
    }
    return out;
  }
}

/** Run every queued microtask and the deliveries they queue in turn. */
export function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The sequence numbers a peer received from one sender. */
export function seqsFrom(p: Peer, sender: string): number[] {
  return p.got.filter((r) => r.msg.sender === sender).map((r) => r.msg.seq);
}
