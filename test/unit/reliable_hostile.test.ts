/**
 * A hostile group (issue 11): forged control messages against the reliability layer. Whatever an
 * attacker sends, a peer's state stays within its caps, repair traffic stops soon after the
 * attack, and a victim's next real message is still delivered.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Channel, Link } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { Group, seqsFrom } from "../helpers/reliable_group.js";

const CAPS = { maxSenders: 40, maxGaps: 100, maxRequesters: 8 };

type Attack =
  | { kind: "last"; who: number; seq: number; first: number; since: number; age: number }
  | { kind: "rsnd"; who: number; seq: number }
  | { kind: "nack"; who: number; seq: number; from: number }
  | { kind: "skip"; who: number; seq: number }
  | { kind: "data"; who: number; seq: number }
  | { kind: "victim" }
  | { kind: "wait"; ms: number };

const seqArb = fc.oneof(
  fc.integer({ min: 1, max: 20 }),
  fc.integer({ min: 1, max: 100_000 }),
  fc.constant(999_999_999_999_999),
);
/** who: 0 the victim's id, 1 the receiver's, 2.. fresh ids. */
const whoArb = fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 2, max: 10_000 }));
const attackArb: fc.Arbitrary<Attack> = fc.oneof(
  fc.record({
    kind: fc.constant("last" as const),
    who: whoArb,
    seq: seqArb,
    first: fc.integer({ min: 1, max: 5 }),
    since: fc.constantFrom(0, 10, 1e9),
    age: fc.constantFrom(0, 1e9),
  }),
  fc.record({ kind: fc.constant("rsnd" as const), who: whoArb, seq: seqArb }),
  fc.record({ kind: fc.constant("nack" as const), who: whoArb, seq: seqArb, from: fc.integer({ min: 0, max: 50 }) }),
  fc.record({ kind: fc.constant("skip" as const), who: whoArb, seq: seqArb }),
  fc.record({ kind: fc.constant("data" as const), who: whoArb, seq: seqArb }),
  fc.constant({ kind: "victim" as const }),
  fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 1, max: 500 }) }),
);

const VICTIM = "VVVV0001";
const RECEIVER = "RRRR0001";
const idOf = (who: number): string => (who === 0 ? VICTIM : who === 1 ? RECEIVER : `F${String(who).padStart(7, "0")}`);

/** An attacker that sends any line from its own address (several ports: several requesters). */
function attackers(g: Group, n: number): Link[] {
  return Array.from(
    { length: n },
    () => (g.peer(`ATTK${String(g.peers.length).padStart(4, "0")}`, { legacy: true }).chan as Channel).link,
  );
}

async function runAttack(script: Attack[]) {
  const g = new Group();
  const victim = g.peer(VICTIM);
  const rx = g.peer(RECEIVER, { reliable: CAPS });
  const links = attackers(g, 3);
  let t = 0;
  for (const a of script) {
    const link = links[(a.kind === "nack" ? a.from : t++) % links.length] as Link;
    switch (a.kind) {
      case "last":
        link.sendAs(idOf(a.who), 0, "LAST", "*", [
          String(a.seq),
          `age=${a.age}`,
          `first=${Math.min(a.first, a.seq)}`,
          `since=${a.since}`,
        ]);
        break;
      case "rsnd":
        link.sendAs("ATTK0000", 0, "RSND", idOf(a.who), [String(a.seq), "KILL", "*"]);
        break;
      case "nack":
        link.sendAs(`ATTK${a.from}`, 0, "NACK", idOf(a.who), [String(a.seq)]);
        break;
      case "skip":
        link.sendAs("ATTK0000", 0, "SKIP", idOf(a.who), [String(a.seq)]);
        break;
      case "data":
        link.sendAs(idOf(a.who), a.seq, "NEWS", "*", ["forged"]);
        break;
      case "victim":
        victim.chan.send("NEWS", "*", ["real"]);
        break;
      case "wait":
        await g.run(a.ms, 50);
        break;
    }
    const r = rx.rel;
    expect(r?.endpoint.trackedSenders).toBeLessThanOrEqual(CAPS.maxSenders);
    expect(r?.pendingGaps).toBeLessThanOrEqual(CAPS.maxGaps);
  }
  await g.run(100, 50);
  return { g, victim, rx };
}

describe("a hostile group (property tests)", () => {
  it("state stays within its caps, repair traffic stops after the attack, and the victim's next message is delivered", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(attackArb, { minLength: 1, maxLength: 60 }), async (script) => {
        const { g, victim, rx } = await runAttack(script);
        const r = rx.rel;
        // Timers: at most one per gap, per pending answer (one per held copy), per sender's LAST.
        expect(r?.pendingTimers).toBeLessThanOrEqual(CAPS.maxGaps + 512 + 2);
        // After the attack: once the gaps it opened have had their rounds (at most about 32 s
        // for a sender heard directly: 10 rounds of backoff, each waiting at most 4 rounds for a
        // token; about 8 s for one known only from LASTs), nothing more is asked or answered.
        await g.run(35_000, 250);
        const before = g.net.sent.length;
        await g.run(10_000, 500);
        const after = g.wire("NACK").length + g.wire("RSND").length + g.wire("SKIP").length;
        const repairAfter = g.net.sent.slice(before).filter((d) => / 0 (NACK|RSND|SKIP) /.test(d.bytes.toString()));
        expect(repairAfter, `${after} repair datagrams in all`).toEqual([]);
        // The victim's next real message reaches the receiver.
        const seq = victim.chan.send("NEWS", "*", ["after the attack"]);
        await g.run(200, 50);
        expect(seqsFrom(rx, VICTIM)).toContain(seq);
      }),
      { numRuns: 40 },
    );
  });

  it("one forged RSND with a huge sequence number does not silence its victim", async () => {
    const { g, victim, rx } = await runAttack([
      { kind: "victim" },
      { kind: "wait", ms: 100 },
      { kind: "rsnd", who: 0, seq: 999_999_999_999_999 },
      { kind: "wait", ms: 100 },
    ]);
    expect(rx.rel?.reliability.rsndRefused).toBe(1);
    victim.chan.send("KILL", RECEIVER);
    await g.run(100);
    expect(rx.got.map((r) => r.msg.text)).toEqual([`${VICTIM} 1 NEWS * real`, `${VICTIM} 2 KILL ${RECEIVER}`]);
  });

  it("forged LASTs from fresh ids: bounded gaps and NACKs, which stop within seconds of the attack", async () => {
    const g = new Group();
    const rx = g.peer(RECEIVER);
    const [link] = attackers(g, 1);
    // 200 per second for 5 s, each from a new id, each claiming a huge stream that began at 1.
    for (let i = 0; i < 1000; i++) {
      link?.sendAs(`F${String(i).padStart(7, "0")}`, 0, "LAST", "*", [
        "999999999999999",
        "age=0",
        "first=1",
        "since=0",
      ]);
      if (i % 10 === 9) await g.run(50, 50);
    }
    const r = rx.rel?.reliability;
    // Each fresh id may open at most a few gaps (LAST_SPAN), each asked for a few times.
    expect(r?.gaps).toBeLessThanOrEqual(1000 * 8);
    const duringAttack = g.wire("NACK").length;
    await g.run(10_000, 100);
    const tenSecondsLater = g.wire("NACK").length;
    await g.run(30_000, 500);
    expect(g.wire("NACK").length).toBe(tenSecondsLater);
    expect(rx.rel?.pendingGaps).toBe(0);
    // The NACK rate limit held throughout: 10/s, bursts of 20.
    expect(tenSecondsLater).toBeLessThanOrEqual(20 + 10 * 15);
    expect(duringAttack).toBeGreaterThan(0);
  });

  it("a NACK storm leaves no backlog: answers stop when the storm does", async () => {
    const g = new Group();
    const victim = g.peer(VICTIM);
    for (let i = 1; i <= 300; i++) victim.chan.send("NEWS", "*", [`n${i}`]);
    await g.run(100);
    const links = attackers(g, 5);
    // 5 requesters each asking for 200 messages, every 200 ms for 2 s.
    for (let round = 0; round < 10; round++) {
      for (const [k, link] of links.entries()) {
        for (let seq = 1; seq <= 200; seq++) link.sendAs(`ATTK${k}`, 0, "NACK", VICTIM, [String(seq)]);
      }
      await g.run(200, 50);
    }
    const r = victim.rel?.reliability;
    expect(r?.answersRefused).toBeGreaterThan(0);
    const atEnd = g.wire("RSND", VICTIM).length;
    await g.run(1_000, 50);
    const settled = g.wire("RSND", VICTIM).length;
    await g.run(60_000, 1000);
    expect(g.wire("RSND", VICTIM).length).toBe(settled);
    // Bounded by the answer rate: 20/s (bursts of 40) over the 2 s storm and its last round.
    expect(settled).toBeLessThanOrEqual(40 + 20 * 3);
    expect(atEnd).toBeGreaterThan(0);
  });

  it("a flood of new sender ids evicts the least recently heard, counts it, and real peers still get through", async () => {
    const g = new Group();
    const victim = g.peer(VICTIM);
    const rx = g.peer(RECEIVER, { reliable: { maxSenders: 50 } });
    const [link] = attackers(g, 1);
    for (let i = 0; i < 2000; i++) {
      link?.sendAs(`F${String(i).padStart(7, "0")}`, 1 + (i % 7), "BEAT", "*", ["Beep"]);
      if (i % 200 === 0) victim.chan.send("BEAT", "*", ["Beep"]);
      if (i % 100 === 0) await g.run(10, 10);
    }
    await g.run(100);
    expect(rx.rel?.endpoint.trackedSenders).toBeLessThanOrEqual(50);
    expect(rx.rel?.reliability.sendersEvicted).toBeGreaterThanOrEqual(2000 - 50);
    expect(seqsFrom(rx, VICTIM)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe("per-source budget before parsing", () => {
  it("after a flood of valid BEATs over the budget, nobody NACKs the flooder for what the budget dropped", async () => {
    const g = new Group();
    const victim = g.peer(VICTIM);
    const rx = g.peer(RECEIVER, { sourceRate: 100 });
    const [rogue] = attackers(g, 1);
    let seq = 0;
    for (let ms = 0; ms < 3000; ms += 10) {
      for (let i = 0; i < 20; i++) rogue?.sendAs("ROGUE001", ++seq, "BEAT", "*", ["Beep"]);
      if (ms % 1000 === 0) victim.chan.send("BEAT", "*", ["Beep"]);
      await g.run(10, 10);
    }
    const dropped = rx.rel?.reliability.gapsDropped ?? 0;
    await g.run(20_000);
    expect(rx.rel?.stats.throttled).toBeGreaterThan(5000);
    expect(dropped).toBeGreaterThan(5000);
    expect(g.wire("NACK", "ROGUE001")).toEqual([]);
    expect(seqsFrom(rx, VICTIM)).toEqual([1, 2, 3]);
  });

  it("a flooding source is cut to its budget and counted; other sources are all read", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const rx = new Link(net.endpoint(), { sourceRate: 100, now: () => clock.now() });
    const rogue = new Link(net.endpoint());
    const real = new Link(net.endpoint());
    let fromRogue = 0;
    let fromReal = 0;
    let droppedTold = 0;
    rx.on("message", (m, source) => {
      if (m.sender === "ROGUE001") fromRogue++;
      else fromReal++;
      if (m.sender === "REAL0001") expect(source.dropped).toBeUndefined();
      droppedTold += source.dropped ?? 0;
    });
    for (let s = 0; s < 10; s++) {
      for (let i = 0; i < 1000; i++) rogue.sendAs("ROGUE001", s * 1000 + i + 1, "BEAT", "*");
      real.sendAs("REAL0001", s + 1, "BEAT", "*");
      await new Promise((r) => setImmediate(r));
      clock.advance(1000);
    }
    expect(fromReal).toBe(10);
    // A burst of 200, then 100 per second.
    expect(fromRogue).toBe(200 + 9 * 100);
    expect(rx.stats.throttled).toBe(10_000 - fromRogue);
    // Each message read after a drop says how many of its source were dropped before it (the
    // reliability layer does not NACK those): all but the drops after the last one read.
    expect(droppedTold).toBe((rx.stats.throttled ?? 0) - (1000 - 100));
    expect(rx.sources).toBe(2);
  });

  it("keeps the source table bounded, forgetting the least recently heard", async () => {
    const net = new MemoryNetwork();
    const rx = new Link(net.endpoint(), { maxSources: 10 });
    const senders = Array.from({ length: 30 }, () => new Link(net.endpoint()));
    let got = 0;
    rx.on("message", () => got++);
    for (const [i, s] of senders.entries()) s.sendAs(`S${i}`, 1, "BEAT", "*");
    await new Promise((r) => setImmediate(r));
    expect(got).toBe(30);
    expect(rx.sources).toBe(10);
    expect(rx.stats.sourcesEvicted).toBe(20);
  });
});
