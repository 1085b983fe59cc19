/** The load report's arithmetic: heartbeats expected vs received, sequence gaps, process peaks. */
import { describe, expect, it } from "vitest";
import { parseLine } from "../../shared/codec.js";
import { ProcTracker, renamesInLog, TrafficRecorder } from "../../tools/load_stats.js";

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
    expect(rec.botsHeard()).toBe(2);
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
    expect(rec.botsHeard()).toBe(1);
    expect(rec.ids.size).toBe(3);
    expect(rec.renamed()).toBe(1);
    const s = rec.summary(0, 2000, 1000, 0, 0);
    expect(s.beatsReceived).toBe(3);
    expect(s.seqLost).toBe(0);
  });
});

describe("TrafficRecorder: a bot heard once is a bot seen", () => {
  it("counts a bot heard only in NACKs as heard, expects its heartbeats from that first message, and no rename", () => {
    // The 200-bot report: an overloaded recorder got some bots' NACKs but none of their BEATs.
    const rec = new TrafficRecorder();
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0, "127.0.0.1:5000");
    rec.record(msg("BBBBBBBB 0 NACK AAAAAAAA 1"), 1000, "127.0.0.1:5001");
    rec.record(msg("CCCCCCCC 0 NACK AAAAAAAA 1"), 2000, "127.0.0.1:5002");
    expect(rec.botsHeard()).toBe(3);
    expect(rec.botsHeardBy(1500)).toBe(2);
    expect(rec.ids.size).toBe(3);
    expect(rec.renamed()).toBe(0);
    // A: 1 + 4 = 5 expected, 1 received; B from 1 s: 1 + 3; C from 2 s: 1 + 2; none received.
    const s = rec.summary(0, 4000, 1000, 0, 0);
    expect(s.beatsExpected).toBe(5 + 4 + 3);
    expect(s.beatsReceived).toBe(1);
    expect(s.worstBotRatio).toBe(0);
  });
});

describe("TrafficRecorder: a bot in a host that renames itself", () => {
  it("is one bot after merge: its heartbeats under both ids, expected from its first message", () => {
    const rec = new TrafficRecorder();
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0);
    rec.record(msg("CCCCCCCC 1 BEAT * Beep"), 0);
    rec.record(msg("AAAAAAAA 2 BEAT * Beep"), 1000);
    // A collision: AAAAAAAA carries on as BBBBBBBB, its numbers too.
    rec.record(msg("BBBBBBBB 3 BEAT * Beep"), 2000);
    rec.record(msg("BBBBBBBB 4 BEAT * Beep"), 3000);
    expect(rec.botsHeard()).toBe(3);
    const before = rec.summary(0, 3000, 1000, 0, 0);
    // Unmerged, A is expected to beat on after 1 s and B from 2 s: 4 + 2 + 4 = 10 expected.
    expect(before.beatsExpected).toBe(10);
    expect(rec.merge("AAAAAAAA", "BBBBBBBB")).toBe(true);
    expect(rec.merge("AAAAAAAA", "BBBBBBBB")).toBe(false);
    expect(rec.botsHeard()).toBe(2);
    expect(rec.renamed()).toBe(1);
    const s = rec.summary(0, 3000, 1000, 0, 0);
    expect(s.beatsExpected).toBe(4 + 4);
    expect(s.beatsReceived).toBe(4 + 1);
    expect(s.seqLost).toBe(0);
    expect(s.seqSpan).toBe(4 + 1);
    expect(rec.series(0, 3000, 1000, 1000).map((i) => i.botsHeard)).toEqual([2, 2, 2]);
  });

  it("keeps two bots of different hosts that drew the same id apart, and finds each one's key", () => {
    const rec = new TrafficRecorder();
    // A bot of the host at 5000 drew BBBBBBBB too: not the bot the host at 6000 renames to it.
    rec.record(msg("BBBBBBBB 1 BEAT * Beep"), 0, "127.0.0.1:5000/BBBBBBBB");
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0, "127.0.0.1:5000/AAAAAAAA");
    rec.record(msg("AAAAAAAA 1 BEAT * Beep"), 0, "127.0.0.1:6000/AAAAAAAA");
    rec.record(msg("GGGGGGGG 1 BEAT * Beep"), 0, "127.0.0.1:6000/GGGGGGGG");
    // Each renames itself; the one in the host at port 6000 to BBBBBBBB.
    rec.record(msg("BBBBBBBB 2 BEAT * Beep"), 1000, "127.0.0.1:6000/BBBBBBBB");
    rec.record(msg("CCCCCCCC 2 BEAT * Beep"), 1000, "127.0.0.1:5000/CCCCCCCC");
    expect(rec.botsHeard()).toBe(6);
    expect(rec.keysOf("BBBBBBBB")).toEqual(["127.0.0.1:5000/BBBBBBBB", "127.0.0.1:6000/BBBBBBBB"]);
    expect(rec.keysOf("AAAAAAAA")).toHaveLength(2);
    // The host at 5000 logged A → E (never heard: renamed again at once) → C, the one at 6000 A → B.
    rec.mergeRenames([
      ["AAAAAAAA", "EEEEEEEE"],
      ["EEEEEEEE", "CCCCCCCC"],
    ]);
    rec.mergeRenames([
      ["FFFFFFFF", "GGGGGGGG"],
      ["AAAAAAAA", "BBBBBBBB"],
    ]);
    expect(rec.botsHeard()).toBe(4);
    // The two renamed bots (2 beats each), 5000's BBBBBBBB and GGGGGGGG (1 each, 2 expected each).
    expect(rec.summary(0, 1000, 1000, 0, 0)).toMatchObject({ beatsExpected: 8, beatsReceived: 6, seqLost: 0 });
  });

  it("finds renames in a host's log, in the bots' language", () => {
    const template = "Collision de noms : §OLD§ est aussi utilisé par §ADDRESS§, nouveau nom §NEW§";
    const log = [
      "[15:02:15] WARN (bot=AAAAAAAA): Collision de noms : AAAAAAAA est aussi utilisé par 127.0.0.1, nouveau nom BBBBBBBB",
      "[15:02:16] WARN (bot=CCCCCCCC): Name collision: CCCCCCCC is also used by 127.0.0.1, now DDDDDDDD",
      "[15:02:17] INFO (bot=EEEEEEEE): Collision de noms : (.*) est aussi",
    ].join("\n");
    expect(renamesInLog(log, template)).toEqual([["AAAAAAAA", "BBBBBBBB"]]);
  });
});

describe("TrafficRecorder series", () => {
  it("counts, interval by interval, bots heard, heartbeats received and expected, messages, gaps and repairs", () => {
    const rec = new TrafficRecorder();
    // Heartbeat 1 s. A from 0 s beats every second, seq 3 lost (gap seen at 3 s) then repaired.
    for (const [seq, at] of [
      [1, 0],
      [2, 1000],
      [4, 3000],
      [5, 4000],
    ] as const)
      rec.record(msg(`AAAAAAAA ${seq} BEAT * Beep`), at);
    // B first heard at 2 s.
    rec.record(msg("BBBBBBBB 1 BEAT * Beep"), 2000);
    rec.record(msg("BBBBBBBB 0 NACK AAAAAAAA 3"), 3100);
    rec.record(msg("AAAAAAAA 0 RSND AAAAAAAA 3 BEAT * Beep"), 3200);
    const s = rec.series(0, 4000, 2000, 1000);
    expect(s.map((i) => i.t)).toEqual([2, 4]);
    expect(s.map((i) => i.botsHeard)).toEqual([2, 2]);
    // (0, 2]: A's beat at 1 s and B's at 2 s (the one at 0 s opens the window); expected 2 (A) + 0 (B).
    expect(s[0]).toMatchObject({ beatsReceived: 2, beatsExpected: 2, messages: 2, gaps: 0, nacks: 0, repairs: 0 });
    expect(s[0]!.messagesPerSecond).toBe(1);
    // (2, 4]: A at 3 and 4 s, expected 2 (A) + 2 (B); the gap, the NACK and the repair.
    expect(s[1]).toMatchObject({ beatsReceived: 2, beatsExpected: 4, messages: 4, gaps: 1, nacks: 1, repairs: 1 });
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
      0,
    );
    p.round(
      new Map([
        [1, { rssKb: 300, hwmKb: 300, cpuSeconds: 1.5 }],
        [2, { rssKb: 200, hwmKb: 200, cpuSeconds: 2.5 }],
      ]),
      1000,
    );
    p.round(new Map([[1, { rssKb: 150, hwmKb: 300, cpuSeconds: 2 }]]), 2000);
    const s = p.summary();
    expect(s.peakTotalRssKb).toBe(500);
    expect(s.maxProcHwmKb).toBe(300);
    expect(s.meanProcHwmKb).toBe(250);
    expect(s.cpuSeconds).toBeCloseTo(4.5);
    expect(s.cpuSinceBaseline).toBeCloseTo(1.5);
    // The series: memory at each interval's end, CPU between rounds (process 2's last sample stays counted).
    const rec = new TrafficRecorder();
    const series = rec.series(0, 2000, 1000, 1000);
    p.fill(series, 0);
    expect(series.map((i) => i.rssBytes)).toEqual([500 * 1024, 150 * 1024]);
    expect(series[0]!.cpuPercent).toBeCloseTo(100);
    expect(series[1]!.cpuPercent).toBeCloseTo(50);
  });
});
