/** The attack campaign's pure parts (tools/attack_report.ts). */
import { describe, expect, it } from "vitest";
import { ROGUE_MODES } from "../../dnabot/rogue.js";
import { ATTACKS, attackTable, deliveryOf, isPrivateNamespace } from "../../tools/attack_report.js";
import { parseMachineCpu, parseUdpDrops, socketInodes } from "../../tools/procstats.js";

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
    expect(lines[2]).toBe(
      "| slowloris | 60 | 1000 | 17 | 0 | 70 MB | 91 MB | 99.5 % | 0 | 0 | - | - | uploads saved 5/5 |",
    );
  });

  it("shows the kernel's drops as a share of what was sent, and which NACKs were for real bots", () => {
    const [, , row] = attackTable([
      {
        attack: "beats",
        seconds: 60,
        sent: 200_000,
        rate: 3333.3,
        crashes: 0,
        botPeakMb: 100,
        supervisorPeakMb: 110,
        delivery: 1,
        agedOut: 0,
        nacksAfter: 20,
        nacksAfterReal: 2,
        kernelDrops: { bot: 2000, supervisor: 5000, listener: 0 },
        machineBusy: 0.9987,
      },
    ]);
    expect(row).toBe(
      "| beats | 60 | 200000 | 3333 | 0 | 100 MB | 110 MB | 100.0 % | 0 | 20 (2 for real bots) | 1.0 % / 2.5 % | 99.9 % |  |",
    );
  });
});

describe("kernel drops from /proc", () => {
  it("sums the drops column of the process's own sockets only", () => {
    const table = [
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      " 4734: 040201EF:E050 00000000:0000 07 00000000:001B2E40 00:00000000 00000000     0        0 1044625 2 00000000c7f25ad6 442579",
      " 4734: 040201EF:E050 00000000:0000 07 00000000:0018E540 00:00000000 00000000     0        0 1044461 2 000000006cdb0e3f 68576",
      " 4780: 0100007F:E07E 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1044614 2 00000000943ea722 7",
      "",
    ].join("\n");
    const inodes = socketInodes(["pipe:[99]", "socket:[1044461]", "socket:[1044614]", "/dev/null"]);
    expect([...inodes]).toEqual(["1044461", "1044614"]);
    expect(parseUdpDrops(table, inodes)).toBe(68576 + 7);
    expect(parseUdpDrops(table, new Set())).toBe(0);
  });

  it("reads the machine's busy and total jiffies from /proc/stat", () => {
    const stat = "cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
    expect(parseMachineCpu(stat)).toEqual({ busy: 160, total: 1000 });
    expect(parseMachineCpu("intr 1 2 3")).toBeUndefined();
  });
});
