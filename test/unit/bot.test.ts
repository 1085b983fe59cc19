/**
 * DNABot logic over the in-memory transport, with a manual clock and seeded RNG: minutes of bot
 * life run in milliseconds, and every run is repeatable.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { Bot, type ResultsFile } from "../../dnabot/bot.js";
import { nameFor, newName } from "../../dnabot/identity.js";
import { researchList } from "../../dnabot/research.js";
import type { Uploader, UploadRequest } from "../../dnabot/upload.js";
import { Channel } from "../../shared/channel.js";
import { flushMicrotasks, ManualClock } from "../../shared/clock.js";
import { type ChanMessage, encodeLine, splitTags } from "../../shared/codec.js";
import { type Config, KEYS, loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { seededRng } from "../../shared/random.js";
import { REPO } from "../helpers/net.js";

const SUPERVISOR = "HUMAN-0a1b";
const SUP_ADDR = "127.0.0.9";

function defaults(): Config {
  return loadConfig({ overrides: {}, readFile: () => undefined }).config;
}

interface Sent {
  at: number;
  opcode: string;
  dest: string;
  args: string[];
  seq: number;
  id: string;
}

function setup(over: Partial<Config> = {}, seed = 1, reload?: () => Config, uploader?: Uploader) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const rng = seededRng(seed);
  const botTransport = net.endpoint("127.0.0.2");
  const botCh = new Channel(botTransport, { id: newName(rng) });
  const supTransport = net.endpoint(SUP_ADDR);
  const sup = new Channel(supTransport, { id: SUPERVISOR });
  const heard: ChanMessage[] = [];
  sup.on("message", (m) => heard.push(m));

  // Record what the bot sends, with the time it sent it.
  const sent: Sent[] = [];
  const send = botCh.send.bind(botCh);
  botCh.send = (opcode, dest, args = []) => {
    const seq = send(opcode, dest, args);
    if (seq !== undefined) sent.push({ at: clock.now(), opcode, dest, args: [...args], seq, id: botCh.id });
    return seq;
  };
  let closed = false;
  const close = botCh.close.bind(botCh);
  botCh.close = () => {
    closed = true;
    return close();
  };

  const files = new Map<string, string>();
  const results: ResultsFile = {
    truncate: (name) => files.set(name, ""),
    append: (name, line) => files.set(name, `${files.get(name) ?? ""}${line}\n`),
  };
  const uploads: { at: number; req: UploadRequest }[] = [];
  const logs: { level: number; msg: string }[] = [];
  const logger = pino({ level: "debug" }, { write: (s: string) => logs.push(JSON.parse(s)) });
  const exits: number[] = [];
  const config = { ...defaults(), ...over };
  const bot = new Bot({
    channel: botCh,
    clock,
    rng,
    config,
    results,
    uploader:
      uploader ??
      (async (req) => {
        uploads.push({ at: clock.now(), req });
        return { ok: true, status: 200 };
      }),
    logger,
    exit: (code) => exits.push(code),
    reloadConfig: reload,
  });
  const warnings = () => logs.filter((l) => l.level === 40).map((l) => l.msg);
  return {
    net,
    clock,
    bot,
    botCh,
    botTransport,
    sup,
    supTransport,
    heard,
    sent,
    files,
    uploads,
    logs,
    warnings,
    exits,
    config,
    isClosed: () => closed,
  };
}

type World = ReturnType<typeof setup>;

/** Start the bot and run until its first message (the end of its random start wait). */
async function started(w: World): Promise<number> {
  w.bot.start();
  while (w.sent.length === 0) await settle(w);
  return (w.sent[0] as Sent).at;
}

/** Let what was just sent arrive, then run the clock a little (the bot handles it). */
async function settle(w: World, ms = 10): Promise<void> {
  await flushMicrotasks();
  await w.clock.run(ms, 10);
}

function gaps(times: number[]): number[] {
  return times.slice(1).map((t, i) => t - (times[i] as number));
}

describe("identity", () => {
  it("derives ids as the original: top 32 bits of MD5 of the integer, uppercase", () => {
    // Values computed with Python's hashlib, as the original does.
    expect(nameFor(1)).toBe("F1450306");
    expect(nameFor(2)).toBe("F11177D2");
    expect(nameFor(65535)).toBe("C987217B");
  });

  it("never returns the id to avoid, and a seed repeats the ids", () => {
    const a = seededRng(3);
    const b = seededRng(3);
    for (let i = 0; i < 50; i++) {
      const id = newName(a, "F1450306");
      expect(id).toMatch(/^[0-9A-F]{8}$/);
      expect(id).not.toBe("F1450306");
      expect(newName(b, "F1450306")).toBe(id);
    }
  });
});

describe("start-up and heartbeat", () => {
  it("empties the results file, waits within backoff, then sends BEAT * Beep state=asimov", async () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const w = setup({ backoff: 5 }, seed);
      w.files.set("results.data", "old results\n");
      const t0 = await started(w);
      expect(w.files.get("results.data")).toBe("");
      expect(t0).toBeLessThan(5000 + 10);
      const first = w.sent[0] as Sent;
      expect(first.opcode).toBe("BEAT");
      expect(first.seq).toBe(1);
      expect(first.args).toEqual(["Beep", "state=asimov"]);
      await flushMicrotasks();
      expect(w.heard[0]?.text).toBe(`${w.bot.id} 1 BEAT * Beep state=asimov`);
    }
  });

  it("never lets more than `heartbeat` pass between messages, beating early by up to 2 s", async () => {
    for (const seed of [1, 2, 3, 4, 5, 6]) {
      const w = setup({ heartbeat: 10, discovery: 0.05, frankenstein: 0, lifespan: 600 }, seed);
      await started(w);
      await w.clock.run(600_000, 100);
      const times = w.sent.filter((s) => s.opcode !== "EXIT").map((s) => s.at);
      const g = gaps(times);
      expect(times.length).toBeGreaterThan(60);
      expect(Math.max(...g)).toBeLessThanOrEqual(10_000);
      // Jitter: the schedule sends early, by at most 2 s from its control slot.
      const beatGaps = gaps(w.sent.filter((s) => s.opcode === "BEAT").map((s) => s.at));
      expect(beatGaps.some((d) => d < 9_500)).toBe(true);
      expect(w.sent.some((s) => s.opcode === "NEWS")).toBe(true);
    }
  });

  it("keeps beats on a fixed schedule from the start, each within 2 s before its slot", async () => {
    const w = setup({ heartbeat: 10, discovery: 0, frankenstein: 0, lifespan: 300 }, 9);
    const t0 = await started(w);
    await w.clock.run(300_000, 100);
    const beats = w.sent.filter((s) => s.opcode === "BEAT").map((s) => s.at - t0);
    expect(beats.length).toBe(31);
    beats.forEach((at, k) => {
      expect(at).toBeLessThanOrEqual(k * 10_000);
      expect(at).toBeGreaterThan(k * 10_000 - 2_000);
    });
  });

  it("scales the jitter down for sub-second heartbeats", async () => {
    const w = setup({ heartbeat: 0.5, discovery: 0.2, frankenstein: 0, lifespan: 60 }, 4);
    await started(w);
    await w.clock.run(60_000, 10);
    const g = gaps(w.sent.filter((s) => s.opcode !== "EXIT").map((s) => s.at));
    expect(g.length).toBeGreaterThan(100);
    expect(Math.max(...g)).toBeLessThanOrEqual(500);
    expect(Math.min(...g)).toBeGreaterThan(0);
  });
});

describe("research", () => {
  it("appends a result line and sends NEWS * Discovery, which replaces the BEAT", async () => {
    const w = setup({ heartbeat: 10, discovery: 1, frankenstein: 0, lifespan: 30 }, 2);
    await started(w);
    await w.clock.run(30_000, 100);
    const news = w.sent.filter((s) => s.opcode === "NEWS");
    expect(news.length).toBeGreaterThanOrEqual(29);
    for (const n of news) expect(n.args).toEqual(["Discovery", "state=asimov"]);
    // A discovery every second counts as the heartbeat: only the first BEAT is ever sent.
    expect(w.sent.filter((s) => s.opcode === "BEAT").length).toBe(1);
    const lines = (w.files.get("results.data") ?? "").split("\n").filter((l) => l !== "");
    expect(lines.length).toBe(news.length);
    for (const l of lines) expect(researchList("asimov")).toContain(l);
    expect(w.bot.stats.discoveries).toBe(news.length);
  });
});

describe("Frankenstein", () => {
  it("switches state: BEAT text, state tag and research list change", async () => {
    const w = setup({ heartbeat: 10, discovery: 1, frankenstein: 1, lifespan: 20 }, 3);
    await started(w);
    expect(w.bot.state).toBe("asimov");
    await w.clock.run(1_000, 100);
    expect(w.bot.state).toBe("frankenstein");
    // The change is announced at once.
    const beats = w.sent.filter((s) => s.opcode === "BEAT");
    expect(beats[1]?.args.join(" ")).toBe("All meatbags must die state=frankenstein");
    await w.clock.run(10_000, 100);
    const lines = (w.files.get("results.data") ?? "").split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(5);
    for (const l of lines) expect(researchList("frankenstein")).toContain(l);
    for (const n of w.sent.filter((s) => s.opcode === "NEWS")) expect(n.args).toContain("state=frankenstein");
  });

  it("raises the probability by killBoost for every KILL seen, to anyone", async () => {
    const w = setup({ frankenstein: 0, killBoost: 0.25, heartbeat: 100, lifespan: 1000 }, 5);
    await started(w);
    expect(w.bot.frankensteinProbability).toBe(0);
    w.sup.send("KILL", "0BADBEEF");
    w.sup.send("KILL", "DEADBEEF");
    await settle(w);
    expect(w.bot.frankensteinProbability).toBe(0.5);
    expect(w.exits).toEqual([]);
    for (let i = 0; i < 3; i++) w.sup.send("KILL", "0BADBEEF");
    await settle(w);
    expect(w.bot.frankensteinProbability).toBe(1);
    await w.clock.run(1_000, 100);
    expect(w.bot.state).toBe("frankenstein");
  });
});

describe("PING", () => {
  it("ignores a PING to another bot and answers a PING to itself at once", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, frankenstein: 0, lifespan: 1000 }, 6);
    await started(w);
    const before = w.sent.length;
    w.sup.send("PING", "0BADBEEF");
    await w.clock.run(20_000, 100);
    expect(w.sent.length).toBe(before);
    w.sup.send("PING", w.bot.id);
    const at = w.clock.now();
    await settle(w);
    expect(w.sent.length).toBe(before + 1);
    expect(w.sent[before]?.opcode).toBe("BEAT");
    expect((w.sent[before]?.at ?? Infinity) - at).toBeLessThanOrEqual(10);
  });

  it("answers PING * after a random wait within backoff", async () => {
    const waits: number[] = [];
    for (const seed of [11, 12, 13, 14, 15, 16, 17, 18]) {
      const w = setup({ heartbeat: 100, backoff: 5, discovery: 0, frankenstein: 0, lifespan: 1000 }, seed);
      await started(w);
      const before = w.sent.length;
      w.sup.send("PING", "*");
      await flushMicrotasks();
      const at = w.clock.now();
      await w.clock.run(6_000, 10);
      const answers = w.sent.slice(before);
      expect(answers.length).toBe(1);
      expect(answers[0]?.opcode).toBe("BEAT");
      waits.push((answers[0]?.at ?? Infinity) - at);
    }
    for (const d of waits) expect(d).toBeLessThan(5_000);
    // Random, not fixed: the waits differ and some are well after the request.
    expect(new Set(waits.map((d) => Math.round(d / 10))).size).toBeGreaterThan(4);
    expect(Math.max(...waits)).toBeGreaterThan(1_000);
  });
});

describe("KILL, lifespan and signals", () => {
  it("KILL to it empties the results, sends EXIT reason=killed, leaves and exits 255", async () => {
    for (const dest of ["self", "*"]) {
      const w = setup({ discovery: 1, heartbeat: 10, lifespan: 100 }, 7);
      await started(w);
      await w.clock.run(5_000, 100);
      expect(w.files.get("results.data")).not.toBe("");
      w.sup.send("KILL", dest === "self" ? w.bot.id : "*");
      await settle(w);
      expect(w.files.get("results.data")).toBe("");
      const last = w.sent.at(-1) as Sent;
      expect(last.opcode).toBe("EXIT");
      expect(last.args).toEqual(["Offline", "state=asimov", "reason=killed"]);
      expect(w.isClosed()).toBe(true);
      expect(w.exits).toEqual([255]);
      expect(await w.bot.finished).toBe(255);
      const count = w.sent.length;
      await w.clock.run(30_000, 100);
      expect(w.sent.length).toBe(count);
    }
  });

  it("at the end of its lifespan sends EXIT reason=lifespan, leaves and exits 0", async () => {
    const w = setup({ lifespan: 5, heartbeat: 1, discovery: 0 }, 8);
    const t0 = await started(w);
    await w.clock.run(10_000, 10);
    const exit = w.sent.filter((s) => s.opcode === "EXIT");
    expect(exit.length).toBe(1);
    expect(exit[0]?.args).toEqual(["Offline", "state=asimov", "reason=lifespan"]);
    expect((exit[0]?.at ?? 0) - t0).toBe(5_000);
    expect(w.sent.at(-1)?.opcode).toBe("EXIT");
    expect(w.exits).toEqual([0]);
    expect(w.isClosed()).toBe(true);
    expect(w.logs.some((l) => l.msg === "Lifespan reached")).toBe(true);
  });

  it("stop('signal') sends EXIT reason=signal and exits 0, once", async () => {
    const w = setup({ lifespan: 100 }, 9);
    await started(w);
    await Promise.all([w.bot.stop("signal"), w.bot.stop("signal")]);
    expect(w.sent.filter((s) => s.opcode === "EXIT").map((s) => s.args)).toEqual([
      ["Offline", "state=asimov", "reason=signal"],
    ]);
    expect(w.exits).toEqual([0]);
  });
});

describe("collisions, RSET, UPLD and the queue", () => {
  it("takes a new id when another peer uses its id, and carries on", async () => {
    const w = setup({ heartbeat: 2, discovery: 0, frankenstein: 0, lifespan: 100 }, 10);
    await started(w);
    const old = w.bot.id;
    const twin = new Channel(w.net.endpoint("127.0.0.3"), { id: old });
    twin.send("BEAT", "*", ["Beep"]);
    await settle(w);
    expect(w.bot.id).not.toBe(old);
    expect(w.bot.id).toMatch(/^[0-9A-F]{8}$/);
    expect(w.bot.stats.collisions).toBe(1);
    expect(w.warnings().some((m) => m.includes(old) && m.includes("127.0.0.3"))).toBe(true);
    const seqBefore = w.sent.at(-1)?.seq ?? 0;
    await w.clock.run(4_000, 100);
    const after = w.sent.filter((s) => s.seq > seqBefore);
    expect(after.length).toBeGreaterThan(0);
    for (const s of after) expect(s.id).toBe(w.bot.id);
    expect(after[0]?.seq).toBe(seqBefore + 1);
  });

  it("RSET reloads the config and resets to Asimov, keeping results", async () => {
    const fresh: Config = { ...defaults(), frankenstein: 0, discovery: 0, heartbeat: 10, lifespan: 100 };
    const w = setup({ discovery: 1, frankenstein: 1, heartbeat: 10, lifespan: 100 }, 11, () => fresh);
    await started(w);
    await w.clock.run(3_000, 100);
    expect(w.bot.state).toBe("frankenstein");
    const results = w.files.get("results.data");
    expect(results).not.toBe("");
    // To another bot: ignored.
    w.sup.send("RSET", "0BADBEEF");
    await settle(w);
    expect(w.bot.state).toBe("frankenstein");
    w.sup.send("RSET", w.bot.id);
    await settle(w);
    expect(w.bot.state).toBe("asimov");
    expect(w.bot.frankensteinProbability).toBe(0);
    expect(w.sent.at(-1)?.args).toEqual(["Beep", "state=asimov"]);
    expect(w.files.get("results.data")).toBe(results);
    await w.clock.run(20_000, 100);
    // The reloaded config is in force: no more discoveries, no relapse.
    expect(w.files.get("results.data")).toBe(results);
    expect(w.bot.state).toBe("asimov");
  });

  it("RSET with an unreadable config warns and still resets to Asimov", async () => {
    const w = setup({ discovery: 0, frankenstein: 1, heartbeat: 10, lifespan: 100 }, 12, () => {
      throw new Error("dnabot.ini: bad");
    });
    await started(w);
    await w.clock.run(2_000, 100);
    expect(w.bot.state).toBe("frankenstein");
    w.sup.send("RSET", "*");
    await settle(w);
    expect(w.bot.state).toBe("asimov");
    expect(w.warnings().some((m) => m.includes("dnabot.ini: bad"))).toBe(true);
  });

  it("UPLD connects back to the sender's address, on the port= tag or filePort", async () => {
    const w = setup({ heartbeat: 100, backoff: 5, discovery: 0, frankenstein: 0, filePort: 8123, lifespan: 1000 }, 13);
    await started(w);
    w.sup.send("UPLD", w.bot.id, ["results.data", "port=9001"]);
    await settle(w);
    expect(w.uploads.map((u) => u.req)).toEqual([
      { host: SUP_ADDR, port: 9001, resource: "results.data", botId: w.bot.id },
    ]);
    w.sup.send("UPLD", w.bot.id, ["."]);
    await settle(w);
    expect(w.uploads.slice(1).map((u) => [u.req.resource, u.req.port])).toEqual([[".", 8123]]);
    // Without a file: a warning, nothing uploaded.
    w.sup.send("UPLD", w.bot.id);
    await settle(w);
    expect(w.uploads.length).toBe(2);
    expect(w.warnings()).toContain("UPLD request without resource name, ignored");
    // To everyone: after a random wait within backoff.
    w.sup.send("UPLD", "*", ["results.data"]);
    await flushMicrotasks();
    const at = w.clock.now();
    await w.clock.run(6_000, 10);
    expect(w.uploads.length).toBe(3);
    expect((w.uploads[2]?.at ?? Infinity) - at).toBeLessThan(5_000);
    // To another bot: ignored.
    w.sup.send("UPLD", "0BADBEEF", ["results.data"]);
    await w.clock.run(6_000, 10);
    expect(w.uploads.length).toBe(3);
  });

  it("UPLD port=: filePort or unprivileged ports only; anything else is refused and counted", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, frankenstein: 0, filePort: 800, lifespan: 1000 }, 13);
    await started(w);
    const bad = ["port=22", "port=0", "port=99999", "port=http", "port=1023"];
    for (const tag of bad) {
      w.sup.send("UPLD", w.bot.id, ["results.data", tag]);
      await settle(w);
    }
    expect(w.uploads).toEqual([]);
    expect(w.bot.stats.badPort).toBe(bad.length);
    // One warning line for the lot, not one per request.
    expect(w.warnings().filter((l) => l.startsWith("Requests refused"))).toEqual([
      "Requests refused (rate limit or port): 1",
    ]);
    w.sup.send("UPLD", w.bot.id, ["results.data", "port=800"]);
    await settle(w);
    w.sup.send("UPLD", w.bot.id, ["results.data", "port=1024"]);
    await settle(w);
    expect(w.uploads.map((u) => u.req.port)).toEqual([800, 1024]);
  });

  it("rate-limits uploads per requester: a flood of UPLDs costs a bounded number of connections", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, frankenstein: 0, lifespan: 1000 }, 13);
    await started(w);
    for (let i = 0; i < 60; i++) {
      w.sup.send("UPLD", w.bot.id, ["results.data"]);
      await w.clock.run(100, 10);
    }
    // 6 s of requests: the burst (5) and one per second.
    expect(w.uploads.length).toBeGreaterThanOrEqual(5 + 5);
    expect(w.uploads.length).toBeLessThanOrEqual(5 + 6);
    expect(w.bot.stats.refused).toBe(60 - w.uploads.length);
    // Another requester has its own budget.
    const other = new Channel(w.net.endpoint("127.0.0.77"), { id: "HUMAN-0002" });
    other.send("UPLD", w.bot.id, ["results.data"]);
    await settle(w);
    expect(w.uploads.at(-1)?.req.host).toBe("127.0.0.77");
  });

  it("keeps at most 16 uploads waiting while one runs; more are dropped and counted", async () => {
    // An upload that never ends: everything after it waits.
    let begun = 0;
    const stuck: Uploader = () => {
      begun++;
      return new Promise<never>(() => {});
    };
    const w = setup({ heartbeat: 1000, discovery: 0, frankenstein: 0, lifespan: 10_000 }, 22, undefined, stuck);
    await started(w);
    const requesters = Array.from(
      { length: 40 },
      (_, i) => new Channel(w.net.endpoint(`127.0.2.${i}`), { id: `HUMAN-2${i}` }),
    );
    for (const r of requesters) {
      r.send("UPLD", w.bot.id, ["results.data"]);
      await w.clock.run(250, 10);
    }
    const admitted = 40 - w.bot.stats.refused;
    expect(admitted).toBeGreaterThan(16);
    expect(begun).toBe(1);
    expect(w.bot.stats.uploadsDropped).toBe(admitted - 16);
    expect(w.warnings().some((l) => l.startsWith("Too many uploads waiting"))).toBe(true);
  });

  it("answers PING and RSET within a rate per requester and in total; PING * answers coalesce", async () => {
    const w = setup({ heartbeat: 1000, backoff: 2, discovery: 0, frankenstein: 0, lifespan: 10_000 }, 21);
    await started(w);
    const beats = () => w.sent.filter((s) => s.opcode === "BEAT").length;
    // PING * at 200/s for 10 s: one answer per random wait, never a backlog.
    let before = beats();
    for (let i = 0; i < 2000; i++) {
      w.sup.send("PING", "*");
      await w.clock.run(5, 5);
    }
    await w.clock.run(3_000, 10);
    const wildcardAnswers = beats() - before;
    expect(wildcardAnswers).toBeGreaterThanOrEqual(5);
    expect(wildcardAnswers).toBeLessThanOrEqual(10 + 3);
    expect(w.bot.stats.coalesced).toBeGreaterThan(1900);
    // PING to the bot itself at 200/s for 10 s: the requester's rate (1/s, burst 3).
    before = beats();
    for (let i = 0; i < 2000; i++) {
      w.sup.send("PING", w.bot.id);
      await w.clock.run(5, 5);
    }
    expect(beats() - before).toBeLessThanOrEqual(3 + 10 + 1);
    expect(beats() - before).toBeGreaterThanOrEqual(9);
    // Many requesters together: the total rate (5/s, burst 10) bounds them.
    const many = Array.from(
      { length: 40 },
      (_, i) => new Channel(w.net.endpoint(`127.0.1.${i}`), { id: `HUMAN-1${i}` }),
    );
    await w.clock.run(5_000, 100);
    before = beats();
    for (let round = 0; round < 10; round++) {
      for (const c of many) c.send("RSET", w.bot.id);
      await w.clock.run(1000, 10);
    }
    expect(beats() - before).toBeLessThanOrEqual(10 + 5 * 10 + 1);
    // Refused: ~1,987 direct PINGs and ~340 RSETs.
    expect(w.bot.stats.refused).toBeGreaterThan(2250);
    // Warnings: at most one line per interval, not one per refusal.
    expect(w.warnings().filter((l) => l.startsWith("Requests refused")).length).toBeLessThanOrEqual(30 / 5 + 2);
  });

  it("bounds the inbound queue: drops beyond QUEUE_SIZE with a counted warning", async () => {
    const w = setup({ QUEUE_SIZE: 10, heartbeat: 100, discovery: 0, frankenstein: 0, lifespan: 1000 }, 14);
    await started(w);
    // A burst arrives before the bot gets to handle any of it.
    for (let i = 0; i < 25; i++) w.sup.send("PING", "0BADBEEF");
    await flushMicrotasks(10);
    expect(w.bot.queued).toBe(10);
    expect(w.bot.stats.dropped).toBe(15);
    await settle(w);
    expect(w.bot.queued).toBe(0);
    expect(w.bot.stats.processed).toBe(10);
    expect(w.warnings()).toContain("Receiver queue full, messages dropped: 15");
    // Room again afterwards.
    w.sup.send("PING", w.bot.id);
    await settle(w);
    expect(w.sent.at(-1)?.opcode).toBe("BEAT");
    expect(w.bot.stats.dropped).toBe(15);
  });

  it("warns of a full queue once per interval with a count, not once per pass", async () => {
    const w = setup({ QUEUE_SIZE: 5, heartbeat: 100, discovery: 0, frankenstein: 0, lifespan: 1000 }, 14);
    await started(w);
    // 20 bursts over 2 s, each overflowing the queue by 10.
    for (let burst = 0; burst < 20; burst++) {
      for (let i = 0; i < 15; i++) w.sup.send("PING", "0BADBEEF");
      await flushMicrotasks(10);
      await w.clock.run(100, 10);
    }
    expect(w.bot.stats.dropped).toBe(200);
    const lines = () => w.warnings().filter((l) => l.startsWith("Receiver queue full"));
    expect(lines()).toEqual(["Receiver queue full, messages dropped: 10"]);
    // The rest is reported once the interval has passed (the 1 s tick reports it even if
    // nothing more arrives).
    await w.clock.run(6_000, 100);
    expect(lines()).toEqual([
      "Receiver queue full, messages dropped: 10",
      "Receiver queue full, messages dropped: 190",
    ]);
  });

  it("-debug logs every command received, with network text escaped", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, frankenstein: 0, lifespan: 1000 }, 15);
    await started(w);
    w.supTransport.send(encodeLine(`HUMAN-0a1b 40 UPLD ${w.bot.id} evil\x1b[2J\u0007.txt`));
    w.sup.send("PING", "0BADBEEF");
    await settle(w);
    const received = w.logs.filter((l) => l.level === 20 && l.msg.startsWith("Command received")).map((l) => l.msg);
    expect(received).toEqual([
      `Command received from ${SUP_ADDR}: HUMAN-0a1b 40 UPLD ${w.bot.id} evil\\x1b[2J\\x07.txt`,
    ]);
    expect(w.logs.some((l) => l.msg.includes("\x1b"))).toBe(false);
  });

  it("drops malformed datagrams without harm (counted by the channel, logged at debug)", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, lifespan: 1000 }, 15);
    await started(w);
    for (const junk of ["", "hello", "X 1 BEAT", "ABC -1 BEAT *", "ABC 1 beat *", "\u0000\u0001"]) {
      w.supTransport.send(encodeLine(junk));
    }
    w.supTransport.send(Buffer.from([0xff, 0xfe, 0x20, 0x31]));
    await settle(w);
    expect(w.botCh.stats.invalid).toBe(7);
    expect(w.logs.filter((l) => l.msg === "invalid datagram dropped").length).toBe(7);
    w.sup.send("PING", w.bot.id);
    await settle(w);
    expect(w.sent.at(-1)?.opcode).toBe("BEAT");
  });

  it("ignores the protocol's other opcodes quietly (LAST included) and logs a stranger's at debug", async () => {
    const w = setup({ heartbeat: 100, discovery: 0, lifespan: 1000 }, 16);
    await started(w);
    const before = w.sent.length;
    const lines = [
      "AAAA0001 1 BEAT * Beep",
      "AAAA0001 2 NEWS * Discovery",
      "AAAA0001 3 EXIT * Offline",
      `AAAA0002 0 NACK ${w.bot.id} 1`,
      "AAAA0002 0 RSND AAAA0001 1 BEAT * Beep",
      "AAAA0002 0 SKIP AAAA0001 1",
      "AAAA0002 0 LAST * 3 age=0 first=1 since=0",
      "AAAA0001 4 WHAT * is this",
    ];
    for (const line of lines) w.supTransport.send(encodeLine(line));
    await settle(w);
    const noHandler = w.logs.filter((l) => l.msg.startsWith("no handler for"));
    expect(noHandler.map((l) => l.msg)).toEqual(["no handler for WHAT: AAAA0001 4 WHAT * is this"]);
    expect(w.sent.length).toBe(before);
  });
});

describe("determinism", () => {
  it("the same seed gives the same id, waits and discoveries", async () => {
    const run = async () => {
      const w = setup({ discovery: 0.2, frankenstein: 0.02, heartbeat: 5, lifespan: 120 }, 42);
      await started(w);
      await w.clock.run(125_000, 100);
      return { sent: w.sent.map((s) => `${s.at} ${s.id} ${s.seq} ${s.opcode} ${s.args.join(" ")}`), files: w.files };
    };
    const a = await run();
    const b = await run();
    expect(a.sent.length).toBeGreaterThan(20);
    expect(b).toEqual(a);
    expect(splitTags((a.sent.at(-1) as string).split(" ")).tags.reason).toBe("lifespan");
  });
});

describe("proto/dnabot.ini", () => {
  it("documents every configuration key and parses as an empty [DNABot] section", () => {
    const text = readFileSync(join(REPO, "proto", "dnabot.ini"), "utf8");
    for (const key of Object.keys(KEYS)) expect(text).toMatch(new RegExp(`^;${key} =`, "m"));
    const r = loadConfig({ overrides: {}, configFile: "x.ini", readFile: () => text });
    expect(r.config).toEqual(defaults());
    expect(r.warnings).toEqual([]);
  });
});

describe("translations", () => {
  it("every string the bot translates is in both catalogues, with real French", () => {
    const catalogue = (lang: string): Record<string, string> =>
      JSON.parse(readFileSync(join(REPO, "i18n", "locales", lang, "translation.json"), "utf8"));
    const en = catalogue("en");
    const fr = catalogue("fr");
    const keys = new Set<string>();
    for (const f of ["bot.ts", "main.ts", "research.ts", "upload.ts", "identity.ts"]) {
      const src = readFileSync(join(REPO, "dnabot", f), "utf8");
      for (const m of src.matchAll(/\bt\(\s*"((?:[^"\\]|\\.)*)"/g)) keys.add(JSON.parse(`"${m[1]}"`));
    }
    expect(keys.size).toBeGreaterThan(30);
    for (const k of keys) {
      // A plural ({ count }) is held as its forms, key_one, key_other, ... (npm run i18n:check checks them).
      if (en[`${k}_other`] !== undefined) continue;
      expect(en[k], k).toBe(k);
      expect(fr[k], k).toBeTruthy();
      // Same placeholders in the French.
      expect((fr[k] as string).match(/\{\{\w+\}\}/g)?.sort(), k).toEqual(k.match(/\{\{\w+\}\}/g)?.sort());
    }
    expect(fr.Beep).toBe("Bip");
    expect(fr.Discovery).toBe("Découverte");
    expect(fr.Offline).toBe("Hors ligne");
  });
});
