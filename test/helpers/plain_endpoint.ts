/**
 * A minimal multi-sender endpoint for host tests: one transport, one parse (a Link), senders
 * with their own id and sequence. No reliability layer (shared/reliable/endpoint.ts is the real
 * one).
 */
import { EventEmitter } from "node:events";
import type { HostEndpoint, HostSender } from "../../dnabot/host.js";
import { type ChannelEvents, Link } from "../../shared/channel.js";
import type { Transport } from "../../shared/transport.js";

export class PlainEndpoint extends EventEmitter<ChannelEvents> implements HostEndpoint {
  parsed = 0;
  readonly link: Link;
  constructor(readonly transport: Transport) {
    super();
    this.link = new Link(transport);
    this.link.on("message", (msg, source) => {
      this.parsed++;
      this.emit("message", msg, source);
    });
    this.link.on("invalid", (reason, text, source) => {
      this.parsed++;
      this.emit("invalid", reason, text, source);
    });
  }
  openSender(id: string): HostSender {
    const link = this.link;
    let seq = 1;
    let name = id;
    return {
      get id() {
        return name;
      },
      get nextSeq() {
        return seq;
      },
      measure: (opcode, dest, args = []) => link.measure(name, seq, opcode, dest, args),
      fits: (opcode, dest, args = []) => link.measure(name, seq, opcode, dest, args) <= link.pktSize,
      send(opcode, dest, args = []) {
        if (!link.sendAs(name, seq, opcode, dest, args)) return undefined;
        return seq++;
      },
      rename(n) {
        name = n;
      },
      close: () => Promise.resolve(),
    };
  }
  close(): Promise<void> {
    return this.link.close();
  }
}
