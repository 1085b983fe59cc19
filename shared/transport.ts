/**
 * Transport: moves raw datagrams to and from the group. It knows nothing of the message format.
 * TransportError (a socket failure, with its step and errno code) lives here too, so programs
 * report it without importing the UDP implementation.
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
  /** Set by a reader that drops datagrams on purpose (Link's per-source read budget): how many
   *  from this source it dropped just before this one. Their numbers are not worth asking for
   *  again: the source is flooding, and a repair would only add to its traffic. */
  dropped?: number;
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

/** What the transport was doing when a socket failed (for the translated message, cli.ts). */
export type TransportStep = "bind" | "join" | "bind-send" | "configure" | "open" | "use" | "send";

/** A socket error with the facts people need to act on: what failed, where, and the errno code.
 *  The message is English for logs; programs show describeTransportError() (translated). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    override readonly cause?: unknown,
    readonly step: TransportStep = "open",
    readonly where?: { group: string; port: number; iface: string },
  ) {
    super(message);
    this.name = "TransportError";
  }
}
