/** The attack campaign's pure parts (tools/attack_report.ts). */
import { describe, expect, it } from "vitest";
import { ROGUE_MODES } from "../../dnabot/rogue.js";
import { ATTACKS, attackTable, deliveryOf, isPrivateNamespace } from "../../tools/attack_report.js";

describe("attacks", () => {
  it("cover every rogue mode and the upload server's two attacks, once each", () => {
    const kinds = ATTACKS.map((a) => a.kind);
    expect(new Set(kinds).size).toBe(kinds.length);
    expect([...kinds].sort()).toEqual([...ROGUE_MODES, "bigupload", "slowloris"].sort());
    expect(ATTACKS.find((a) => a.name === "last")?.duration(60)).toBe(30);
    expect(ATTACKS.find((a) => a.name === "ids")?.duration(60)).toBe(60);
  });
});

describe("heartbeat delivery", () => {
  it("counts the numbers strictly between the last before and the first after", () => {
    expect(deliveryOf(10, 21, new Set([11, 12, 14, 20, 21, 9]))).toEqual({ sent: 10, got: 4 });
    expect(deliveryOf(10, 11, new Set())).toEqual({ sent: 0, got: 0 });
    expect(deliveryOf(undefined, 20, new Set([5]))).toEqual({ sent: 0, got: 0 });
    expect(deliveryOf(3, undefined, new Set([5]))).toEqual({ sent: 0, got: 0 });
  });
});

describe("namespace check", () => {
  const base = { self: "net:[2]", init: undefined, parent: undefined, onlyLoopback: false };
  it("is private when ours differs from init's or from the one we were started in, or has only loopback", () => {
    expect(isPrivateNamespace({ ...base, init: "net:[1]" })).toBe(true);
    expect(isPrivateNamespace({ ...base, init: "net:[2]" })).toBe(false);
    expect(isPrivateNamespace({ ...base, parent: "net:[1]" })).toBe(true);
    expect(isPrivateNamespace({ ...base, parent: "net:[2]" })).toBe(false);
    expect(isPrivateNamespace({ ...base, onlyLoopback: true })).toBe(true);
    expect(isPrivateNamespace(base)).toBe(false);
    expect(isPrivateNamespace({ ...base, self: undefined, onlyLoopback: true })).toBe(false);
  });
});

describe("table", () => {
  it("prints one Markdown row per attack, with the other figures where there are some", () => {
    const lines = attackTable([
      {
        attack: "slowloris",
        seconds: 60,
        sent: 1000,
        rate: 16.7,
        crashes: 0,
        botPeakMb: 70.4,
        supervisorPeakMb: 90.6,
        delivery: 0.995,
        agedOut: 0,
        nacksAfter: 0,
        uploads: { saved: 5, asked: 5 },
      },
    ]);
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("| slowloris | 60 | 1000 | 17 | 0 | 70 MB | 91 MB | 99.5 % | 0 | 0 | uploads saved 5/5 |");
  });
});
