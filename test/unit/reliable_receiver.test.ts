import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.js";
import { type ChanMessage, parseLine } from "../../shared/codec.js";
import { seededRng } from "../../shared/random.js";
import { TokenBucket } from "../../shared/reliable/bucket.js";
import { emptyStats, type ReliableOptions, settingsOf } from "../../shared/reliable/options.js";
import { Receiver } from "../../shared/reliable/receiver.js";
import { Scheduler } from "../../shared/reliable/scheduler.js";
import { type LastControl, parseControl } from "../../shared/reliable/wire.js";
import type { Source } from "../../shared/transport.js";

const A: Source = { address: "10.0.0.1", port: 4000 };
const A2: Source = { address: "10.0.0.1", port: 4001 };

function msg(line: string): ChanMessage {
  const r = parseLine(line);
  if (!r.ok) throw new Error(r.reason);
  return r.msg;
}

function last(line: string): LastControl {
  const r = parseControl(msg(line));
  if (!r.ok || r.control.kind !== "LAST") throw new Error("not a LAST");
  return r.control;
}

function setup(opts: Partial<ReliableOptions> = {}) {
  const clock = new ManualClock();
  const s = settingsOf({ clock, rng: seededRng(5), superseded: ["BEAT"], ...opts });
  const sched = new Scheduler(clock);
  const stats = emptyStats();
  const delivered: { text: string; origin: Source; repaired: boolean }[] = [];
  const nacks: { at: number; sender: string; seq: number }[] = [];
  const bucket = new TokenBucket(s.nackRate, Math.max(1, 2 * s.nackRate), 0);
  const r = new Receiver(
    s,
    sched,
    stats,
    {
      deliver: (m, origin, repaired) => delivered.push({ text: m.text, origin, repaired }),
      nack: (sender, seq) => {
        nacks.push({ at: clock.now(), sender, seq });
        return true;
      },
    },
    (t) => bucket.take(t),
    (t) => bucket.waitMs(t),
  );
  return { clock, sched, stats, delivered, nacks, r };
}

describe("Receiver", () => {
  it("delivers each message once and NACKs a gap within nackWait, then with backoff until given up", () => {
    const { clock, r, delivered, nacks, stats } = setup({ nackTries: 3 });
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 3 NEWS * c"), A);
    r.onData(msg("S 3 NEWS * c"), A);
    expect(delivered.map((d) => d.text)).toEqual(["S 1 NEWS * a", "S 3 NEWS * c"]);
    expect(stats.duplicates).toBe(1);
    expect(r.pendingGaps).toBe(1);
    clock.advance(200);
    expect(nacks.map((n) => n.seq)).toEqual([2]);
    clock.advance(60_000);
    expect(nacks).toHaveLength(3);
    // Rounds at least (nackWait + 2·rsndWait)·2^k apart.
    expect((nacks[1]?.at ?? 0) - (nacks[0]?.at ?? 0)).toBeGreaterThanOrEqual(400);
    expect((nacks[2]?.at ?? 0) - (nacks[1]?.at ?? 0)).toBeGreaterThanOrEqual(800);
    expect(stats.givenUp).toBe(1);
    expect(r.pendingGaps).toBe(0);
    // A late copy is still delivered once.
    r.onData(msg("S 2 NEWS * b"), A);
    r.onData(msg("S 2 NEWS * b"), A);
    expect(delivered.map((d) => d.text)).toContain("S 2 NEWS * b");
    expect(delivered).toHaveLength(3);
  });

  it("a sender that never spoke this protocol (no LAST, no prior=) gets unconfirmedTries rounds, one that did nackTries", () => {
    const { clock, r, nacks, stats } = setup({ nackTries: 6, unconfirmedTries: 2 });
    // The original's bot (or a forger): plain BEATs, no prior= tag.
    r.onData(msg("O 1 BEAT * Beep"), A);
    r.onData(msg("O 3 BEAT * Beep"), A);
    // One of ours: its BEATs carry prior=.
    r.onData(msg("S 1 NEWS * a"), A2);
    r.onData(msg("S 2 BEAT * Beep prior=1"), A2);
    r.onData(msg("S 4 NEWS * d"), A2);
    clock.advance(120_000);
    expect(nacks.filter((n) => n.sender === "O")).toHaveLength(2);
    expect(nacks.filter((n) => n.sender === "S")).toHaveLength(6);
    expect(stats.givenUp).toBe(2);
  });

  it("a LAST from a sender shows it speaks this protocol: its gaps get nackTries rounds", () => {
    const { clock, r, nacks } = setup({ nackTries: 6, unconfirmedTries: 2 });
    r.onData(msg("H 1 PING * x"), A);
    r.onLast("H", last("H 0 LAST * 1 age=0"), A);
    r.onData(msg("H 3 PING * y"), A);
    clock.advance(120_000);
    expect(nacks.filter((n) => n.sender === "H")).toHaveLength(6);
  });

  it("a backlog of gaps over the NACK rate waits for tokens without polling: each deferred round tries about once", () => {
    const { clock, r, nacks, stats } = setup({ nackRate: 10, nackTries: 3, unconfirmedTries: 3 });
    for (let k = 0; k < 8; k++) {
      r.onData(msg(`S${k} 1 NEWS * a`), A);
      r.onData(msg(`S${k} 127 NEWS * z`), A); // 125 gaps each: 1,000 in all
    }
    expect(r.pendingGaps).toBe(1000);
    clock.advance(60_000);
    expect(r.pendingGaps).toBe(0);
    expect(stats.givenUp).toBe(1000);
    // Within the rate: a burst of 20, then 10 a second.
    expect(nacks.length).toBeLessThanOrEqual(20 + 10 * 60);
    // 3 rounds per gap, each deferred about once (2,959 times in all); it was 33,099 when every
    // gap polled for a token every ~0.2 s.
    expect(stats.nacksDeferred).toBeLessThan(1.2 * 3 * 1000);
    expect(stats.nacksExpired + stats.nacksSent).toBe(3 * 1000);
  });

  it("does not await numbers its own read budget dropped: a flooding source gets no NACK", () => {
    const { clock, r, delivered, nacks, stats } = setup();
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 2 NEWS * b"), A);
    r.onData(msg("S 5 NEWS * e"), A); // 3 and 4 lost on the way: awaited
    // The reader dropped 20 datagrams of this source unread just before 26.
    r.onData(msg("S 26 NEWS * z"), { ...A, dropped: 20 });
    expect(delivered.map((d) => d.text.split(" ")[1])).toEqual(["1", "2", "5", "26"]);
    expect(stats.gapsDropped).toBe(20);
    expect(r.pendingGaps).toBe(2);
    clock.advance(60_000);
    expect(new Set(nacks.map((n) => n.seq))).toEqual(new Set([3, 4]));
    // A copy of a passed-over number is not delivered again later.
    r.onData(msg("S 10 NEWS * j"), A);
    expect(delivered).toHaveLength(4);
    expect(stats.duplicates).toBe(1);
    // In order after a drop: nothing passed over.
    r.onData(msg("S 27 NEWS * y"), { ...A, dropped: 3 });
    expect(stats.gapsDropped).toBe(20);
  });

  it("a repair is delivered with the sender's address, marked repaired; another peer's NACK is our round", () => {
    const { clock, r, delivered, nacks, stats } = setup();
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 3 NEWS * c"), A);
    r.onNack("S", 2);
    expect(stats.nacksSuppressed).toBe(1);
    clock.advance(300);
    expect(nacks).toEqual([]);
    r.onRepair(msg("S 2 NEWS * b"));
    expect(delivered.at(-1)).toEqual({ text: "S 2 NEWS * b", origin: A, repaired: true });
    expect(stats.repaired).toBe(1);
    expect(r.pendingGaps).toBe(0);
    // A repair for a sender never heard is history: not delivered.
    r.onRepair(msg("T 5 NEWS * t"));
    expect(stats.old).toBe(1);
  });

  it("closes gaps a superseded message's prior= shows were superseded, and hides the tag", () => {
    const { clock, r, delivered, nacks, stats } = setup();
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 5 BEAT * Beep prior=2"), A);
    // 2 was the NEWS: still awaited; 3 and 4 were BEATs.
    expect(stats.beatsInferred).toBe(2);
    expect(delivered.at(-1)?.text).toBe("S 5 BEAT * Beep");
    clock.advance(200);
    expect(nacks.map((n) => n.seq)).toEqual([2]);
  });

  it("a SKIP ends the wait", () => {
    const { clock, r, nacks, stats } = setup();
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 3 NEWS * c"), A);
    r.onSkip("S", 2);
    r.onSkip("S", 9);
    expect(stats.skipped).toBe(1);
    clock.advance(10_000);
    expect(nacks).toEqual([]);
  });

  it("from a LAST, a late joiner asks only for what was sent after it joined", () => {
    const { clock, r, nacks } = setup();
    clock.advance(5_000);
    // Joined 5 s ago. Stream began 60 s ago, its latest sent 1 s ago: ask for 9 only.
    r.onLast("S", last("S 0 LAST * 9 age=1000 first=1 since=60000"), A);
    clock.advance(200);
    expect(nacks.map((n) => n.seq)).toEqual([9]);
    // Sent before we joined: nothing to ask.
    r.onLast("T", last("T 0 LAST * 4 age=9000 first=1 since=60000"), A);
    // Stream began after we joined: everything from first.
    r.onLast("U", last("U 0 LAST * 3 age=0 first=1 since=2000"), A);
    clock.advance(200);
    expect(nacks.filter((n) => n.sender === "T")).toEqual([]);
    expect(
      nacks
        .filter((n) => n.sender === "U")
        .map((n) => n.seq)
        .sort(),
    ).toEqual([1, 2, 3]);
  });

  it("a sender heard from a new address has restarted: tracked anew", () => {
    const { r, delivered, stats } = setup();
    const dropped: string[] = [];
    r.onRestart = (s) => dropped.push(s);
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 2 NEWS * b"), A);
    r.onData(msg("S 1 NEWS * again"), A2);
    expect(delivered.map((d) => d.text)).toEqual(["S 1 NEWS * a", "S 2 NEWS * b", "S 1 NEWS * again"]);
    expect(stats.restarts).toBe(1);
    expect(dropped).toEqual(["S"]);
  });

  it("forgets senders long silent with nothing missing, so the table does not grow for ever", () => {
    const { clock, r } = setup({ holdTimeMs: 10_000 });
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("G 1 NEWS * a"), A2);
    r.onData(msg("G 3 NEWS * c"), A2);
    expect(r.trackedSenders).toBe(2);
    // Idle means 2·max(holdTime, 60 s); the sweep runs on a message, at most every half of that.
    clock.advance(119_000);
    r.onData(msg("T 1 NEWS * t"), A);
    expect(r.trackedSenders).toBe(3);
    clock.advance(61_000);
    r.onData(msg("T 2 NEWS * t"), A);
    // S and G (its gap given up long ago) are forgotten; T, heard now, stays.
    expect(r.trackedSenders).toBe(1);
  });

  it("beyond maxSenders forgets the least recently heard sender, not the oldest one", () => {
    const { clock, r, stats, delivered } = setup({ maxSenders: 3 });
    r.onData(msg("A 1 NEWS * a"), A);
    r.onData(msg("B 1 NEWS * b"), A);
    r.onData(msg("C 1 NEWS * c"), A);
    clock.advance(2_000);
    r.onData(msg("A 2 NEWS * a"), A);
    r.onData(msg("D 1 NEWS * d"), A);
    expect(r.trackedSenders).toBe(3);
    expect(stats.sendersEvicted).toBe(1);
    // A is still tracked (a duplicate is recognised); B was forgotten (its copy is new again).
    r.onData(msg("A 2 NEWS * a"), A);
    expect(stats.duplicates).toBe(1);
    r.onData(msg("B 1 NEWS * b"), A);
    expect(delivered.filter((d) => d.text === "B 1 NEWS * b")).toHaveLength(2);
  });

  it("awaits at most maxGaps gaps in all; the rest are not NACKed, and a copy of one counts as a duplicate", () => {
    const { clock, r, stats, nacks, delivered } = setup({ maxGaps: 10 });
    r.onData(msg("S 1 NEWS * a"), A);
    r.onData(msg("S 100 NEWS * z"), A);
    r.onData(msg("T 1 NEWS * a"), A2);
    r.onData(msg("T 50 NEWS * z"), A2);
    expect(r.pendingGaps).toBe(10);
    expect(stats.gaps).toBe(10);
    expect(stats.gapsRefused).toBe(98 - 10 + 48);
    clock.advance(300);
    expect(nacks.every((n) => n.sender === "S")).toBe(true);
    r.onData(msg("T 20 NEWS * t"), A2);
    expect(delivered.map((d) => d.text)).not.toContain("T 20 NEWS * t");
    expect(stats.duplicates).toBe(1);
  });

  it("refuses a LAST beyond the plausible window, so a forged one cannot make a sender's next messages look old", () => {
    const { clock, r, stats, delivered, nacks } = setup();
    for (let i = 1; i <= 5; i++) r.onData(msg(`S ${i} NEWS * s${i}`), A);
    r.onLast("S", last("S 0 LAST * 999999999999 age=0 first=1 since=0"), A);
    r.onLast("S", last("S 0 LAST * 262 age=0 first=1 since=0"), A);
    expect(stats.lastRefused).toBe(2);
    r.onData(msg("S 6 NEWS * s6"), A);
    expect(delivered.at(-1)?.text).toBe("S 6 NEWS * s6");
    // Within the window (256 above the highest seen) a LAST opens gaps as before.
    r.onLast("S", last("S 0 LAST * 9 age=0 first=1 since=0"), A);
    expect(stats.lastRefused).toBe(2);
    expect(r.pendingGaps).toBe(3);
    clock.advance(300);
    expect(nacks.map((n) => n.seq).sort()).toEqual([7, 8, 9]);
  });

  it("a sender known only from LASTs: at most LAST_SPAN numbers, and its window is LAST_SPAN too", () => {
    const { r, stats } = setup();
    r.onLast("F", last("F 0 LAST * 1000000 age=0 first=1 since=0"), A);
    expect(r.pendingGaps).toBe(8);
    r.onLast("F", last("F 0 LAST * 1000009 age=0 first=1 since=0"), A);
    expect(stats.lastRefused).toBe(1);
    r.onLast("F", last("F 0 LAST * 1000008 age=0 first=1 since=0"), A);
    expect(r.pendingGaps).toBe(16);
    expect(stats.lastRefused).toBe(1);
  });
});
