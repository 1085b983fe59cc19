import { describe, expect, it } from "vitest";
import { Channel, type GroupChannel, Link, MessageTooLargeError } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { parseDatagram } from "../../shared/codec.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { SUPERSEDED_OPCODES } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { ReliableChannel } from "../../shared/reliable/channel.js";
import { ReliableEndpoint } from "../../shared/reliable/endpoint.js";
import { drain } from "../helpers/reliable_group.js";

/** Every GroupChannel the stack builds, on a fresh network, with a small PKT_SIZE. */
const kinds: [string, (net: MemoryNetwork) => GroupChannel][] = [
  ["Channel", (net) => new Channel(net.endpoint(), { id: "AAAA0001", pktSize: 80 })],
  [
    "ReliableChannel",
    (net) =>
      new ReliableChannel(new Link(net.endpoint(), { pktSize: 80 }), {
        id: "AAAA0001",
        clock: new ManualClock(),
        rng: seededRng(1),
        superseded: SUPERSEDED_OPCODES,
      }),
  ],
  [
    "ReliableSender",
    (net) =>
      new ReliableEndpoint(new Link(net.endpoint(), { pktSize: 80 }), {
        clock: new ManualClock(),
        rng: seededRng(1),
        superseded: SUPERSEDED_OPCODES,
      }).openSender("AAAA0001"),
  ],
];

/** The sequenced datagrams on the wire, as text. */
function sequenced(net: MemoryNetwork): string[] {
  const out: string[] = [];
  for (const d of net.sent) {
    const r = parseDatagram(d.bytes);
    if (r.ok && r.msg.seq > 0) out.push(r.msg.text);
  }
  return out;
}

describe.each(kinds)("the GroupChannel contract: %s", (_name, make) => {
  it("nextSeq is the number the next send uses, from 1, and moves only when something is sent", async () => {
    const net = new MemoryNetwork();
    const ch = make(net);
    const warnings: Error[] = [];
    ch.on("warning", (e) => warnings.push(e));
    expect(ch.nextSeq).toBe(1);
    for (let i = 1; i <= 12; i++) {
      const expected = ch.nextSeq;
      expect(ch.send("NEWS", "*", [`n${i}`])).toBe(expected);
      expect(ch.nextSeq).toBe(expected + 1);
    }
    expect(ch.nextSeq).toBe(13);
    // Too large: undefined (never -1), nothing sent, nextSeq unchanged, a warning.
    expect(ch.send("NEWS", "*", ["x".repeat(100)])).toBeUndefined();
    expect(ch.nextSeq).toBe(13);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toBeInstanceOf(MessageTooLargeError);
    await drain();
    expect(sequenced(net)).toHaveLength(12);
    expect(sequenced(net).at(-1)).toBe("AAAA0001 12 NEWS * n12");
  });

  it("measure() is the size of the datagram send() would put on the wire; fits() compares it with PKT_SIZE", async () => {
    const net = new MemoryNetwork();
    const ch = make(net);
    for (let i = 0; i < 9; i++) ch.send("NEWS", "*");
    // Sequence number 10 counts two bytes.
    const words = ["Bip", "state=asimov"];
    for (const opcode of ["NEWS", "BEAT"]) {
      const size = ch.measure(opcode, "*", words);
      ch.send(opcode, "*", words);
      await drain();
      expect(net.sent.at(-1)?.bytes.length).toBe(size);
    }
    // Exactly at the limit fits; one byte more does not.
    const head = ch.measure("NEWS", "*", [""]);
    const fill = "y".repeat(80 - head);
    expect(ch.measure("NEWS", "*", [fill])).toBe(80);
    expect(ch.fits("NEWS", "*", [fill])).toBe(true);
    expect(ch.fits("NEWS", "*", [`${fill}y`])).toBe(false);
    expect(ch.send("NEWS", "*", [`${fill}y`])).toBeUndefined();
    expect(ch.send("NEWS", "*", [fill])).toBe(12);
  });

  it("rename keeps the sequence going under the new id", async () => {
    const net = new MemoryNetwork();
    const ch = make(net);
    ch.send("NEWS", "*", ["a"]);
    ch.rename("BBBB0002");
    expect(ch.id).toBe("BBBB0002");
    expect(ch.nextSeq).toBe(2);
    expect(ch.send("NEWS", "*", ["b"])).toBe(2);
    await drain();
    expect(sequenced(net)).toEqual(["AAAA0001 1 NEWS * a", "BBBB0002 2 NEWS * b"]);
  });
});

describe("the reliable channel's measure counts what the layer adds", () => {
  it("a superseded message (BEAT) is measured with its prior= tag", () => {
    const net = new MemoryNetwork();
    const plain = new Channel(net.endpoint(), { id: "AAAA0001" });
    const [, makeReliable] = kinds[1] as [string, (net: MemoryNetwork) => GroupChannel];
    const rel = makeReliable(net);
    expect(rel.measure("BEAT", "*", ["Beep"])).toBe(plain.measure("BEAT", "*", ["Beep"]) + " prior=0".length);
    expect(rel.measure("NEWS", "*", ["x"])).toBe(plain.measure("NEWS", "*", ["x"]));
  });
});
