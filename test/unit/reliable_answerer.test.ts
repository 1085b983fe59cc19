import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.js";
import { seededRng } from "../../shared/random.js";
import { Answerer, MAX_ANSWERED } from "../../shared/reliable/answerer.js";
import { HeldCopies } from "../../shared/reliable/held.js";
import { emptyStats } from "../../shared/reliable/options.js";
import { Scheduler } from "../../shared/reliable/scheduler.js";

function setup(rsndRate = 0, requesterRate = 0) {
  const clock = new ManualClock();
  const sched = new Scheduler(clock);
  const held = new HeldCopies({ maxCount: 100_000, maxAgeMs: 1e9 });
  held.openLocal("ME");
  const stats = emptyStats();
  const out: { at: number; kind: string; sender: string; seq: number; body?: string }[] = [];
  const answerer = new Answerer(
    { clock, rng: seededRng(3), nackWaitMs: 200, rsndWaitMs: 100, rsndRate, requesterRate, maxRequesters: 4 },
    sched,
    stats,
    {
      find: (s, q, now) => held.find(s, q, now),
      // ME has sent 1..1000.
      isOwn: (s, q) => held.isOwn(s) && q <= 1000,
      send: (kind, sender, seq, body) => {
        out.push({ at: clock.now(), kind, sender, seq, body });
        return true;
      },
    },
  );
  return { clock, sched, held, stats, out, answerer };
}

describe("Answerer", () => {
  it("the sender answers within rsndWait; another holder after [rsndWait, 2·rsndWait)", () => {
    const { clock, sched, held, out, answerer } = setup();
    held.keepOwn("ME", 1, "NEWS * mine", false, 0);
    held.keepPeer("P", 4, "KILL X", false, 0);
    answerer.onNack("ME", 1, "R1");
    answerer.onNack("P", 4, "R1");
    // Not held, not ours: silence, and nothing scheduled or remembered for it.
    const before = sched.size;
    answerer.onNack("P", 5, "R1");
    expect(sched.size).toBe(before);
    clock.advance(1000);
    expect(out.map((o) => [o.kind, o.sender, o.seq, o.body])).toEqual([
      ["RSND", "ME", 1, "NEWS * mine"],
      ["RSND", "P", 4, "KILL X"],
    ]);
    expect(out[0]?.at).toBeLessThan(100);
    expect(out[1]?.at).toBeGreaterThanOrEqual(100);
    expect(out[1]?.at).toBeLessThan(200);
  });

  it("answers SKIP for a superseded message, and for one of ours no longer held", () => {
    const { clock, held, out, answerer } = setup();
    held.keepOwn("ME", 1, "", true, 0);
    held.keepPeer("P", 2, "", true, 0);
    answerer.onNack("ME", 1, "R1");
    answerer.onNack("ME", 9, "R1");
    answerer.onNack("P", 2, "R1");
    clock.advance(1000);
    expect(out.map((o) => [o.kind, o.sender, o.seq]).sort()).toEqual([
      ["SKIP", "ME", 1],
      ["SKIP", "ME", 9],
      ["SKIP", "P", 2],
    ]);
  });

  it("stays silent when someone else answers first, and ignores NACKs of the same round", () => {
    const { clock, held, out, stats, answerer } = setup();
    held.keepPeer("P", 1, "NEWS * x", false, 0);
    answerer.onNack("P", 1, "R1");
    answerer.answered("P", 1);
    expect(stats.answersSuppressed).toBe(1);
    answerer.onNack("P", 1, "R1");
    clock.advance(150);
    answerer.onNack("P", 1, "R1");
    clock.advance(1000);
    expect(out).toEqual([]);
    // A NACK a round later is answered again.
    answerer.onNack("P", 1, "R1");
    clock.advance(1000);
    expect(out).toHaveLength(1);
  });

  it("meters answers by rsndRate, and drops one that waited a whole round: no backlog after a storm", () => {
    const { clock, held, out, stats, answerer } = setup(20);
    for (let i = 1; i <= 1000; i++) held.keepOwn("ME", i, `NEWS * ${i}`, false, 0);
    // A storm: 1000 NACKs for different messages within 100 ms.
    for (let i = 1; i <= 1000; i++) answerer.onNack("ME", i, "R1");
    clock.advance(60_000);
    // Burst of 40, then 20/s for about one round (0.4 s): nowhere near 1000.
    expect(out.length).toBeGreaterThanOrEqual(40);
    expect(out.length).toBeLessThan(60);
    expect(stats.answersExpired).toBe(1000 - out.length);
    const last = Math.max(...out.map((o) => o.at));
    expect(last).toBeLessThan(1_000);
  });

  it("refuses answers to a requester over requesterRate, so one peer cannot spend everyone's answers", () => {
    const { clock, held, out, stats, answerer } = setup(0, 5);
    for (let i = 1; i <= 100; i++) held.keepOwn("ME", i, `NEWS * ${i}`, false, 0);
    for (let i = 1; i <= 50; i++) answerer.onNack("ME", i, "rogue");
    answerer.onNack("ME", 60, "honest");
    clock.advance(1000);
    // A burst of 10 for the rogue, and the honest requester still answered.
    expect(out.map((o) => o.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 60]);
    expect(stats.answersRefused).toBe(40);
    // The requester table is bounded (maxRequesters 4 here): the least recently heard go.
    for (let i = 0; i < 10; i++) answerer.onNack("ME", 70 + i, `r${i}`);
    expect(answerer.requesterCount).toBe(4);
    expect(stats.requestersEvicted).toBe(8);
  });

  it("does not answer a NACK for one of our numbers never sent (no SKIP for what does not exist)", () => {
    const { clock, out, answerer } = setup();
    answerer.onNack("ME", 999_999_999, "R1");
    answerer.onNack("ME", 1000, "R1");
    clock.advance(1000);
    expect(out.map((o) => [o.kind, o.seq])).toEqual([["SKIP", 1000]]);
  });

  it("bounds the answered-at table: it forgets what is older than nackWait, and never holds more than MAX_ANSWERED", () => {
    const { clock, answerer } = setup();
    for (let i = 1; i <= 100; i++) answerer.answered("P", i);
    expect(answerer.remembered).toBe(100);
    clock.advance(200);
    answerer.answered("P", 1000);
    expect(answerer.remembered).toBe(1);
    for (let i = 1; i <= MAX_ANSWERED + 500; i++) answerer.answered("Q", i);
    expect(answerer.remembered).toBe(MAX_ANSWERED);
  });
});
