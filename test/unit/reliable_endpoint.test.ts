import { describe, expect, it } from "vitest";
import { Channel, Link, PlainEndpoint } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import type { ChanMessage } from "../../shared/codec.js";
import { loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { endpointOver, SUPERSEDED_OPCODES } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { ReliableEndpoint } from "../../shared/reliable/endpoint.js";
import type { Source } from "../../shared/transport.js";
import { drain, FilterTransport, Group, seqsFrom } from "../helpers/reliable_group.js";

/** A host-like endpoint on the group's network: one link, many local senders. */
function hostOn(g: Group, opts: { lingerMs?: number } = {}) {
  const ep = g.net.endpoint("127.0.0.9");
  const filter = new FilterTransport(ep);
  const endpoint = new ReliableEndpoint(new Link(filter), {
    clock: g.clock,
    rng: seededRng(99),
    superseded: SUPERSEDED_OPCODES,
    ...opts,
  });
  const got: { msg: ChanMessage; source: Source }[] = [];
  endpoint.on("message", (msg, source) => got.push({ msg, source }));
  return { endpoint, filter, got, source: ep.localSource() };
}

const texts = (got: { msg: ChanMessage }[]) => got.map((r) => r.msg.text);

describe("ReliableEndpoint: one receive pipeline, many local senders", () => {
  it("emits each message from the group once, whatever the number of local senders", async () => {
    const g = new Group();
    const host = hostOn(g);
    for (let i = 0; i < 50; i++) host.endpoint.openSender(`B${String(i).padStart(7, "0")}`);
    const sup = g.peer("HUMAN-0001");
    sup.chan.send("PING", "*");
    sup.chan.send("KILL", "B0000003");
    await g.run(200);
    expect(texts(host.got)).toEqual(["HUMAN-0001 1 PING *", "HUMAN-0001 2 KILL B0000003"]);
    // The endpoint never hands messages to senders by itself: the host's dispatcher does.
    const s = host.endpoint.sender("B0000003");
    const seen: string[] = [];
    s?.on("message", (m) => seen.push(m.text));
    s?.deliver(host.got[1]?.msg as ChanMessage, sup.source);
    expect(seen).toEqual(["HUMAN-0001 2 KILL B0000003"]);
  });

  it("gives each sender its own id and sequence numbers, and other peers see separate streams", async () => {
    const g = new Group();
    const host = hostOn(g);
    const a = host.endpoint.openSender("AAAA0001");
    const b = host.endpoint.openSender("BBBB0001");
    const rx = g.peer("R0000001");
    expect(a.send("NEWS", "*", ["a1"])).toBe(1);
    expect(b.send("NEWS", "*", ["b1"])).toBe(1);
    expect(a.send("BEAT", "*", ["Beep"])).toBe(2);
    expect(b.nextSeq).toBe(2);
    await g.run(100);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1, 2]);
    expect(seqsFrom(rx, "BBBB0001")).toEqual([1]);
    // Only a's BEAT carries prior= (its latest non-BEAT, 1); the layer removed it for rx.
    expect(g.wire("BEAT").map((m) => m.text)).toEqual(["AAAA0001 2 BEAT * Beep prior=1"]);
    expect(() => host.endpoint.openSender("AAAA0001")).toThrow(/already open/);
  });

  it("repairs every local sender's lost messages, each answered under its own id", async () => {
    const g = new Group();
    const host = hostOn(g);
    const senders = ["AAAA0001", "BBBB0001", "CCCC0001"].map((id) => host.endpoint.openSender(id));
    const rx = g.peer("R0000001");
    // The second message of each sender is lost on the way to rx.
    rx.filter.drop = (text, dir) => dir === "recv" && /^\S+ 2 NEWS /.test(text);
    for (const s of senders) for (let i = 1; i <= 3; i++) s.send("NEWS", "*", [`${s.id}-${i}`]);
    await g.run(3_000);
    for (const s of senders) {
      expect(seqsFrom(rx, s.id).sort()).toEqual([1, 2, 3]);
      expect(g.wire("RSND", s.id).map((m) => m.sender)).toEqual([s.id]);
    }
    expect(host.endpoint.reliability.rsndSent).toBe(3);
  });

  it("announces each sender's LAST, so a lone lost message of any local sender is repaired", async () => {
    const g = new Group();
    const host = hostOn(g);
    const a = host.endpoint.openSender("AAAA0001");
    const b = host.endpoint.openSender("BBBB0001");
    const rx = g.peer("R0000001");
    rx.filter.drop = (text, dir) => dir === "recv" && /^\S+ 1 (EXIT|NEWS) /.test(text);
    a.send("NEWS", "*", ["only"]);
    b.send("EXIT", "*", ["bye"]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1]);
    expect(seqsFrom(rx, "BBBB0001")).toEqual([1]);
    expect(new Set(g.wire("LAST").map((m) => m.sender))).toEqual(new Set(["AAAA0001", "BBBB0001"]));
  });

  it("closing one sender (with its linger) does not close the endpoint or the other senders", async () => {
    const g = new Group();
    const host = hostOn(g, { lingerMs: 1_000 });
    const a = host.endpoint.openSender("AAAA0001");
    const b = host.endpoint.openSender("BBBB0001");
    const rx = g.peer("R0000001");
    // a's EXIT is lost to rx: only a holds it, and a lingers to repair it.
    rx.filter.drop = (text, dir) => dir === "recv" && text.startsWith("AAAA0001 1 EXIT");
    a.send("EXIT", "*", ["bye"]);
    let closed = false;
    const closing = a.close().then(() => {
      closed = true;
    });
    await g.run(500);
    expect(closed).toBe(false);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1]);
    await g.run(1_000);
    await closing;
    expect(closed).toBe(true);
    expect(host.endpoint.sender("AAAA0001")).toBeUndefined();
    expect(a.send("NEWS", "*")).toBeUndefined();
    // The endpoint still receives and b still sends.
    const sup = g.peer("HUMAN-0001");
    sup.chan.send("PING", "*");
    expect(b.send("NEWS", "*", ["still here"])).toBe(1);
    await g.run(200);
    expect(texts(host.got)).toContain("HUMAN-0001 1 PING *");
    expect(seqsFrom(rx, "BBBB0001")).toEqual([1]);
    // A new sender may take the id a closed one left.
    expect(host.endpoint.openSender("AAAA0001").nextSeq).toBe(1);
  });

  it("renames one sender only: its stream starts anew under the new id and its NACKs are answered", async () => {
    const g = new Group();
    const host = hostOn(g);
    const a = host.endpoint.openSender("AAAA0001");
    const b = host.endpoint.openSender("BBBB0001");
    const rx = g.peer("R0000001");
    a.send("NEWS", "*", ["before"]);
    await g.run(100);
    a.rename("AAAA0002");
    expect(host.endpoint.sender("AAAA0001")).toBeUndefined();
    expect(host.endpoint.sender("AAAA0002")).toBe(a);
    expect(b.id).toBe("BBBB0001");
    rx.filter.drop = (text, dir) => dir === "recv" && text.startsWith("AAAA0002 2 NEWS");
    a.send("NEWS", "*", ["after"]);
    a.send("NEWS", "*", ["again"]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0002").sort()).toEqual([2, 3]);
    expect(g.wire("RSND", "AAAA0002").map((m) => m.sender)).toEqual(["AAAA0002"]);
    expect(() => a.rename("BBBB0001")).toThrow(/already open/);
  });

  it("answers a NACK for a local sender's number with SKIP only if that number was sent", async () => {
    const g = new Group();
    const host = hostOn(g);
    const a = host.endpoint.openSender("AAAA0001");
    a.send("BEAT", "*", ["Beep"]);
    const asker = g.peer("R0000001", { legacy: true });
    const link = (asker.chan as Channel).link;
    link.sendAs("R0000001", 0, "NACK", "AAAA0001", ["1"]);
    link.sendAs("R0000001", 0, "NACK", "AAAA0001", ["2"]);
    link.sendAs("R0000001", 0, "NACK", "AAAA0001", ["999999999"]);
    await g.run(500);
    expect(g.wire("SKIP", "AAAA0001").map((m) => m.words[0])).toEqual(["1"]);
  });

  it("passes a message carrying a local sender's id (a collision) on, untracked", async () => {
    const g = new Group();
    const host = hostOn(g);
    host.endpoint.openSender("AAAA0001");
    const other = g.peer("AAAA0001");
    other.chan.send("BEAT", "*", ["Beep"]);
    other.chan.send("BEAT", "*", ["Beep"]);
    await g.run(100);
    expect(texts(host.got)).toEqual(["AAAA0001 1 BEAT * Beep prior=0", "AAAA0001 2 BEAT * Beep prior=0"]);
    expect(host.endpoint.trackedSenders).toBe(0);
  });

  it("never delivers a local sender's message back when another peer resends it", async () => {
    const g = new Group();
    const host = hostOn(g);
    const a = host.endpoint.openSender("AAAA0001");
    const peer = g.peer("R0000001");
    a.send("NEWS", "*", ["mine"]);
    await g.run(100);
    peer.rel?.endpoint.link.sendAs("R0000001", 0, "RSND", "AAAA0001", ["1", "NEWS", "*", "mine"]);
    await g.run(100);
    expect(host.got).toEqual([]);
  });

  it("NACKs gaps under the earliest open sender's id, and only listens when no sender is open", async () => {
    const g = new Group();
    const host = hostOn(g);
    const src = g.peer("SSSS0001");
    host.filter.drop = (text, dir) => dir === "recv" && text.startsWith("SSSS0001 2 ");
    for (let i = 1; i <= 3; i++) src.chan.send("NEWS", "*", [`m${i}`]);
    await g.run(2_000);
    // Nobody to speak for the endpoint: it waits, and repairs nothing.
    expect(g.wire("NACK")).toEqual([]);
    expect(host.endpoint.pendingGaps).toBe(1);
    host.endpoint.openSender("BBBB0001");
    host.endpoint.openSender("AAAA0001");
    src.chan.send("NEWS", "*", ["m4"]);
    host.filter.drop = (text, dir) => dir === "recv" && text.startsWith("SSSS0001 5 ");
    src.chan.send("NEWS", "*", ["m5"]);
    src.chan.send("NEWS", "*", ["m6"]);
    await g.run(3_000);
    expect(texts(host.got).filter((t) => t.startsWith("SSSS0001 5 "))).toHaveLength(1);
    expect(new Set(g.wire("NACK", "SSSS0001").map((m) => m.sender))).toEqual(new Set(["BBBB0001"]));
  });

  it("close() lets every sender linger, then leaves no timer and closes the link", async () => {
    const g = new Group();
    const host = hostOn(g, { lingerMs: 500 });
    const a = host.endpoint.openSender("AAAA0001");
    host.endpoint.openSender("BBBB0001");
    a.send("EXIT", "*", ["bye"]);
    let done = false;
    const closing = host.endpoint.close().then(() => {
      done = true;
    });
    expect(() => host.endpoint.openSender("CCCC0001")).toThrow(/closed/);
    await g.run(300);
    expect(done).toBe(false);
    await g.run(300);
    await closing;
    expect(done).toBe(true);
    expect(host.endpoint.pendingTimers).toBe(0);
    expect(host.endpoint.senders).toEqual([]);
  });
});

describe("the endpoint from config (bot hosts)", () => {
  const cfg = (overrides: Record<string, string>) =>
    loadConfig({ overrides: { chanPort: "18421", ...overrides }, readFile: () => undefined }).config;

  it("is reliable by default, plain with reliable=false; both emit each message once and keep senders apart", async () => {
    for (const [reliable, kind] of [
      ["true", ReliableEndpoint],
      ["false", PlainEndpoint],
    ] as const) {
      const net = new MemoryNetwork();
      const clock = new ManualClock();
      const ep = endpointOver(net.endpoint(), cfg({ reliable, linger: "0" }), { clock });
      expect(ep).toBeInstanceOf(kind);
      const a = ep.openSender("AAAA0001");
      const b = ep.openSender("BBBB0001");
      expect(ep.sender("BBBB0001")).toBe(b);
      const peer = new Channel(net.endpoint(), { id: "HUMAN-0001" });
      const got: string[] = [];
      ep.on("message", (m) => got.push(m.text));
      peer.send("PING", "*");
      expect([a.send("NEWS", "*"), a.send("NEWS", "*"), b.send("NEWS", "*")]).toEqual([1, 2, 1]);
      await drain();
      expect(got).toEqual(["HUMAN-0001 1 PING *"]);
      await a.close();
      expect(ep.sender("AAAA0001")).toBeUndefined();
      expect(b.send("NEWS", "*")).toBe(2);
      await ep.close();
    }
  });
});
