/** Adversarial mode: the rogue's datagrams (pure generator) and its pacing over a memory network. */
import pino from "pino";
import { describe, expect, it } from "vitest";
import { dueCount, HUGE_SEQ, ROGUE_MODES, RogueGenerator, RSND_JUMP, VictimTable } from "../../dnabot/rogue.js";
import { Rogue } from "../../dnabot/rogue_main.js";
import { Channel } from "../../shared/channel.js";
import { flushMicrotasks, ManualClock } from "../../shared/clock.js";
import { parseDatagram, parseLine } from "../../shared/codec.js";
import { type Config, KEYS, loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { isBotId, isSupervisorId } from "../../shared/protocol.js";
import { seededRng } from "../../shared/random.js";
import { parseControl } from "../../shared/reliable/wire.js";

const victims = [
  { id: "E26CB171", seq: 40 },
  { id: "0A1B2C3D", seq: 7 },
];

function lines(mode: (typeof ROGUE_MODES)[number], n = 200, seed = 1): string[] {
  const g = new RogueGenerator(mode, seededRng(seed), 1024);
  return Array.from({ length: n }, () => g.line(victims));
}

function parsed(line: string) {
  const r = parseLine(line);
  if (!r.ok) throw new Error(`${r.reason}: ${line}`);
  return r.msg;
}

describe("rogue generator", () => {
  it("has exactly the modes the rogue config key accepts", () => {
    expect(KEYS.rogue.choices.filter((c) => c !== "")).toEqual([...ROGUE_MODES]);
  });

  it("ids: a valid BEAT from a new bot-shaped id every datagram", () => {
    const ms = lines("ids").map(parsed);
    expect(ms.every((m) => m.opcode === "BEAT" && isBotId(m.sender) && m.seq >= 1)).toBe(true);
    expect(new Set(ms.map((m) => m.sender)).size).toBe(ms.length);
  });

  it("last: forged LASTs claiming a huge number, from new ids, that the layer parses", () => {
    const ms = lines("last").map(parsed);
    expect(new Set(ms.map((m) => m.sender)).size).toBe(ms.length);
    for (const m of ms) {
      const c = parseControl(m);
      expect(c.ok && c.control).toEqual({ kind: "LAST", seq: HUGE_SEQ, age: 0, first: 1, since: 0, nb: undefined });
    }
  });

  it("rsnd: an RSND of a victim's message far beyond its real number", () => {
    for (const m of lines("rsnd").map(parsed)) {
      const c = parseControl(m);
      expect(c.ok).toBe(true);
      if (!c.ok || c.control.kind !== "RSND") continue;
      const ctl = c.control;
      const v = victims.find((x) => x.id === ctl.sender);
      expect(v).toBeDefined();
      expect(ctl.seq).toBe((v?.seq ?? 0) + RSND_JUMP);
      expect(ctl.message.opcode).toBe("BEAT");
    }
  });

  it("nack: NACKs for numbers the victims really sent, from new ids", () => {
    for (const m of lines("nack").map(parsed)) {
      const c = parseControl(m);
      expect(c.ok && c.control.kind).toBe("NACK");
      if (!c.ok || c.control.kind !== "NACK") continue;
      const ctl = c.control;
      const v = victims.find((x) => x.id === ctl.sender);
      expect(ctl.seq).toBeGreaterThanOrEqual(1);
      expect(ctl.seq).toBeLessThanOrEqual(v?.seq ?? 0);
    }
    // With nobody heard yet, it still sends (to made-up ids).
    const g = new RogueGenerator("nack", seededRng(3), 1024);
    expect(parsed(g.line([])).opcode).toBe("NACK");
  });

  it("beats and ping: one sender, numbered 1, 2, 3...", () => {
    const b = lines("beats", 5).map(parsed);
    expect(b.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(b.map((m) => m.sender)).size).toBe(1);
    const p = lines("ping", 3).map(parsed);
    expect(p.map((m) => [m.opcode, m.dest, m.seq])).toEqual([
      ["PING", "*", 1],
      ["PING", "*", 2],
      ["PING", "*", 3],
    ]);
    expect(isSupervisorId(p[0]?.sender ?? "")).toBe(true);
  });

  it("upld: UPLD * asking for a connection to a privileged port", () => {
    for (const m of lines("upld", 20).map(parsed)) {
      expect([m.opcode, m.dest, m.words, m.tags.port]).toEqual(["UPLD", "*", ["results.data"], "22"]);
    }
  });

  it("malformed: mostly rejected by the codec, every kind of reason, never a throw", () => {
    const g = new RogueGenerator("malformed", seededRng(5), 1024);
    const reasons = new Map<string, number>();
    let accepted = 0;
    for (let i = 0; i < 5000; i++) {
      const r = parseDatagram(g.next([]), 1024);
      if (r.ok) accepted++;
      else reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
    }
    expect([...reasons.keys()].sort()).toEqual([
      "bad-dest",
      "bad-opcode",
      "bad-sender",
      "bad-seq",
      "oversize",
      "too-few-fields",
    ]);
    expect(accepted).toBeLessThan(2500);
  });

  it("the same seed gives the same datagrams", () => {
    expect(lines("malformed", 50, 9)).toEqual(lines("malformed", 50, 9));
    expect(lines("ids", 50, 9)).not.toEqual(lines("ids", 50, 10));
  });
});

describe("victims and pacing", () => {
  it("remembers the highest number per id, at most max ids (least recently heard forgotten)", () => {
    const t = new VictimTable(2);
    t.heard("A0000001", 5);
    t.heard("A0000001", 3);
    t.heard("A0000002", 1);
    t.heard("A0000001", 6);
    t.heard("A0000003", 1);
    expect(t.victims()).toEqual([
      { id: "A0000001", seq: 6 },
      { id: "A0000003", seq: 1 },
    ]);
    expect(t.evicted).toBe(1);
  });

  it("dueCount: rate per second from the start, in batches; rate 0 is always a full batch", () => {
    expect(dueCount(100, 0, 0, 256)).toBe(1);
    expect(dueCount(100, 1000, 1, 256)).toBe(100);
    expect(dueCount(100, 1000, 101, 256)).toBe(0);
    expect(dueCount(100_000, 1000, 0, 256)).toBe(256);
    expect(dueCount(0, 5, 1_000_000, 256)).toBe(256);
  });
});

describe("a rogue on a group", () => {
  function config(over: Partial<Config>): Config {
    return { ...loadConfig({ overrides: {}, readFile: () => undefined }).config, ...over };
  }

  it("sends its rate for its lifespan, learns victims from the traffic, then stops and reports", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const logs: Record<string, unknown>[] = [];
    const logger = pino({ level: "info" }, { write: (s: string) => logs.push(JSON.parse(s)) });
    const transport = net.endpoint("127.0.0.66");
    const watcher = net.endpoint("127.0.0.2");
    const got: string[] = [];
    watcher.on("datagram", (b) => {
      const line = b.toString("utf8");
      if (!line.startsWith("E26CB171 ")) got.push(line);
    });
    const bot = new Channel(net.endpoint("127.0.0.3"), { id: "E26CB171" });
    const rogue = new Rogue(config({ rogue: "nack", rogueRate: 200, lifespan: 2 }), {
      transport,
      clock,
      rng: seededRng(4),
      logger,
    });
    rogue.start();
    for (let i = 0; i < 5; i++) bot.send("BEAT", "*", ["Beep"]);
    await flushMicrotasks();
    await clock.run(3_000, 10);
    const stats = await rogue.finished;
    expect(stats.sent).toBeGreaterThanOrEqual(399);
    expect(stats.sent).toBeLessThanOrEqual(401);
    expect(stats.victims).toBe(1);
    // Once it heard the bot, its NACKs name the bot.
    expect(got.slice(-10).every((l) => / NACK E26CB171 [1-5]$/.test(l))).toBe(true);
    expect(got.length).toBe(stats.sent);
    const report = logs.find((l) => l.rogueSent !== undefined);
    expect(report).toMatchObject({ rogue: "nack", rogueSent: stats.sent, rogueSeconds: 2 });
    // Nothing more after the end.
    await clock.run(1_000, 10);
    expect(got.length).toBe(stats.sent);
  });

  it("reaches rates above one batch per tick (a sweep asks for 100,000/s)", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const logger = pino({ level: "silent" });
    const rogue = new Rogue(config({ rogue: "beats", rogueRate: 100_000, lifespan: 1 }), {
      transport: net.endpoint("127.0.0.66"),
      clock,
      rng: seededRng(4),
      logger,
    });
    rogue.start();
    await clock.run(1_500, 10);
    const stats = await rogue.finished;
    expect(stats.sent).toBeGreaterThanOrEqual(99_000);
    expect(stats.sent).toBeLessThanOrEqual(100_001);
  });
});
