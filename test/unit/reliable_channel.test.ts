import { describe, expect, it } from "vitest";
import { Channel } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { channelOver } from "../../shared/open.js";
import { ReliableChannel } from "../../shared/reliable/channel.js";
import { drain, Group, type Peer, seqsFrom } from "../helpers/reliable_group.js";

const lossy = (rate: number, extra = {}) => ({
  lossRate: rate,
  lossBurst: 1,
  lossDir: "recv" as const,
  dupRate: 0,
  reorderRate: 0,
  ...extra,
});

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** Drop one sender's datagram with this SEQ (direct copies only, not repairs). */
function dropSeq(p: Peer, sender: string, seq: number, dir: "send" | "recv" = "recv"): void {
  p.filter.drop = (text, d) => d === dir && text.startsWith(`${sender} ${seq} `);
}

describe("ReliableChannel", () => {
  it("repairs gaps: every receiver gets every message once, at 30% loss", async () => {
    const g = new Group();
    const sender = g.peer("AAAA0001", { loss: lossy(0.3) });
    const rx = [1, 2, 3, 4].map((i) => g.peer(`BBBB000${i}`, { loss: lossy(0.3) }));
    for (let i = 1; i <= 100; i++) {
      sender.chan.send("NEWS", "*", [`discovery-${i}`]);
      await g.run(20);
    }
    await g.run(30_000);
    for (const r of rx) {
      expect(seqsFrom(r, "AAAA0001").sort((a, b) => a - b)).toEqual(range(1, 100));
      expect(r.rel?.reliability.repaired).toBeGreaterThan(0);
      expect(r.rel?.pendingGaps).toBe(0);
    }
    // The repaired copies carry the original text.
    const texts = new Set(rx[0]?.got.map((x) => x.msg.text));
    expect(texts.has("AAAA0001 50 NEWS * discovery-50")).toBe(true);
  });

  it("suppresses NACKs: 20 receivers missing one datagram send far fewer than 20 NACKs", async () => {
    const g = new Group();
    const sender = g.peer("AAAA0001");
    const rx = range(1, 20).map((i) => g.peer(`C${String(i).padStart(7, "0")}`));
    for (const r of rx) dropSeq(r, "AAAA0001", 2);
    sender.chan.send("NEWS", "*", ["one"]);
    sender.chan.send("NEWS", "*", ["two"]);
    sender.chan.send("NEWS", "*", ["three"]);
    await g.run(5_000);
    for (const r of rx) expect(seqsFrom(r, "AAAA0001").sort()).toEqual([1, 2, 3]);
    const nacks = g.wire("NACK", "AAAA0001");
    expect(nacks.length).toBeGreaterThanOrEqual(1);
    expect(nacks.length).toBeLessThanOrEqual(3);
    expect(g.wire("RSND", "AAAA0001").length).toBeLessThanOrEqual(2);
    const suppressed = rx.reduce((n, r) => n + (r.rel?.reliability.nacksSuppressed ?? 0), 0);
    expect(suppressed).toBeGreaterThanOrEqual(17);
  });

  it("delivers exactly once with duplication, reordering and loss on", async () => {
    const g = new Group();
    const imp = lossy(0.2, { dupRate: 0.3, reorderRate: 0.3 });
    const sender = g.peer("AAAA0001", { loss: imp });
    const rx = range(1, 5).map((i) => g.peer(`D000000${i}`, { loss: imp }));
    for (let i = 1; i <= 200; i++) {
      sender.chan.send(i % 5 === 0 ? "BEAT" : "NEWS", "*", [`m${i}`]);
      await g.run(10);
    }
    await g.run(30_000);
    const expected = range(1, 200).filter((i) => i % 5 !== 0);
    for (const r of rx) {
      const seqs = seqsFrom(r, "AAAA0001");
      expect(new Set(seqs).size).toBe(seqs.length); // no duplicates
      for (const s of expected) expect(seqs).toContain(s);
      expect(r.rel?.reliability.duplicates).toBeGreaterThan(0); // the simulator did duplicate
    }
  });

  it("recovers a lone KILL lost on the way to a bot that never heard the supervisor before", async () => {
    const g = new Group();
    const bot = g.peer("E26CB171");
    const other = g.peer("F0000001");
    await g.run(1_000);
    const sup = g.peer("HUMAN-3fa2");
    dropSeq(bot, "HUMAN-3fa2", 1);
    sup.chan.send("KILL", "E26CB171");
    await g.run(5_000); // the supervisor goes quiet
    const kills = bot.got.filter((r) => r.msg.opcode === "KILL");
    expect(kills.length).toBe(1);
    expect(kills[0]?.msg.text).toBe("HUMAN-3fa2 1 KILL E26CB171");
    // Delivered with the supervisor's address (UPLD/KILL answers go there), not the resender's.
    expect(kills[0]?.source).toEqual(sup.source);
    expect(other.got.filter((r) => r.msg.opcode === "KILL").length).toBe(1);
    expect(g.wire("LAST").length).toBeGreaterThan(0);
  });

  it("recovers a lone KILL that nobody received (lost on the way out)", async () => {
    const g = new Group();
    const bots = range(1, 3).map((i) => g.peer(`B000000${i}`));
    const sup = g.peer("HUMAN-3fa2");
    sup.filter.drop = (text, d) => d === "send" && text === "HUMAN-3fa2 1 KILL *";
    await g.run(500);
    sup.chan.send("KILL", "*");
    await g.run(10_000);
    for (const b of bots) expect(b.got.map((r) => r.msg.text)).toEqual(["HUMAN-3fa2 1 KILL *"]);
    expect(g.wire("RSND", "HUMAN-3fa2").length).toBe(1);
  });

  it("a leaving peer lingers to repair its last message when nobody else holds it (a killed bot's EXIT)", async () => {
    for (const lingerMs of [0, 1500]) {
      const g = new Group();
      const sup = g.peer("HUMAN-3fa2");
      const bot = g.peer("E26CB171", { reliable: { lingerMs } });
      bot.chan.send("BEAT", "*", ["Beep"]);
      await g.run(500);
      // The EXIT is lost on the way to the only other member; the bot leaves right after it.
      sup.filter.drop = (text, d) => d === "recv" && /^E26CB171 \d+ EXIT /.test(text);
      bot.chan.send("EXIT", "*", ["Offline", "reason=killed"]);
      let closed = false;
      const closing = bot.close().then(() => {
        closed = true;
      });
      await g.run(200);
      expect(closed).toBe(lingerMs === 0);
      await g.run(3_000);
      await closing;
      const exits = sup.got.filter((r) => r.msg.opcode === "EXIT");
      if (lingerMs === 0) {
        expect(exits.length).toBe(0); // nobody left to answer the NACK
      } else {
        expect(exits.map((r) => r.msg.sender)).toEqual(["E26CB171"]);
        expect(g.wire("RSND", "E26CB171").length).toBeGreaterThan(0);
      }
      expect(bot.rel?.pendingTimers).toBe(0);
    }
  });

  it("a late joiner never NACKs history from before it joined", async () => {
    const g = new Group();
    const sender = g.peer("AAAA0001");
    const early = g.peer("EEEE0001");
    for (let i = 1; i <= 10; i++) sender.chan.send("NEWS", "*", [`m${i}`]);
    await g.run(200);
    const late = g.peer("LLLL0001");
    // Its first message from the sender is 11; the LASTs that follow report first=1.
    await g.run(100);
    sender.chan.send("NEWS", "*", ["m11"]);
    await g.run(10_000);
    expect(seqsFrom(late, "AAAA0001")).toEqual([11]);
    expect(late.rel?.reliability.nacksSent).toBe(0);
    expect(late.rel?.reliability.gaps).toBe(0);
    expect(seqsFrom(early, "AAAA0001")).toEqual(range(1, 11));
    expect(g.wire("NACK").length).toBe(0);
  });

  it("a late joiner that first hears a LAST does not ask for a message sent before it joined", async () => {
    const g = new Group();
    const sup = g.peer("HUMAN-0001");
    sup.chan.send("KILL", "ABCD0001");
    await g.run(150); // the first LAST comes at 200 ms
    const late = g.peer("LLLL0001");
    await g.run(10_000);
    expect(late.got).toEqual([]);
    expect(late.rel?.reliability.gaps).toBe(0);
    expect(g.wire("NACK").length).toBe(0);
  });

  it("recognises a restarted sender (SEQ back to 1 from a new address) and delivers its new messages", async () => {
    const g = new Group();
    const rx = g.peer("R0000001");
    const first = g.peer("HUMAN", { legacy: true });
    for (let i = 1; i <= 5; i++) first.chan.send("PING", "*");
    await g.run(100);
    await first.close();
    const second = g.peer("HUMAN", { legacy: true });
    second.chan.send("UPLD", "*", ["results.data"]);
    second.chan.send("KILL", "*");
    await g.run(2_000);
    expect(rx.got.map((r) => r.msg.text)).toEqual([
      ...range(1, 5).map((i) => `HUMAN ${i} PING *`),
      "HUMAN 1 UPLD * results.data",
      "HUMAN 2 KILL *",
    ]);
    expect(rx.got.at(-1)?.source).toEqual(second.source);
    expect(rx.rel?.reliability.restarts).toBe(1);
    expect(g.wire("NACK").length).toBe(0);
  });

  it("repairs the first message of a restarted sender of ours from its announcement", async () => {
    const g = new Group();
    const rx = g.peer("R0000001");
    const a = g.peer("HUMAN-aaaa");
    a.chan.send("PING", "*");
    a.chan.send("PING", "*");
    a.chan.send("PING", "*");
    await g.run(5_000);
    await a.close();
    const b = g.peer("HUMAN-aaaa");
    dropSeq(rx, "HUMAN-aaaa", 1);
    b.chan.send("KILL", "*");
    await g.run(5_000);
    expect(rx.got.map((r) => r.msg.text)).toEqual([
      "HUMAN-aaaa 1 PING *",
      "HUMAN-aaaa 2 PING *",
      "HUMAN-aaaa 3 PING *",
      "HUMAN-aaaa 1 KILL *",
    ]);
    expect(rx.got.at(-1)?.source).toEqual(b.source);
  });

  it("costs bounded repair traffic for a sender of the original program that never answers", async () => {
    const g = new Group();
    const legacy = g.peer("0123ABCD", { legacy: true });
    const rx = range(1, 5).map((i) => g.peer(`R000000${i}`, { reliable: { nackTries: 4 } }));
    legacy.filter.drop = (text, d) => d === "send" && text.startsWith("0123ABCD 3 ");
    for (let i = 1; i <= 5; i++) legacy.chan.send("BEAT", "*", ["Beep"]);
    await g.run(60_000);
    const nacks = g.wire("NACK", "0123ABCD").length;
    expect(nacks).toBeGreaterThanOrEqual(1);
    expect(nacks).toBeLessThanOrEqual(4 + 2); // one per round, a little slack for collisions
    for (const r of rx) {
      expect(seqsFrom(r, "0123ABCD")).toEqual([1, 2, 4, 5]);
      expect(r.rel?.reliability.givenUp).toBe(1);
      expect(r.rel?.pendingGaps).toBe(0);
    }
    await g.run(60_000);
    expect(g.wire("NACK", "0123ABCD").length).toBe(nacks); // and then silence
  });

  it("lets any holder repair a message of a sender of the original program", async () => {
    const g = new Group();
    const legacy = g.peer("0123ABCD", { legacy: true });
    const holder = g.peer("R0000001");
    const missing = g.peer("R0000002");
    dropSeq(missing, "0123ABCD", 2);
    legacy.chan.send("NEWS", "*", ["Found", "it"]);
    legacy.chan.send("NEWS", "*", ["Another"]);
    legacy.chan.send("BEAT", "*", ["Beep"]);
    await g.run(3_000);
    expect(seqsFrom(missing, "0123ABCD").sort()).toEqual([1, 2, 3]);
    expect(holder.rel?.reliability.rsndSent).toBe(1);
    const repaired = missing.got.find((r) => r.msg.seq === 2);
    expect(repaired?.msg.text).toBe("0123ABCD 2 NEWS * Another");
    expect(repaired?.source).toEqual(legacy.source);
  });

  it("suppresses answers: of 10 peers holding a copy, about one resends it", async () => {
    const g = new Group();
    const legacy = g.peer("0123ABCD", { legacy: true });
    const holders = range(1, 10).map((i) => g.peer(`H${String(i).padStart(7, "0")}`));
    const missing = g.peer("R0000002");
    dropSeq(missing, "0123ABCD", 2);
    for (let i = 1; i <= 3; i++) legacy.chan.send("NEWS", "*", [`n${i}`]);
    await g.run(3_000);
    expect(seqsFrom(missing, "0123ABCD").sort()).toEqual([1, 2, 3]);
    expect(g.wire("RSND", "0123ABCD").length).toBeLessThanOrEqual(2);
    const suppressed = holders.reduce((n, h) => n + (h.rel?.reliability.answersSuppressed ?? 0), 0);
    expect(suppressed).toBeGreaterThanOrEqual(8);
  });

  it("does not NACK a lost BEAT: the next BEAT's prior= tag shows it was one", async () => {
    const g = new Group();
    const bot = g.peer("AAAA0001");
    const rx = g.peer("R0000001");
    rx.filter.drop = (text, d) => d === "recv" && /^AAAA0001 [25] /.test(text);
    bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("NEWS", "*", ["Discovery"]);
    bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("BEAT", "*", ["Beep"]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1, 3, 4, 6]);
    expect(g.wire("BEAT").map((m) => m.tags.prior)).toEqual(["0", "0", "3", "3", "3"]);
    // 5 lies between prior=3 and BEAT 6: a BEAT, never NACKed. 2 lies before the NEWS (3): the
    // BEATs cannot tell; it is NACKed (answered with SKIP) unless the LAST announcing the NEWS
    // (nb=3: the only non-BEAT so far) comes first.
    expect(g.wire("NACK").map((m) => m.words[0])).not.toContain("5");
    expect(g.wire("NACK").length).toBeLessThanOrEqual(1);
    expect((rx.rel?.reliability.beatsInferred ?? 0) + (rx.rel?.reliability.skipped ?? 0)).toBe(2);
    expect(rx.rel?.pendingGaps).toBe(0);
  });

  it("meters NACKs with nackRate: a burst of losses is repaired without exceeding the rate", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001");
    const rx = g.peer("R0000001", { reliable: { nackRate: 5 } });
    // Direct copies of 2..39 lost (repairs come as `AAAA0001 0 RSND ...` and pass).
    rx.filter.drop = (text, d) => d === "recv" && /^AAAA0001 ([2-9]|[1-3][0-9]) /.test(text);
    for (let i = 1; i <= 41; i++) s.chan.send("NEWS", "*", [`m${i}`]);
    await g.run(2_000);
    // Burst of 10, then 5 per second.
    expect(g.wire("NACK").length).toBeLessThanOrEqual(10 + 5 * 2 + 1);
    expect(rx.rel?.reliability.nacksDeferred).toBeGreaterThan(0);
    await g.run(20_000);
    expect(seqsFrom(rx, "AAAA0001").sort((a, b) => a - b)).toEqual(Array.from({ length: 41 }, (_, i) => i + 1));
    expect(rx.rel?.reliability.givenUp).toBe(0);
  });

  it("announces a NEWS a few times, and BEATs after it don't prolong the announcements", async () => {
    const g = new Group();
    const bot = g.peer("AAAA0001");
    g.peer("R0000001");
    bot.chan.send("NEWS", "*", ["Discovery"]);
    for (let i = 0; i < 20; i++) {
      await g.run(1_000);
      bot.chan.send("BEAT", "*", ["Beep"]);
    }
    await g.run(5_000);
    expect(g.wire("LAST").length).toBe(4);
  });

  it("LAST lists the sender's latest non-BEATs (nb=): only those are NACKed", async () => {
    const g = new Group();
    const bot = g.peer("AAAA0001");
    const rx = g.peer("R0000001");
    rx.filter.drop = (text, d) => d === "recv" && /^AAAA0001 [2-6] /.test(text);
    bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("NEWS", "*", ["Discovery"]);
    for (let i = 0; i < 3; i++) bot.chan.send("BEAT", "*", ["Beep"]);
    bot.chan.send("NEWS", "*", ["Discovery"]);
    await g.run(5_000);
    expect(g.wire("LAST")[0]?.tags.nb).toBe("6.2");
    // 3..5 were BEATs: never asked for. 2 and 6 repaired.
    expect(new Set(g.wire("NACK").map((m) => m.words[0]))).toEqual(new Set(["2", "6"]));
    expect(seqsFrom(rx, "AAAA0001").sort((a, b) => a - b)).toEqual([1, 2, 6]);
    expect(rx.rel?.reliability.beatsInferred).toBe(3);
    expect(rx.rel?.pendingGaps).toBe(0);
  });

  it("answers a lost BEAT with SKIP, not RSND, when BEATs carry no prior= tag", async () => {
    const g = new Group();
    // A bot of the original program: untagged BEATs, and it never answers NACKs.
    const bot = g.peer("AAAA0001", { legacy: true });
    g.peer("H0000001");
    const rx = g.peer("R0000001");
    dropSeq(rx, "AAAA0001", 2);
    // The holder kept the fact that 2 was a BEAT: it answers with SKIP.
    for (let i = 1; i <= 3; i++) bot.chan.send("BEAT", "*", ["Beep"]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1, 3]);
    expect(g.wire("SKIP", "AAAA0001").map((m) => m.sender)).toEqual(["H0000001"]);
    expect(g.wire("RSND").length).toBe(0);
    expect(rx.rel?.reliability.skipped).toBe(1);
    expect(rx.rel?.pendingGaps).toBe(0);
    // BEATs alone are not announced.
    expect(g.wire("LAST").length).toBe(0);
  });

  it("bounds the retransmission buffer by count: older messages are answered with SKIP", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001", { reliable: { holdCount: 3 } });
    const rx = g.peer("R0000001", { reliable: { holdCount: 3 } });
    dropSeq(rx, "AAAA0001", 2);
    for (let i = 1; i <= 8; i++) s.chan.send("NEWS", "*", [`m${i}`]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([1, 3, 4, 5, 6, 7, 8]);
    expect(g.wire("SKIP", "AAAA0001").length).toBe(1);
    expect(rx.rel?.reliability.skipped).toBe(1);
  });

  it("bounds the retransmission buffer by age", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001", { reliable: { holdTimeMs: 100, nackWaitMs: 200 } });
    const rx = g.peer("R0000001");
    dropSeq(rx, "AAAA0001", 1);
    s.chan.send("NEWS", "*", ["m1"]);
    s.chan.send("NEWS", "*", ["m2"]);
    await g.run(3_000);
    expect(seqsFrom(rx, "AAAA0001")).toEqual([2]);
    expect(g.wire("SKIP", "AAAA0001").length).toBe(1);
    expect(g.wire("RSND").length).toBe(0);
  });

  it("never delivers our own message back to us when another peer resends it", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001");
    const a = g.peer("R0000001");
    // Another peer (holding a copy) resends our message: we must not see it.
    s.chan.send("NEWS", "*", ["mine"]);
    await g.run(100);
    a.rel?.endpoint.link.sendAs("R0000001", 0, "RSND", "AAAA0001", ["1", "NEWS", "*", "mine"]);
    await g.run(100);
    expect(s.got).toEqual([]);
  });

  it("still shows the application a message from another peer using our id", async () => {
    const g = new Group();
    const a = g.peer("AAAA0001");
    const b = g.peer("AAAA0001");
    b.chan.send("BEAT", "*", ["Beep"]);
    await g.run(50);
    expect(a.got.map((r) => r.msg.text)).toEqual(["AAAA0001 1 BEAT * Beep prior=0"]);
  });

  it("consumes the prior= tag: the application sees the BEAT as the bot wrote it", async () => {
    const g = new Group();
    const a = g.peer("AAAA0001");
    const b = g.peer("BBBB0001");
    a.chan.send("BEAT", "*", ["Beep", "state=asimov"]);
    await g.run(50);
    expect(g.wire("BEAT")[0]?.text).toBe("AAAA0001 1 BEAT * Beep state=asimov prior=0");
    const m = b.got[0]?.msg;
    expect([m?.text, m?.words, m?.tags]).toEqual([
      "AAAA0001 1 BEAT * Beep state=asimov",
      ["Beep"],
      { state: "asimov" },
    ]);
  });

  it("answers NACKs for its new id after a rename", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001");
    const rx = g.peer("R0000001");
    s.chan.send("NEWS", "*", ["before"]);
    await g.run(100);
    s.chan.rename("AAAA0002");
    dropSeq(rx, "AAAA0002", 3);
    s.chan.send("NEWS", "*", ["after"]);
    s.chan.send("NEWS", "*", ["after2"]);
    s.chan.send("NEWS", "*", ["after3"]);
    await g.run(5_000);
    expect(seqsFrom(rx, "AAAA0002").sort()).toEqual([2, 3, 4]);
    expect(rx.rel?.reliability.repaired).toBe(1);
  });

  it("keeps control messages away from the application and cleans up timers on close", async () => {
    const g = new Group();
    const s = g.peer("AAAA0001");
    const rx = g.peer("R0000001");
    dropSeq(rx, "AAAA0001", 2);
    s.chan.send("NEWS", "*", ["a"]);
    s.chan.send("NEWS", "*", ["b"]);
    s.chan.send("NEWS", "*", ["c"]);
    await g.run(50);
    expect(rx.rel?.pendingTimers).toBeGreaterThan(0);
    await g.run(3_000);
    expect(rx.got.map((r) => r.msg.seq).sort()).toEqual([1, 2, 3]);
    expect(g.wire("LAST").length).toBeGreaterThan(0);
    s.chan.send("NEWS", "*", ["d"]);
    await s.close();
    await rx.close();
    expect(s.rel?.pendingTimers).toBe(0);
    expect(rx.rel?.pendingTimers).toBe(0);
    expect(g.clock.timerCount).toBe(0);
  });

  it("drops malformed control messages and counts them", async () => {
    const g = new Group();
    const rx = g.peer("R0000001");
    const raw = g.peer("X0000001", { legacy: true });
    const link = (raw.chan as Channel).link;
    link.sendAs("X0000001", 0, "NACK", "*", ["1"]);
    link.sendAs("X0000001", 0, "NACK", "AAAA0001", ["-1"]);
    link.sendAs("X0000001", 0, "RSND", "AAAA0001", ["2", "lower", "*"]);
    link.sendAs("X0000001", 0, "LAST", "*", ["zero"]);
    await g.run(100);
    expect(rx.rel?.reliability.invalidControl).toBe(4);
    expect(rx.got).toEqual([]);
  });
});

describe("the stack from config", () => {
  const cfg = (overrides: Record<string, string>) =>
    loadConfig({ overrides: { chanPort: "18421", ...overrides }, readFile: () => undefined }).config;

  it("is reliable by default", () => {
    const net = new MemoryNetwork();
    const ch = channelOver(net.endpoint(), cfg({}), "AAAA0001", { clock: new ManualClock() });
    expect(ch).toBeInstanceOf(ReliableChannel);
  });

  it("with reliable=false is the plain channel: control messages reach the application, nothing is repaired", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const config = cfg({ reliable: "false" });
    const a = channelOver(net.endpoint(), config, "AAAA0001", { clock });
    const b = channelOver(net.endpoint(), config, "BBBB0001", { clock });
    expect(a).toBeInstanceOf(Channel);
    const got: string[] = [];
    b.on("message", (m) => got.push(m.text));
    (a as Channel).link.sendAs("AAAA0001", 0, "NACK", "BBBB0001", ["3"]);
    a.send("NEWS", "*", ["x"]);
    await drain();
    clock.advance(10_000);
    await drain();
    expect(got).toEqual(["AAAA0001 0 NACK BBBB0001 3", "AAAA0001 1 NEWS * x"]);
    expect(net.sent.length).toBe(2); // no LAST, no repair traffic
  });

  it("puts the loss simulator under the channel when a rate is set", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const a = channelOver(net.endpoint(), cfg({ reliable: "false" }), "AAAA0001", { clock });
    const b = channelOver(net.endpoint(), cfg({ reliable: "false", lossRate: "1" }), "BBBB0001", { clock });
    let got = 0;
    b.on("message", () => got++);
    for (let i = 0; i < 10; i++) a.send("BEAT", "*");
    await drain();
    expect(got).toBe(0);
    expect(net.sent.length).toBe(10);
  });
});
