/** The in-memory transport and the Channel over it: what unit tests of bots and supervisors rely on. */
import { describe, expect, it } from "vitest";
import { Channel, MessageTooLargeError } from "../../shared/channel.js";
import { flushMicrotasks } from "../../shared/clock.js";
import type { ChanMessage } from "../../shared/codec.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import type { Source } from "../../shared/transport.js";

function record(t: { on: (e: "datagram", f: (b: Buffer, s: Source) => void) => unknown }) {
  const got: { text: string; from: Source }[] = [];
  t.on("datagram", (b, s) => got.push({ text: b.toString(), from: s }));
  return got;
}

describe("MemoryTransport", () => {
  it("delivers each datagram to every other endpoint once, never back to the sender", async () => {
    const net = new MemoryNetwork();
    const [a, b, c] = [net.endpoint(), net.endpoint(), net.endpoint()];
    const [ga, gb, gc] = [record(a), record(b), record(c)];
    a.send(Buffer.from("from a"));
    b.send(Buffer.from("from b"));
    await flushMicrotasks();
    expect(ga.map((g) => g.text)).toEqual(["from b"]);
    expect(gb.map((g) => g.text)).toEqual(["from a"]);
    expect(gc.map((g) => g.text)).toEqual(["from a", "from b"]);
    expect(gc[0]?.from).toEqual(a.localSource());
    expect(net.sent.map((s) => s.bytes.toString())).toEqual(["from a", "from b"]);
  });

  it("delivers asynchronously, so send() never re-enters the caller", async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint();
    const got = record(net.endpoint());
    a.send(Buffer.from("x"));
    expect(got).toEqual([]);
    await flushMicrotasks();
    expect(got).toHaveLength(1);
  });

  it("copies the bytes: changing the buffer after send() changes nothing", async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint();
    const got = record(net.endpoint());
    const buf = Buffer.from("original");
    a.send(buf);
    buf.write("CHANGED!");
    await flushMicrotasks();
    expect(got[0]?.text).toBe("original");
  });

  it("gives each endpoint its own source port", () => {
    const net = new MemoryNetwork();
    const ports = [net.endpoint(), net.endpoint(), net.endpoint("10.0.0.2")].map((e) => e.localSource());
    expect(new Set(ports.map((p) => p.port)).size).toBe(3);
    expect(ports[2]?.address).toBe("10.0.0.2");
  });

  it("after close(): leaves the network, receives nothing, and a send is a warning", async () => {
    const net = new MemoryNetwork();
    const a = net.endpoint();
    const b = net.endpoint();
    const got = record(b);
    const warnings: Error[] = [];
    b.on("warning", (e) => warnings.push(e));
    let closed = 0;
    b.on("close", () => closed++);
    a.send(Buffer.from("in flight"));
    await b.close();
    await b.close();
    await flushMicrotasks();
    expect(got).toEqual([]);
    expect(net.size).toBe(1);
    expect(closed).toBe(1);
    b.send(Buffer.from("late"));
    expect(warnings).toHaveLength(1);
    await expect(a.ready()).resolves.toBeUndefined();
  });
});

describe("Channel over MemoryTransport", () => {
  function group(n: number) {
    const net = new MemoryNetwork();
    return Array.from({ length: n }, (_, i) => {
      const ch = new Channel(net.endpoint(), { id: `BOT0000${i}` });
      const got: ChanMessage[] = [];
      ch.on("message", (m) => got.push(m));
      return { ch, got, net };
    });
  }

  it("stamps sender and SEQ from 1 per sender", async () => {
    const [a, b] = group(2) as [ReturnType<typeof group>[0], ReturnType<typeof group>[0]];
    expect(a.ch.send("BEAT", "*", ["Beep"])).toBe(1);
    expect(a.ch.send("NEWS", "*", ["Discovery"])).toBe(2);
    expect(b.ch.send("BEAT", "*", ["Beep"])).toBe(1);
    await flushMicrotasks();
    expect(b.got.map((m) => m.text)).toEqual(["BOT00000 1 BEAT * Beep", "BOT00000 2 NEWS * Discovery"]);
    expect(a.got.map((m) => m.text)).toEqual(["BOT00001 1 BEAT * Beep"]);
    expect(a.ch.stats).toMatchObject({ sent: 2, received: 1, invalid: 0 });
  });

  it("rename() changes the sender; the sequence carries on", async () => {
    const [a, b] = group(2) as [ReturnType<typeof group>[0], ReturnType<typeof group>[0]];
    a.ch.send("BEAT", "*", ["Beep"]);
    a.ch.rename("NEWNAME1");
    expect(a.ch.id).toBe("NEWNAME1");
    expect(a.ch.send("BEAT", "*", ["Beep"])).toBe(2);
    await flushMicrotasks();
    expect(b.got.map((m) => [m.sender, m.seq])).toEqual([
      ["BOT00000", 1],
      ["NEWNAME1", 2],
    ]);
  });

  it("the link sends under any id and number (SEQ 0 control messages) without using up the channel's", async () => {
    const [a, b] = group(2) as [ReturnType<typeof group>[0], ReturnType<typeof group>[0]];
    expect(a.ch.link.sendAs("BOT00000", 0, "NACK", "*", ["BOT00001", "3"])).toBe(true);
    expect(a.ch.send("BEAT", "*")).toBe(1);
    await flushMicrotasks();
    expect(b.got.map((m) => m.text)).toEqual(["BOT00000 0 NACK * BOT00001 3", "BOT00000 1 BEAT *"]);
  });

  it("refuses a message over PKT_SIZE with a warning, without using a sequence number", async () => {
    const net = new MemoryNetwork();
    const a = new Channel(net.endpoint(), { id: "BOT00000", pktSize: 64 });
    const warnings: Error[] = [];
    a.on("warning", (e) => warnings.push(e));
    expect(a.send("NEWS", "*", ["x".repeat(64)])).toBeUndefined();
    expect(warnings[0]).toBeInstanceOf(MessageTooLargeError);
    expect(warnings[0]).toMatchObject({ size: 82, limit: 64 });
    expect(a.send("BEAT", "*")).toBe(1);
    expect(net.sent).toHaveLength(0); // delivery is a microtask away
    await flushMicrotasks();
    expect(net.sent).toHaveLength(1);
  });

  it("drops and counts invalid datagrams by reason, reporting each", async () => {
    const net = new MemoryNetwork();
    const ch = new Channel(net.endpoint(), { id: "BOT00000", pktSize: 100 });
    const raw = net.endpoint();
    const invalid: string[] = [];
    const good: ChanMessage[] = [];
    ch.on("invalid", (reason) => invalid.push(reason));
    ch.on("message", (m) => good.push(m));
    for (const s of ["hello", "A 1 BEAT", "A x BEAT *", "A 1 beat *", "A/B 1 BEAT *", "A 1 BEAT **", "A 2 BEAT * ok"]) {
      raw.send(Buffer.from(s));
    }
    raw.send(Buffer.alloc(101, 0x41));
    await flushMicrotasks();
    expect(good.map((m) => m.text)).toEqual(["A 2 BEAT * ok"]);
    expect(invalid).toEqual([
      "too-few-fields",
      "too-few-fields",
      "bad-seq",
      "bad-opcode",
      "bad-sender",
      "bad-dest",
      "oversize",
    ]);
    expect(ch.stats.invalid).toBe(7);
    expect(ch.stats.invalidByReason).toEqual({
      "too-few-fields": 2,
      "bad-seq": 1,
      "bad-opcode": 1,
      "bad-sender": 1,
      "bad-dest": 1,
      oversize: 1,
    });
    expect(ch.stats.received).toBe(1);
  });

  it("close() leaves the network", async () => {
    const [a, b] = group(2) as [ReturnType<typeof group>[0], ReturnType<typeof group>[0]];
    await b.ch.close();
    a.ch.send("BEAT", "*");
    await flushMicrotasks();
    expect(b.got).toEqual([]);
    expect(a.net.size).toBe(1);
  });
});
