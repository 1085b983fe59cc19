/**
 * Transport: moves raw datagrams to and from the group. It knows nothing of the message format.
 * Implementations: UdpTransport (node:dgram multicast) and MemoryTransport (tests).
 * Wrappers (the loss simulator) implement the same interface around another transport.
 *
 * Events, in the style of multicast-dns:
 *   'datagram' (bytes, source)  a datagram from another peer (never our own)
 *   'error'    (err)            fatal: the transport cannot work (bind failed, ...)
 *   'warning'  (err)            recoverable: a send failed, ...
 *   'close'    ()
 */
import type { EventEmitter } from "node:events";

export interface Source {
  address: string;
  port: number;
}

export interface TransportEvents {
  datagram: [bytes: Buffer, source: Source];
  error: [err: Error];
  warning: [err: Error];
  listening: [];
  close: [];
}

export interface Transport extends EventEmitter<TransportEvents> {
  /** Send one datagram to the group. Failures are reported as 'warning'. */
  send(bytes: Buffer): void;
  /** Leave the group and release the sockets. Idempotent. */
  close(): Promise<void>;
  /** Where our own datagrams come from (for logs and tests); undefined until bound. */
  localSource(): Source | undefined;
  /** Resolves once the transport can send and receive (sockets bound, group joined). */
  ready(): Promise<void>;
}
