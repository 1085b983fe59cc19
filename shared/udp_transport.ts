/**
 * UDP multicast transport over node:dgram, as multicast-dns does it: one socket bound to the
 * group port (reuseAddr, so every program on the host receives every datagram) that joins the
 * group on chanIface, and a separate send socket on an ephemeral port, so that our own
 * datagrams, looped back by the kernel, are recognised by their source and never delivered.
 *
 * Fatal socket errors (EADDRINUSE, EACCES, EADDRNOTAVAIL, ...) → 'error'; anything else → 'warning'.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { EventEmitter } from "node:events";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";
import { type Source, type Transport, TransportError, type TransportEvents, type TransportStep } from "./transport.js";

export interface UdpOptions {
  group: string;
  port: number;
  /** Address of the interface to multicast on (127.0.0.1 / ::1 for host-local). */
  iface: string;
  ttl?: number;
  loopback?: boolean;
  /** Receive socket buffer, bytes (SO_RCVBUF; the kernel caps it at net.core.rmem_max). A busy
   *  group arrives in bursts: a larger buffer lets a briefly busy program catch up instead of
   *  losing datagrams (which then cost NACK traffic). 0 keeps the system default. Default 1 MiB. */
  recvBuffer?: number;
}

export const DEFAULT_RECV_BUFFER = 1 << 20;

const FATAL = new Set([
  "EADDRINUSE",
  "EACCES",
  "EADDRNOTAVAIL",
  "EPERM",
  "ENODEV",
  "EINVAL",
  "EAFNOSUPPORT",
  "ENOPROTOOPT",
]);

/** For IPv6, node wants the interface as `::%name`; find the name that owns the address. */
export function ipv6InterfaceSpec(addr: string): string | undefined {
  if (addr.includes("%")) return addr.startsWith("::%") ? addr : `::%${addr.split("%")[1]}`;
  if (addr === "::" || addr === "") return undefined;
  for (const [name, infos] of Object.entries(networkInterfaces())) {
    for (const info of infos ?? []) {
      if (info.family === "IPv6" && info.address === addr) return `::%${name}`;
    }
  }
  return undefined;
}

function localAddresses(): Set<string> {
  const out = new Set<string>();
  for (const infos of Object.values(networkInterfaces())) for (const i of infos ?? []) out.add(i.address);
  return out;
}

export class UdpTransport extends EventEmitter<TransportEvents> implements Transport {
  private readonly v6: boolean;
  private recvSock: Socket | undefined;
  private sendSock: Socket | undefined;
  private self: Source | undefined;
  private selfAddrs: Set<string> | undefined;
  private readonly readyP: Promise<void>;
  private closed = false;
  private joined = false;
  /** Sends handed to the kernel but not yet completed; close() waits for them (a leaving
   *  program's last datagram, e.g. EXIT, would otherwise be lost). */
  private sending = 0;
  private readonly sendsDone: (() => void)[] = [];
  private ifaceSpec: string | undefined;

  constructor(readonly opts: UdpOptions) {
    super();
    this.v6 = isIP(opts.group) === 6;
    this.readyP = this.open();
    // The promise is also reported as an 'error' event; don't let it become unhandled.
    this.readyP.catch(() => {});
  }

  ready(): Promise<void> {
    return this.readyP;
  }

  localSource(): Source | undefined {
    return this.self;
  }

  private fail(step: TransportStep, err: NodeJS.ErrnoException): TransportError {
    const { group, port, iface } = this.opts;
    return new TransportError(
      `${step} failed for ${group} port ${port} on ${iface}: ${err.code ?? err.message}`,
      err.code,
      err,
      step,
      { group, port, iface },
    );
  }

  private async open(): Promise<void> {
    const type = this.v6 ? "udp6" : "udp4";
    const { group, port, iface } = this.opts;
    try {
      this.ifaceSpec = this.v6 ? ipv6InterfaceSpec(iface) : iface;
      if (this.v6 && this.ifaceSpec === undefined && iface !== "::") {
        const e = new Error("no interface has that address") as NodeJS.ErrnoException;
        e.code = "EADDRNOTAVAIL";
        throw e;
      }
      // Receive socket: bound to the group port; joined on the chosen interface.
      const recv = createSocket({ type, reuseAddr: true });
      this.recvSock = recv;
      recv.on("message", (buf, rinfo) => this.onMessage(buf, rinfo));
      // Bound to the group address (Linux filters out unicast and other groups on this port);
      // systems that refuse that get the wildcard address, as the original used.
      await bind(recv, port, group).catch(async (e: NodeJS.ErrnoException) => {
        if (e.code !== "EADDRNOTAVAIL" && e.code !== "EINVAL") throw this.fail("bind", e);
        await bind(recv, port, this.v6 ? "::" : "0.0.0.0").catch((e2) => {
          throw this.fail("bind", e2);
        });
      });
      try {
        recv.addMembership(group, this.ifaceSpec);
        this.joined = true;
      } catch (e) {
        throw this.fail("join", e as NodeJS.ErrnoException);
      }
      recv.on("error", (e) => this.onSocketError(e as NodeJS.ErrnoException));
      const want = this.opts.recvBuffer ?? DEFAULT_RECV_BUFFER;
      if (want > 0) {
        try {
          recv.setRecvBufferSize(want);
        } catch (e) {
          // Only an optimisation: the default buffer works, it just overflows sooner.
          this.emit("warning", e as Error);
        }
      }

      // Send socket: ephemeral port on the interface, so our packets are recognisable.
      const send = createSocket({ type });
      this.sendSock = send;
      await bind(send, 0, iface).catch((e) => {
        throw this.fail("bind-send", e);
      });
      try {
        if (this.ifaceSpec !== undefined) send.setMulticastInterface(this.ifaceSpec);
        send.setMulticastTTL(this.opts.ttl ?? 1);
        send.setMulticastLoopback(this.opts.loopback ?? true);
      } catch (e) {
        throw this.fail("configure", e as NodeJS.ErrnoException);
      }
      send.on("error", (e) => this.onSocketError(e as NodeJS.ErrnoException));
      const a = send.address();
      this.self = { address: a.address, port: a.port };
      if (a.address === "0.0.0.0" || a.address === "::") this.selfAddrs = localAddresses();
      this.emit("listening");
    } catch (e) {
      const err = e instanceof TransportError ? e : this.fail("open", e as NodeJS.ErrnoException);
      await this.close();
      // Reported through ready() too; only emit when someone listens, or Node would throw.
      queueMicrotask(() => {
        if (this.listenerCount("error") > 0) this.emit("error", err);
      });
      throw err;
    }
  }

  private isOwn(rinfo: RemoteInfo): boolean {
    if (!this.self || rinfo.port !== this.self.port) return false;
    const addr = rinfo.address.split("%")[0] as string;
    if (this.selfAddrs) return this.selfAddrs.has(addr);
    return addr === this.self.address.split("%")[0];
  }

  private onMessage(buf: Buffer, rinfo: RemoteInfo): void {
    if (this.closed || this.isOwn(rinfo)) return;
    // rinfo is a fresh object per datagram, and a Source: no copy (a flood is read this way).
    this.emit("datagram", buf, rinfo);
  }

  private onSocketError(err: NodeJS.ErrnoException): void {
    if (err.code && FATAL.has(err.code)) this.emit("error", this.fail("use", err));
    else this.emit("warning", err);
  }

  send(bytes: Buffer): void {
    const s = this.sendSock;
    if (this.closed || !s || !this.self) {
      this.emit("warning", new TransportError("send before the channel is open, or after close", undefined));
      return;
    }
    this.sending++;
    s.send(bytes, this.opts.port, this.opts.group, (err) => {
      this.sending--;
      if (err) this.emit("warning", err);
      if (this.sending === 0) for (const done of this.sendsDone.splice(0)) done();
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.sending > 0) await new Promise<void>((r) => this.sendsDone.push(r));
    const recv = this.recvSock;
    const send = this.sendSock;
    if (recv && this.joined) {
      try {
        recv.dropMembership(this.opts.group, this.ifaceSpec);
      } catch {
        // Leaving fails only if the socket is already gone; nothing to do.
      }
    }
    await Promise.all([closeSock(recv), closeSock(send)]);
    this.emit("close");
  }
}

/** Bind a datagram socket; rejects with the socket error (EADDRINUSE, EADDRNOTAVAIL, ...). */
export function bind(sock: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onErr = (e: Error): void => reject(e);
    sock.once("error", onErr);
    sock.bind({ port, address, exclusive: false }, () => {
      sock.off("error", onErr);
      resolve();
    });
  });
}

/** Close a datagram socket, bound or not; never rejects. */
export function closeSock(sock: Socket | undefined): Promise<void> {
  if (!sock) return Promise.resolve();
  return new Promise((resolve) => {
    try {
      sock.close(() => resolve());
    } catch {
      resolve(); // not running (never bound): nothing to close
    }
  });
}
