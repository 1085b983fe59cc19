/**
 * Integration: Channels over real UdpTransports on a 239.x group, on 127.0.0.1, on a free port.
 * Each receives every other's datagrams exactly once and never its own; SEQ from 1 per sender;
 * rename(); invalid datagrams from a raw socket dropped and counted by reason; close() leaves the
 * group; a bad interface is a clear, handled error.
 */
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { describe, expect, it } from "vitest";
import { Channel } from "../../shared/channel.js";
import { describeTransportError } from "../../shared/cli.js";
import type { ChanMessage } from "../../shared/codec.js";
import type { Source } from "../../shared/transport.js";
import { TransportError } from "../../shared/transport.js";
import { UdpTransport } from "../../shared/udp_transport.js";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeUdpPort } from "../helpers/net.js";
import { until } from "../helpers/until.js";

const IFACE = "127.0.0.1";
/** A group of our own, so no other test's traffic can reach these sockets. */
const GROUP = `239.77.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;

const cleanups = cleanupsAfterEach();

interface Peer {
  ch: Channel;
  transport: UdpTransport;
  got: { msg: ChanMessage; from: Source }[];
  invalid: { reason: string; text: string; from: Source }[];
}

async function peer(port: number, id: string): Promise<Peer> {
  const transport = new UdpTransport({ group: GROUP, port, iface: IFACE, ttl: 1, loopback: true });
  await transport.ready();
  const ch = new Channel(transport, { id });
  const p: Peer = { ch, transport, got: [], invalid: [] };
  ch.on("message", (msg, from) => p.got.push({ msg, from }));
  ch.on("invalid", (reason, text, from) => p.invalid.push({ reason, text, from }));
  cleanups.push(() => ch.close());
  return p;
}

const settle = (ms = 150) => new Promise((r) => setTimeout(r, ms));

/** Members (users) of a group on lo, from the kernel's table. */
function igmpUsers(group: string): number {
  const hex = group
    .split(".")
    .reverse()
    .map((o) => Number(o).toString(16).padStart(2, "0"))
    .join("")
    .toUpperCase();
  let onLo = false;
  for (const line of readFileSync("/proc/net/igmp", "utf8").split("\n")) {
    if (/^\d+\s/.test(line)) onLo = /^\d+\s+lo\s/.test(line);
    else if (onLo) {
      const m = /^\s+([0-9A-F]{8})\s+(\d+)/.exec(line);
      if (m && m[1] === hex) return Number(m[2]);
    }
  }
  return 0;
}

function rawSender(): Promise<Socket> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, IFACE, () => {
      s.setMulticastInterface(IFACE);
      s.setMulticastTTL(1);
      resolve(s);
    });
    cleanups.push(() => new Promise<void>((r) => s.close(() => r())));
  });
}

describe("three UDP channels on one group", () => {
  it("each receives every other's messages exactly once, never its own, SEQ from 1", async () => {
    const port = await freeUdpPort();
    const peers = [await peer(port, "AAAA0001"), await peer(port, "BBBB0002"), await peer(port, "CCCC0003")];
    const K = 20;
    for (let i = 0; i < K; i++) for (const p of peers) expect(p.ch.send("BEAT", "*", [`n${i + 1}`])).toBe(i + 1);
    await until("every message", () => peers.every((p) => p.got.length >= 2 * K));
    await settle(); // any duplicate or looped-back datagram would arrive by now
    for (const p of peers) {
      expect(p.got).toHaveLength(2 * K);
      expect(p.got.some((g) => g.msg.sender === p.ch.id)).toBe(false);
      for (const other of peers.filter((o) => o !== p)) {
        const from = p.got.filter((g) => g.msg.sender === other.ch.id);
        expect(from.map((g) => g.msg.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: K }, (_, i) => i + 1));
        expect(from.every((g) => g.msg.words[0] === `n${g.msg.seq}`)).toBe(true);
        // The source is the sender's send socket, not the shared group port.
        expect(from.every((g) => g.from.port === other.transport.localSource()?.port)).toBe(true);
      }
      expect(p.ch.stats).toMatchObject({ sent: K, received: 2 * K, invalid: 0 });
    }
  });

  it("rename() changes the sender field; the sequence carries on", async () => {
    const port = await freeUdpPort();
    const [a, b] = [await peer(port, "AAAA0001"), await peer(port, "BBBB0002")];
    a.ch.send("BEAT", "*", ["Beep"]);
    a.ch.rename("DDDD0004");
    a.ch.send("BEAT", "*", ["Beep"]);
    await until("two messages", () => b.got.length >= 2);
    expect(b.got.map((g) => g.msg.text)).toEqual(["AAAA0001 1 BEAT * Beep", "DDDD0004 2 BEAT * Beep"]);
  });

  it("drops invalid datagrams from the group and counts them by reason", async () => {
    const port = await freeUdpPort();
    const peers = [await peer(port, "AAAA0001"), await peer(port, "BBBB0002"), await peer(port, "CCCC0003")];
    const raw = await rawSender();
    const bad = [
      "",
      "HELLO",
      "X 1 BEAT",
      "X -3 BEAT * x",
      "X 1 beat * x",
      "X/Y 1 BEAT * x",
      "X 1 BEAT ** x",
      "X 1 BEAT * ".padEnd(1025, "z"),
    ];
    const send = (s: string | Buffer) =>
      new Promise<void>((r) => raw.send(typeof s === "string" ? Buffer.from(s) : s, port, GROUP, () => r()));
    for (const s of bad) await send(s);
    await send(Buffer.from([0x45, 0x32, 0x20, 0x31, 0x20, 0x42, 0x45, 0x41, 0x54, 0x20, 0x2a, 0x20, 0xff, 0xfe]));
    await send("RAW00001 1 BEAT * still fine");
    await until("all datagrams", () => peers.every((p) => p.got.length >= 1 && p.invalid.length >= bad.length));
    await settle();
    const rawPort = (raw.address() as { port: number }).port;
    for (const p of peers) {
      // The invalid-UTF-8 one parses (replacement characters), so it is a message.
      expect(p.got.map((g) => g.msg.text)).toEqual(["E2 1 BEAT * \uFFFD\uFFFD", "RAW00001 1 BEAT * still fine"]);
      expect(p.ch.stats.invalidByReason).toEqual({
        "too-few-fields": 3,
        "bad-seq": 1,
        "bad-opcode": 1,
        "bad-sender": 1,
        "bad-dest": 1,
        oversize: 1,
      });
      expect(p.ch.stats.invalid).toBe(bad.length);
      expect(p.invalid.every((i) => i.from.port === rawPort && i.from.address === IFACE)).toBe(true);
    }
  });
});

describe("close()", () => {
  it("leaves the group, stops delivery, and is idempotent", async () => {
    const port = await freeUdpPort();
    const [a, b] = [await peer(port, "AAAA0001"), await peer(port, "BBBB0002")];
    expect(igmpUsers(GROUP)).toBeGreaterThanOrEqual(2);
    const before = igmpUsers(GROUP);
    let closed = 0;
    b.transport.on("close", () => closed++);
    await b.ch.close();
    await b.ch.close();
    expect(closed).toBe(1);
    expect(igmpUsers(GROUP)).toBe(before - 1);
    a.ch.send("BEAT", "*");
    await settle();
    expect(b.got).toEqual([]);
    const warnings: Error[] = [];
    b.ch.on("warning", (e) => warnings.push(e));
    b.ch.send("BEAT", "*");
    expect(warnings).toHaveLength(1);
    await a.ch.close();
    expect(igmpUsers(GROUP)).toBe(before - 2);
  });

  it("waits for a send in flight: a leaving peer's last message is not lost", async () => {
    const port = await freeUdpPort();
    const [a, b] = [await peer(port, "AAAA0001"), await peer(port, "BBBB0002")];
    a.ch.send("EXIT", "*", ["Offline"]);
    await a.ch.close();
    await until("the EXIT", () => b.got.length === 1);
    expect(b.got[0]?.msg.opcode).toBe("EXIT");
  });
});

/** Members of an IPv6 group on lo (/proc/net/igmp6 writes the address as 32 hex digits). */
function igmp6Users(hex32: string): number {
  for (const line of readFileSync("/proc/net/igmp6", "utf8").split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f[1] === "lo" && f[2] === hex32) return Number(f[3]);
  }
  return 0;
}
const hasV6Loopback = Object.values(networkInterfaces()).some((l) => l?.some((i) => i.address === "::1"));

describe("IPv6 group", () => {
  it.skipIf(!hasV6Loopback)("joins on ::1 and close() leaves", async () => {
    const port = await freeUdpPort();
    const t = new UdpTransport({ group: "ff05::ef:77:1:2", port, iface: "::1", ttl: 1 });
    await t.ready();
    expect(t.localSource()?.address).toBe("::1");
    const hex = "ff0500000000000000ef007700010002";
    expect(igmp6Users(hex)).toBeGreaterThanOrEqual(1);
    const before = igmp6Users(hex);
    await t.close();
    expect(igmp6Users(hex)).toBe(before - 1);
  });
});

describe("fatal socket errors", () => {
  it("an interface that is not this host's: ready() rejects with a clear message, 'error' is emitted", async () => {
    const port = await freeUdpPort();
    const t = new UdpTransport({ group: GROUP, port, iface: "10.255.255.1", ttl: 1 });
    const errors: Error[] = [];
    t.on("error", (e) => errors.push(e));
    const err = await t.ready().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TransportError);
    const te = err as TransportError;
    expect(["EADDRNOTAVAIL", "ENODEV"]).toContain(te.code);
    expect(te.message).toContain("10.255.255.1");
    expect(te.step).toBe("join");
    expect(describeTransportError(te)).toMatch(
      /^cannot join the group 239\.\S+ port \d+ on 10\.255\.255\.1: \w+ \(chanIface is not an address of this host/,
    );
    await settle(20);
    expect(errors).toEqual([te]);
    await t.close();
  });

  it("nobody listening for 'error': nothing thrown, nothing unhandled", async () => {
    const port = await freeUdpPort();
    const t = new UdpTransport({ group: GROUP, port, iface: "10.255.255.1", ttl: 1 });
    await expect(t.ready()).rejects.toBeInstanceOf(TransportError);
    await settle(20);
    // A transport never awaited does not leave an unhandled rejection behind either.
    new UdpTransport({ group: GROUP, port, iface: "10.255.255.2", ttl: 1 });
    await settle(50);
  });
});
