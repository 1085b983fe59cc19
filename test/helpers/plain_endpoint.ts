/**
 * A minimal multi-sender endpoint for host tests before the stack's one lands: one transport,
 * one parse, senders with their own id and sequence. No reliability layer.
 */
import { EventEmitter } from "node:events";
import type { HostEndpoint, HostSender } from "../../dnabot/host.js";
import type { ChannelEvents } from "../../shared/channel.js";
import { encodeLine, formatBody, formatLine, parseDatagram } from "../../shared/codec.js";
import type { Transport } from "../../shared/transport.js";

export class PlainEndpoint extends EventEmitter<ChannelEvents> implements HostEndpoint {
  parsed = 0;
  constructor(readonly transport: Transport) {
    super();
    transport.on("datagram", (bytes, source) => {
      this.parsed++;
      const r = parseDatagram(bytes);
      if (r.ok) this.emit("message", r.msg, source);
      else this.emit("invalid", r.reason, r.text, source);
    });
  }
  openSender(id: string): HostSender {
    const t = this.transport;
    let seq = 1;
    let name = id;
    return {
      get id() {
        return name;
      },
      send(opcode, dest, args = []) {
        const s = seq++;
        t.send(encodeLine(formatLine(name, s, formatBody(opcode, dest, args))));
        return s;
      },
      rename(n) {
        name = n;
      },
      close: () => Promise.resolve(),
    };
  }
  close(): Promise<void> {
    return this.transport.close();
  }
}
