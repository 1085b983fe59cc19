/** The bot's bounds on what it does for others (dnabot/limits.ts). */
import { describe, expect, it } from "vitest";
import { RequestLimiter, ThrottledCount, uploadPort } from "../../dnabot/limits.js";

const LIMITS = { perRequesterRate: 1, perRequesterBurst: 2, totalRate: 3, totalBurst: 4, maxRequesters: 3 };

describe("RequestLimiter", () => {
  it("gives each requester its burst, then its rate", () => {
    const l = new RequestLimiter(LIMITS, 0);
    expect([l.allow("a", 0), l.allow("a", 0), l.allow("a", 0)]).toEqual(["ok", "ok", "requester"]);
    expect(l.allow("a", 500)).toBe("requester");
    expect(l.allow("a", 1000)).toBe("ok");
    expect(l.stats).toMatchObject({ allowed: 3, refusedRequester: 2, refusedTotal: 0 });
  });

  it("bounds everyone together by the total rate, and a refusal costs the requester nothing", () => {
    const l = new RequestLimiter(LIMITS, 0);
    expect(["a", "a", "b", "b", "c"].map((r) => l.allow(r, 0))).toEqual(["ok", "ok", "ok", "ok", "total"]);
    // c was refused by the total: its own burst is intact once the total refills.
    expect([l.allow("c", 1000), l.allow("c", 1000), l.allow("d", 1000), l.allow("e", 1000)]).toEqual([
      "ok",
      "ok",
      "ok",
      "total",
    ]);
    expect(l.stats.refusedTotal).toBe(2);
  });

  it("tracks at most maxRequesters, forgetting the least recently heard (to within a second)", () => {
    const l = new RequestLimiter({ ...LIMITS, perRequesterRate: 0.001, totalRate: 0 }, 0);
    l.allow("a", 0);
    l.allow("a", 0);
    l.allow("b", 0);
    l.allow("c", 0);
    l.allow("a", 500); // within a second of its last move: a keeps its place
    l.allow("a", 1000); // refused, but a is now the most recently heard
    l.allow("d", 1000); // evicts b
    expect(l.size).toBe(3);
    expect(l.stats.evicted).toBe(1);
    // a is still remembered as spent; b comes back with a fresh budget.
    expect(l.allow("a", 1000)).toBe("requester");
    expect(l.allow("b", 1000)).toBe("ok");
    expect(l.stats.evicted).toBe(2); // c went
    for (let i = 0; i < 1000; i++) l.allow(`x${i}`, 1000);
    expect(l.size).toBe(3);
    expect(l.stats.evicted).toBe(2 + 1000);
  });

  it("says how many requests of a requester were refused before the one it allows", () => {
    const l = new RequestLimiter({ ...LIMITS, perRequesterRate: 1, perRequesterBurst: 1, totalRate: 0 }, 0);
    expect(l.allow("a", 0)).toBe("ok");
    expect(l.refusedBefore).toBe(0);
    for (let i = 0; i < 5; i++) expect(l.allow("a", 10)).toBe("requester");
    expect(l.allow("b", 10)).toBe("ok");
    expect(l.refusedBefore).toBe(0); // b's own run, not a's
    expect(l.allow("a", 1000)).toBe("ok");
    expect(l.refusedBefore).toBe(5);
    expect(l.allow("a", 2000)).toBe("ok");
    expect(l.refusedBefore).toBe(0);
  });
});

describe("ThrottledCount", () => {
  it("reports at most once per interval, with the count since the last report", () => {
    const w = new ThrottledCount(1000);
    expect(w.due(0)).toBeUndefined();
    w.note();
    expect(w.due(0)).toBe(1);
    w.note(5);
    expect(w.due(999)).toBeUndefined();
    w.note();
    expect(w.due(1000)).toBe(6);
    expect(w.due(5000)).toBeUndefined();
  });
});

describe("uploadPort", () => {
  it("is filePort without a tag, the tag's port when unprivileged or filePort", () => {
    expect(uploadPort(undefined, 8000)).toEqual({ ok: true, port: 8000 });
    expect(uploadPort("8001", 8000)).toEqual({ ok: true, port: 8001 });
    expect(uploadPort("1024", 8000)).toEqual({ ok: true, port: 1024 });
    expect(uploadPort("65535", 8000)).toEqual({ ok: true, port: 65535 });
    expect(uploadPort("800", 800)).toEqual({ ok: true, port: 800 });
  });

  it("refuses what is not a port, and privileged ports other than filePort", () => {
    for (const tag of ["0", "65536", "99999", "123456", "-1", "http", "", "8e3", "0x50"]) {
      expect(uploadPort(tag, 8000)).toEqual({ ok: false, reason: "bad-port" });
    }
    for (const tag of ["22", "25", "80", "443", "1023"]) {
      expect(uploadPort(tag, 8000)).toEqual({ ok: false, reason: "privileged-port" });
    }
  });
});
