/**
 * In-memory transport for unit tests (after memberlist's MockTransport): every endpoint of a
 * MemoryNetwork receives every other endpoint's datagrams, never its own. Delivery is
 * asynchronous (queueMicrotask) so send() never re-enters the caller, as with real sockets.
 */
import { EventEmitter } from "node:events";
import type { Source, Transport, TransportEvents } from "./transport.js";

export class MemoryNetwork {
  private readonly endpoints = new Set<MemoryTransport>();
  private nextPort = 40000;
  /** Every datagram sent on the network, in order (for assertions). */
  readonly sent: { from: Source; bytes: Buffer }[] = [];

  endpoint(address = "127.0.0.1"): MemoryTransport {
    const t = new MemoryTransport(this, { address, port: this.nextPort++ });
    this.endpoints.add(t);
    return t;
  }

  /** @internal */
  deliver(from: MemoryTransport, bytes: Buffer): void {
    const source = from.localSource();
    this.sent.push({ from: source, bytes });
    for (const ep of this.endpoints) {
      if (ep !== from) ep.receive(Buffer.from(bytes), source);
    }
  }

  /** @internal */
  remove(t: MemoryTransport): void {
    this.endpoints.delete(t);
  }

  get size(): number {
    return this.endpoints.size;
  }
}

export class MemoryTransport extends EventEmitter<TransportEvents> implements Transport {
  private closed = false;

  constructor(
    private readonly net: MemoryNetwork,
    private readonly source: Source,
  ) {
    super();
  }

  send(bytes: Buffer): void {
    if (this.closed) {
      this.emit("warning", new Error("send on closed transport"));
      return;
    }
    const copy = Buffer.from(bytes);
    queueMicrotask(() => this.net.deliver(this, copy));
  }

  /** @internal called by the network */
  receive(bytes: Buffer, from: Source): void {
    if (this.closed) return;
    queueMicrotask(() => {
      if (!this.closed) this.emit("datagram", bytes, from);
    });
  }

  localSource(): Source {
    return this.source;
  }

  ready(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.net.remove(this);
      this.emit("close");
    }
    return Promise.resolve();
  }
}
