import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.js";
import { Announcer } from "../../shared/reliable/announcer.js";
import { Scheduler } from "../../shared/reliable/scheduler.js";

function setup(announceCount = 4) {
  const clock = new ManualClock();
  const sched = new Scheduler(clock);
  const sent: { at: number; args: string[] }[] = [];
  const a = new Announcer({ clock, nackWaitMs: 100, announceCount }, sched, "a 1", (args) => {
    sent.push({ at: clock.now(), args });
    return true;
  });
  return { clock, sched, sent, a };
}

describe("Announcer", () => {
  it("announces after a non-superseded message: every nackWait, then at doubling intervals, announceCount times", () => {
    const { clock, sent, a } = setup();
    clock.advance(1000);
    a.sent(1, false);
    expect(a.pending).toBe(true);
    clock.advance(10_000);
    expect(sent.map((s) => s.at)).toEqual([1100, 1300, 1700, 2500]);
    expect(a.pending).toBe(false);
    expect(sent[0]?.args).toEqual(["1", "age=100", "first=1", "since=100", "nb=1"]);
  });

  it("superseded messages alone are never announced, and don't restart the count", () => {
    const { clock, sent, a } = setup(2);
    for (let i = 1; i <= 5; i++) {
      a.sent(i, true);
      clock.advance(100);
    }
    expect(sent).toEqual([]);
    expect(a.prior).toBe(0);
    a.sent(6, false);
    expect(a.prior).toBe(6);
    for (let i = 7; i <= 30; i++) {
      a.sent(i, true);
      clock.advance(100);
    }
    // Two announcements after the NEWS (6), however many BEATs follow; they report the latest.
    expect(sent).toHaveLength(2);
    expect(sent.map((s) => s.args[0])).toEqual(["7", "9"]);
    expect(sent[1]?.args).toContain("nb=6");
    expect(sent[1]?.args).toContain("first=1");
  });

  it("lists at most NB_MAX latest non-superseded numbers, newest first", () => {
    const { a } = setup();
    for (let i = 1; i <= 12; i++) a.sent(i, i % 2 === 0);
    expect(a.args().at(-1)).toBe("nb=11.9.7.5.3.1");
    for (let i = 13; i <= 20; i++) a.sent(i, false);
    expect(a.args().at(-1)).toBe("nb=20.19.18.17.16.15.14.13");
  });

  it("reset() starts a new stream (rename): first= is the next number, no prior, nothing pending", () => {
    const { clock, sched, sent, a } = setup();
    a.sent(1, false);
    a.reset();
    expect(a.pending).toBe(false);
    expect(a.started).toBe(false);
    expect(a.announceNow()).toBe(false);
    expect(sched.size).toBe(0);
    clock.advance(1000);
    expect(sent).toEqual([]);
    a.sent(2, true);
    expect(a.prior).toBe(0);
    expect(a.args()).toEqual(["2", "age=0", "first=2", "since=0", "nb=0"]);
  });

  it("stop() cancels the announcements; announceNow() sends one at once", () => {
    const { clock, sent, sched, a } = setup();
    a.sent(1, false);
    expect(a.announceNow()).toBe(true);
    a.stop();
    expect(sched.size).toBe(0);
    clock.advance(10_000);
    expect(sent).toHaveLength(1);
  });
});
