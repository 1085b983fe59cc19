import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.js";
import { parseLine } from "../../shared/codec.js";
import { TokenBucket } from "../../shared/reliable/bucket.js";
import { RetransmitBuffer } from "../../shared/reliable/buffer.js";
import { SeqStream } from "../../shared/reliable/gaps.js";
import { Scheduler } from "../../shared/reliable/scheduler.js";
import { bodyOf, isControl, lastArgs, parseControl, priorOf } from "../../shared/reliable/wire.js";

describe("SeqStream", () => {
  it("starts at the first number seen and reports gaps, duplicates and old numbers", () => {
    const s = new SeqStream(5);
    expect(s.receive(5)).toEqual({ arrival: "new", gaps: [], abandoned: [] });
    expect(s.receive(8).gaps).toEqual([6, 7]);
    expect(s.receive(8).arrival).toBe("duplicate");
    expect(s.receive(4).arrival).toBe("old");
    expect(s.receive(7)).toEqual({ arrival: "new", gaps: [], abandoned: [] });
    expect([...s.missing]).toEqual([6]);
  });

  it("announce() expects everything up to the announced number", () => {
    const s = new SeqStream(1);
    s.receive(1);
    expect(s.announce(3).gaps).toEqual([2, 3]);
    expect(s.announce(3).gaps).toEqual([]);
    expect(s.receive(3).arrival).toBe("new");
  });

  it("extendBack() tracks from an earlier start", () => {
    const s = new SeqStream(3);
    s.receive(3);
    s.receive(4);
    expect(s.extendBack(1).gaps).toEqual([1, 2]);
    expect(s.receive(1).arrival).toBe("new");
    expect(s.extendBack(2).gaps).toEqual([]);
  });

  it("resolve() stops waiting but a late copy is still delivered once", () => {
    const s = new SeqStream(1);
    s.receive(1);
    s.receive(3);
    expect(s.resolve(2)).toBe(true);
    expect(s.missing.size).toBe(0);
    expect(s.receive(2).arrival).toBe("new");
    expect(s.receive(2).arrival).toBe("duplicate");
  });

  it("bounds the gaps tracked, abandoning the oldest", () => {
    const s = new SeqStream(1, { window: 100, maxMissing: 4 });
    s.receive(1);
    expect(s.receive(4).gaps).toEqual([2, 3]);
    const r = s.receive(8);
    expect(r.gaps).toEqual([5, 6, 7]);
    expect(r.abandoned).toEqual([2]);
    expect([...s.missing].sort()).toEqual([3, 5, 6, 7]);
    // A huge jump tracks only the newest gaps.
    const j = s.receive(1_000_000);
    expect(j.gaps).toEqual([999_996, 999_997, 999_998, 999_999]);
    expect(s.missing.size).toBe(4);
  });

  it("keeps at most maxMissing late numbers (stopped waiting for, not received)", () => {
    const s = new SeqStream(1, { window: 1000, maxMissing: 4 });
    s.receive(1);
    expect(s.receive(6).gaps).toEqual([2, 3, 4, 5]);
    for (let q = 2; q <= 5; q++) expect(s.resolve(q)).toBe(true);
    expect(s.receive(11).gaps).toEqual([7, 8, 9, 10]);
    for (let q = 7; q <= 10; q++) expect(s.resolve(q)).toBe(true);
    expect(s.late.size).toBe(4);
    expect(s.missing.size).toBe(0);
    // The newest late ones are still delivered once; older ones count as duplicates.
    expect(s.receive(10).arrival).toBe("new");
    expect(s.receive(2).arrival).toBe("duplicate");
  });

  it("extendBack() goes back at most maxMissing numbers", () => {
    const s = new SeqStream(1000, { window: 4096, maxMissing: 4 });
    s.receive(1000);
    expect(s.extendBack(1).gaps).toEqual([996, 997, 998, 999]);
    expect(s.base).toBe(996);
    expect(s.receive(500).arrival).toBe("old");
  });

  it("delivers each number at most once whatever the order (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60 }), { maxLength: 200 }), (arrivals) => {
        const s = new SeqStream(arrivals[0] ?? 1);
        const delivered: number[] = [];
        for (const a of arrivals) if (s.receive(a).arrival === "new") delivered.push(a);
        expect(new Set(delivered).size).toBe(delivered.length);
        for (const m of s.missing) expect(delivered).not.toContain(m);
      }),
    );
  });
});

describe("RetransmitBuffer", () => {
  it("keeps at most maxCount messages, dropping the oldest", () => {
    const b = new RetransmitBuffer({ maxCount: 3, maxAgeMs: 1e9 });
    for (let i = 1; i <= 5; i++) b.put("A", i, `NEWS * ${i}`, false, i);
    expect(b.size).toBe(3);
    expect(b.get("A", 2, 5)).toBeUndefined();
    expect(b.get("A", 3, 5)?.body).toBe("NEWS * 3");
    expect(b.evicted).toBe(2);
  });

  it("forgets messages older than maxAgeMs", () => {
    const b = new RetransmitBuffer({ maxCount: 100, maxAgeMs: 1000 });
    b.put("A", 1, "NEWS * a", false, 0);
    b.put("A", 2, "NEWS * b", false, 600);
    expect(b.get("A", 1, 999)?.seq).toBe(1);
    expect(b.get("A", 1, 1001)).toBeUndefined();
    expect(b.get("A", 2, 1001)?.seq).toBe(2);
    expect(b.size).toBe(1);
  });

  it("keeps only the fact of a BEAT, and forgets a sender on request", () => {
    const b = new RetransmitBuffer({ maxCount: 10, maxAgeMs: 1000 });
    b.put("A", 1, "BEAT * Beep", true, 0);
    b.put("B", 1, "NEWS * x", false, 0);
    expect(b.get("A", 1, 0)).toMatchObject({ superseded: true, body: "" });
    b.dropSender("A");
    expect(b.get("A", 1, 0)).toBeUndefined();
    expect(b.get("B", 1, 0)).toBeDefined();
  });

  it("holds nothing with maxCount 0", () => {
    const b = new RetransmitBuffer({ maxCount: 0, maxAgeMs: 1000 });
    b.put("A", 1, "NEWS * x", false, 0);
    expect(b.size).toBe(0);
  });
});

describe("TokenBucket", () => {
  it("allows a burst, then the rate; waitMs says when the next token comes", () => {
    const b = new TokenBucket(10, 20, 0);
    let n = 0;
    while (b.take(0)) n++;
    expect(n).toBe(20);
    expect(b.waitMs(0)).toBeCloseTo(100);
    expect(b.take(50)).toBe(false);
    expect(b.take(100)).toBe(true);
    // Over 10 s at most burst + 10/s · 10 s tokens, however often one asks.
    let got = 0;
    for (let t = 100; t <= 10_100; t += 7) if (b.take(t)) got++;
    expect(got).toBeLessThanOrEqual(100 + 1);
    expect(got).toBeGreaterThanOrEqual(99);
  });

  it("rate 0 is unlimited", () => {
    const b = new TokenBucket(0, 0, 0);
    for (let i = 0; i < 1000; i++) expect(b.take(0)).toBe(true);
    expect(b.waitMs(0)).toBe(0);
  });
});

describe("Scheduler", () => {
  it("runs deadlines in time order on one clock timer; set() replaces, cancel() removes", () => {
    const clock = new ManualClock();
    const s = new Scheduler(clock);
    const log: string[] = [];
    s.set("a", 30, () => log.push("a"));
    s.set("b", 10, () => log.push("b"));
    s.set("c", 20, () => log.push("c"));
    s.set("a", 5, () => log.push("a2"));
    s.cancel("c");
    expect(clock.timerCount).toBe(1);
    clock.advance(100);
    expect(log).toEqual(["a2", "b"]);
    expect(s.size).toBe(0);
    expect(clock.timerCount).toBe(0);
  });

  it("lets a callback schedule more work, and clear() leaves no timer", () => {
    const clock = new ManualClock();
    const s = new Scheduler(clock);
    let n = 0;
    const tick = () => {
      n++;
      if (n < 5) s.set("t", 10, tick);
    };
    s.set("t", 10, tick);
    clock.advance(1000);
    expect(n).toBe(5);
    s.set("x", 10, () => n++);
    s.clear();
    clock.advance(1000);
    expect(n).toBe(5);
    expect(clock.timerCount).toBe(0);
  });
});

describe("Scheduler memory", () => {
  it("keeps its heap proportional to the live deadlines when most are cancelled or replaced", () => {
    const clock = new ManualClock();
    const s = new Scheduler(clock);
    for (let i = 0; i < 1000; i++) s.set(`k${i}`, 1000 + i, () => {});
    for (let i = 0; i < 990; i++) s.cancel(`k${i}`);
    // Replacing one key's deadline over and over leaves stale heap entries behind.
    for (let i = 0; i < 1000; i++) s.set("again", 5000 + i, () => {});
    expect(s.size).toBe(11);
    expect(s.heapSize).toBeLessThanOrEqual(Math.max(64, 4 * s.size));
    let fired = 0;
    s.set("last", 1, () => fired++);
    clock.advance(10_000);
    expect(fired).toBe(1);
    expect(s.size).toBe(0);
    expect(s.heapSize).toBe(0);
  });
});

describe("control message formats", () => {
  const parse = (line: string) => {
    const r = parseLine(line);
    if (!r.ok) throw new Error(r.reason);
    return r.msg;
  };
  it("LAST carries nb=, the latest non-BEATs newest first; a malformed list is ignored", () => {
    const last = (tail: string) => parseControl(parse(`AAAA0001 0 LAST * 9 first=1 ${tail}`));
    expect(lastArgs(9, 0, 1, 0, [7, 3]).at(-1)).toBe("nb=7.3");
    expect(lastArgs(9, 0, 1, 0, []).at(-1)).toBe("nb=0");
    expect(last("nb=7.3")).toMatchObject({ control: { nb: [7, 3] } });
    expect(last("nb=0")).toMatchObject({ control: { nb: [] } });
    for (const bad of ["nb=3.7", "nb=x", "nb=1.2.3.4.5.6.7.8.9", "nb=7..3"]) {
      const r = last(bad);
      expect(r.ok && r.control.kind === "LAST" && r.control.nb).toBeUndefined();
    }
  });

  it("reads prior=K only as the last argument, a whole number", () => {
    expect(priorOf(parse("E26CB171 7 BEAT * Beep state=asimov prior=5"))).toBe(5);
    expect(priorOf(parse("E26CB171 7 BEAT * Beep prior=0"))).toBe(0);
    expect(priorOf(parse("E26CB171 7 BEAT * Beep prior=5 state=asimov"))).toBeUndefined();
    expect(priorOf(parse("E26CB171 7 BEAT * Beep prior=-1"))).toBeUndefined();
    expect(priorOf(parse("E26CB171 7 BEAT * Beep prior="))).toBeUndefined();
    expect(priorOf(parse("E26CB171 7 BEAT *"))).toBeUndefined();
  });

  it("parses NACK, SKIP, RSND and LAST", () => {
    expect(parseControl(parse("R0000001 0 NACK E26CB171 7"))).toEqual({
      ok: true,
      control: { kind: "NACK", sender: "E26CB171", seq: 7 },
    });
    expect(parseControl(parse("R0000001 0 SKIP E26CB171 7"))).toMatchObject({ control: { kind: "SKIP", seq: 7 } });
    const r = parseControl(parse("R0000001 0 RSND HUMAN 4 UPLD * results.data port=8001"));
    expect(r.ok && r.control.kind === "RSND" && r.control.message.text).toBe("HUMAN 4 UPLD * results.data port=8001");
    expect(parseControl(parse(`HUMAN-3fa2 0 LAST * ${lastArgs(4, 250, 1, 9000).join(" ")}`))).toEqual({
      ok: true,
      control: { kind: "LAST", seq: 4, age: 250, first: 1, since: 9000 },
    });
    expect(parseControl(parse("HUMAN-3fa2 0 LAST * 4"))).toMatchObject({ control: { kind: "LAST", seq: 4 } });
  });

  it("rejects malformed ones", () => {
    for (const line of [
      "R 0 NACK * 7",
      "R 0 NACK E26CB171 0",
      "R 0 NACK E26CB171 x",
      "R 0 NACK E26CB171",
      "R 0 RSND E26CB171 3 beat *",
      "R 0 RSND E26CB171 3",
      "R 0 LAST * -1",
    ]) {
      expect(parseControl(parse(line)).ok, line).toBe(false);
    }
  });

  it("only SEQ 0 messages are control; a body round-trips through RSND", () => {
    expect(isControl(parse("HUMAN 5 NACK E26CB171 3"))).toBe(false);
    expect(isControl(parse("HUMAN 0 NACK E26CB171 3"))).toBe(true);
    expect(bodyOf(parse("E26CB171 7 BEAT * Beep  state=asimov"))).toBe("BEAT * Beep  state=asimov");
    expect(bodyOf(parse("HUMAN 2 KILL E26CB171"))).toBe("KILL E26CB171");
  });
});
