/** The load report's arithmetic: heartbeats expected vs received, sequence gaps, process peaks. */
import { describe, expect, it } from "vitest";
import { parseLine } from "../../shared/codec.js";
import { ProcTracker, TrafficRecorder } from "../../tools/load_stats.js";

function msg(line: string) {
  const r = parseLine(line);
  if (!r.ok) throw new Error(line);
  return r.msg;
}

describe("TrafficRecorder", () => {
  it("expects one heartbeat per period from a bot's first one, and caps extras per bot", () => {
    const rec = new TrafficRecorder((s) => s.startsWith("HUMAN"));
    // Bot A: beats at 0..9 s, one every second (10 beats) plus an early extra: capped at 10.
    for (let i = 0; i < 10; i++) rec.record(msg(`AAAAAAAA ${i + 1} BEAT * Beep`), i * 1000);
    rec.record(msg("AAAAAAAA 11 NEWS * Discovery"), 9500);
    // Bot B: seq 3 lost, so only 4 of 5 beats from t=5 s.
    for (const [seq, at] of [
      [1, 5000],
      [2, 6000],
      [4, 8000],
      [5, 9000],
    ])
      rec.record(msg(`BBBBBBBB ${seq} BEAT * Beep`), at!);
    rec.record(msg("BBBBBBBB 0 NACK AAAAAAAA 3"), 9100);
    rec.record(msg("HUMAN-1234 1 PING *"), 100);
    const s = rec.summary(0, 9900, 1000, 1, 8);
    expect(rec.botsSeen()).toBe(2);
    expect(s.senders).toBe(2);
    // A: 1 + floor(9900/1000) = 10; B: 1 + floor(4900/1000) = 5; the unseen bot: 8.
    expect(s.beatsExpected).toBe(10 + 5 + 8);
    expect(s.beatsReceived).toBe(10 + 4);
    expect(s.worstBotRatio).toBe(0);
    expect(s.seqLost).toBe(1);
    expect(s.seqSpan).toBe(11 + 5);
    expect(s.byOpcode).toEqual({ BEAT: 14, NEWS: 1, NACK: 1 });
    expect(s.messages).toBe(16);
    // A window from 5 s: A was heard before it (4 periods), B first inside it (1 + 4).
    const w = rec.summary(5000, 9900, 1000, 0, 0);
    expect(w.beatsExpected).toBe(4 + 5);
    expect(w.beatsReceived).toBe(4 + 4);
    expect(w.messages).toBe(5 + 1 + 4 + 1);
  });
});

describe("TrafficRecorder by sending process", () => {
  it("counts a bot that renames itself as one bot, and its ids apart", () => {
    const rec = new TrafficRecorder();
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0, "127.0.0.1:5000");
    rec.record(msg("BBBBBBBB 2 BEAT * Beep"), 1000, "127.0.0.1:5000");
    rec.record(msg("CCCCCCCC 3 BEAT * Beep"), 2000, "127.0.0.1:5000");
    expect(rec.botsSeen()).toBe(1);
    expect(rec.ids.size).toBe(3);
    expect(rec.renamed()).toBe(1);
    const s = rec.summary(0, 2000, 1000, 0, 0);
    expect(s.beatsReceived).toBe(3);
    expect(s.seqLost).toBe(0);
  });
});

describe("TrafficRecorder renames", () => {
  it("does not count as renamed a bot heard only in NACKs (its heartbeats all lost)", () => {
    // The 200-bot report: 180 ids from 86 processes with heartbeats, read as ~94 renames. The
    // other ids were bots whose BEATs the overloaded recorder never got, but whose NACKs it did.
    const rec = new TrafficRecorder();
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0, "127.0.0.1:5000");
    rec.record(msg("BBBBBBBB 0 NACK AAAAAAAA 1"), 10, "127.0.0.1:5001");
    rec.record(msg("CCCCCCCC 0 NACK AAAAAAAA 1"), 20, "127.0.0.1:5002");
    expect(rec.botsSeen()).toBe(1);
    expect(rec.ids.size).toBe(3);
    expect(rec.processesHeard()).toBe(3);
    expect(rec.renamed()).toBe(0);
  });
});

describe("ProcTracker", () => {
  it("keeps the peak of the sum, each bot's high-water mark and CPU since the baseline", () => {
    const p = new ProcTracker();
    p.baseline(
      new Map([
        [1, { rssKb: 100, hwmKb: 100, cpuSeconds: 1 }],
        [2, { rssKb: 100, hwmKb: 120, cpuSeconds: 2 }],
      ]),
    );
    p.round(
      new Map([
        [1, { rssKb: 300, hwmKb: 300, cpuSeconds: 1.5 }],
        [2, { rssKb: 200, hwmKb: 200, cpuSeconds: 2.5 }],
      ]),
    );
    p.round(new Map([[1, { rssKb: 150, hwmKb: 300, cpuSeconds: 2 }]]));
    const s = p.summary();
    expect(s.peakTotalRssKb).toBe(500);
    expect(s.maxBotHwmKb).toBe(300);
    expect(s.meanBotHwmKb).toBe(250);
    expect(s.cpuSeconds).toBeCloseTo(4.5);
    expect(s.cpuSinceBaseline).toBeCloseTo(1.5);
  });
});
