import { describe, expect, it } from "vitest";
import { MAX_FIRES_PER_INSTANT, ManualClock } from "../../shared/clock.js";

describe("ManualClock", () => {
  it("fires timers in time order, ties in creation order, and ends at the target time", () => {
    const c = new ManualClock(100);
    const fired: string[] = [];
    c.setTimeout(() => fired.push(`b@${c.now()}`), 20);
    c.setTimeout(() => fired.push(`a@${c.now()}`), 10);
    c.setTimeout(() => fired.push(`c@${c.now()}`), 20);
    const gone = c.setTimeout(() => fired.push("never"), 5);
    c.clearTimeout(gone);
    c.advance(15);
    expect(fired).toEqual(["a@110"]);
    expect(c.now()).toBe(115);
    c.advance(100);
    expect(fired).toEqual(["a@110", "b@120", "c@120"]);
    expect(c.now()).toBe(215);
    expect(c.timerCount).toBe(0);
  });

  it("runs timers set by timers when they fall due within the same advance", () => {
    const c = new ManualClock();
    const at: number[] = [];
    const tick = (): void => {
      at.push(c.now());
      if (at.length < 5) c.setTimeout(tick, 10);
    };
    c.setTimeout(tick, 10);
    c.advance(100);
    expect(at).toEqual([10, 20, 30, 40, 50]);
  });

  it("allows many timers at one instant, but throws instead of hanging when one re-arms there for ever", () => {
    const c = new ManualClock();
    let n = 0;
    for (let i = 0; i < MAX_FIRES_PER_INSTANT; i++) c.setTimeout(() => n++, 5);
    c.advance(10);
    expect(n).toBe(MAX_FIRES_PER_INSTANT);
    const loop = (): void => {
      c.setTimeout(loop, 0);
    };
    c.setTimeout(loop, 1);
    expect(() => c.advance(10)).toThrow(/re-arming at the same instant/);
    expect(c.now()).toBe(11);
  });
});
