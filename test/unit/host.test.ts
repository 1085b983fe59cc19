/**
 * A bot host on the in-memory network: many bots in one process behind one endpoint, each
 * answering only what concerns it, exactly as separate bots would on the wire.
 */
import pino from "pino";
import { describe, expect, it } from "vitest";
import type { ResultsFile } from "../../dnabot/bot.js";
import { Dispatcher } from "../../dnabot/dispatch.js";
import { type BotEnding, BotHost, type HostedBot } from "../../dnabot/host.js";
import type { UploadRequest } from "../../dnabot/upload.js";
import { Channel, Link, PlainEndpoint } from "../../shared/channel.js";
import { flushMicrotasks, ManualClock } from "../../shared/clock.js";
import { type ChanMessage, parseDatagram } from "../../shared/codec.js";
import { type Config, loadConfig } from "../../shared/config.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { SUPERSEDED_OPCODES } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { ReliableEndpoint } from "../../shared/reliable/endpoint.js";
import { addQuietBots } from "../helpers/hosted.js";
import { Group, seqsFrom } from "../helpers/reliable_group.js";

const SUPERVISOR = "HUMAN-0a1b";
const HOST_ADDR = "127.0.0.2";

function defaults(over: Partial<Config>): Config {
  return { ...loadConfig({ overrides: {}, readFile: () => undefined }).config, ...over };
}

interface LogLine {
  level: number;
  msg: string;
  bot?: string;
}

function setup(n: number, over: Partial<Config> = {}) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const endpoint = new PlainEndpoint(new Link(net.endpoint(HOST_ADDR)));
  const sup = new Channel(net.endpoint("127.0.0.9"), { id: SUPERVISOR });
  const heard: ChanMessage[] = [];
  sup.on("message", (m) => heard.push(m));
  const lines: LogLine[] = [];
  const root = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const files = new Map<string, string>();
  const uploads: UploadRequest[] = [];
  const endings: BotEnding[] = [];
  const host = new BotHost({
    endpoint,
    clock,
    logger: root.child({ host: true }),
    onEnded: (_b, e) => endings.push(e),
  });
  const config = defaults({ heartbeat: 10, backoff: 2, discovery: 0, frankenstein: 0, lifespan: 600, ...over });
  for (let i = 0; i < n; i++) {
    const dir = `/bots/Bot${i}`;
    const results: ResultsFile = {
      truncate: (name) => files.set(`${dir}/${name}`, ""),
      append: (name, line) => files.set(`${dir}/${name}`, `${files.get(`${dir}/${name}`) ?? ""}${line}\n`),
    };
    host.add({
      dir,
      config,
      rng: seededRng(1000 + i),
      results,
      uploader: async (req) => {
        uploads.push(req);
        return { ok: true, status: 200 };
      },
      logger: root.child({}),
    });
  }
  return { net, clock, endpoint, sup, heard, lines, files, uploads, endings, host, config };
}

type World = ReturnType<typeof setup>;

async function run(w: World, ms: number): Promise<void> {
  await flushMicrotasks();
  await w.clock.run(ms, 10);
}

/** Start the host and run until every bot has sent its first BEAT. */
async function startAll(w: World): Promise<HostedBot[]> {
  w.host.start();
  await run(w, w.config.backoff * 1000 + 100);
  const bots = [...w.host.members];
  expect(new Set(w.heard.filter((m) => m.opcode === "BEAT").map((m) => m.sender)).size).toBe(bots.length);
  w.heard.length = 0;
  return bots;
}

const from = (w: World, op: string) => w.heard.filter((m) => m.opcode === op).map((m) => m.sender);

describe("bot host", () => {
  it("gives every bot its own id, sequence from 1 and results file; each line carries the bot id", async () => {
    const w = setup(12);
    w.host.start();
    await run(w, 2_100);
    const ids = w.host.members.map((b) => b.id);
    expect(new Set(ids).size).toBe(12);
    for (const id of ids) expect(id).toMatch(/^[0-9A-F]{8}$/);
    const firsts = w.net.sent.map((d) => parseDatagram(d.bytes)).filter((r) => r.ok && r.msg.opcode === "BEAT");
    for (const r of firsts) if (r.ok) expect(r.msg.seq).toBe(1);
    expect(firsts.length).toBe(12);
    // One source address and port for all: one socket.
    expect(new Set(w.net.sent.map((d) => `${d.from.address}:${d.from.port}`)).size).toBe(1);
    for (let i = 0; i < 12; i++) expect(w.files.get(`/bots/Bot${i}/results.data`)).toBe("");
    const activated = w.lines.filter((l) => l.msg.startsWith("Bot ") && l.msg.endsWith(" activated"));
    expect(activated.length).toBe(12);
    for (const l of activated) expect(l.msg).toBe(`Bot ${l.bot} activated`);
  });

  it("answers a PING to one bot with that bot alone, and a PING * with every bot", async () => {
    const w = setup(10);
    const bots = await startAll(w);
    const target = bots[3] as HostedBot;
    w.sup.send("PING", target.id);
    await run(w, 5_000);
    expect(from(w, "BEAT")).toEqual([target.id]);
    w.heard.length = 0;
    w.sup.send("PING", "*");
    await run(w, w.config.backoff * 1000 + 100);
    expect(new Set(from(w, "BEAT"))).toEqual(new Set(bots.map((b) => b.id)));
  });

  it("uploads for the bot named alone, and for every bot on UPLD *", async () => {
    const w = setup(8);
    const bots = await startAll(w);
    const target = bots[5] as HostedBot;
    w.sup.send("UPLD", target.id, ["results.data", "port=8123"]);
    await run(w, 3_000);
    expect(w.uploads.map((u) => [u.botId, u.host, u.port, u.resource])).toEqual([
      [target.id, "127.0.0.9", 8123, "results.data"],
    ]);
    w.uploads.length = 0;
    w.sup.send("UPLD", "*", ["results.data"]);
    await run(w, w.config.backoff * 1000 + 100);
    expect(new Set(w.uploads.map((u) => u.botId))).toEqual(new Set(bots.map((b) => b.id)));
    expect(w.uploads.length).toBe(8);
  });

  it("a KILL ends only its bot (255, killed, results emptied); the others see it and go on", async () => {
    const w = setup(6, { killBoost: 0.25 });
    const bots = await startAll(w);
    const victim = bots[2] as HostedBot;
    w.files.set(`${victim.spec.dir}/results.data`, "secret\n");
    w.sup.send("KILL", victim.id);
    await run(w, 3_000);
    expect(w.endings).toEqual([{ id: victim.id, status: 255, reason: "killed" }]);
    expect(w.files.get(`${victim.spec.dir}/results.data`)).toBe("");
    const exits = w.heard.filter((m) => m.opcode === "EXIT");
    expect(exits.map((m) => [m.sender, m.tags.reason === "killed"])).toEqual([[victim.id, true]]);
    for (const b of bots) if (b !== victim) expect(b.bot.frankensteinProbability).toBe(0.25);
    // The others still beat, the dead one is silent and unreachable.
    w.heard.length = 0;
    await run(w, 10_000);
    expect(new Set(from(w, "BEAT"))).toEqual(new Set(bots.filter((b) => b !== victim).map((b) => b.id)));
    w.heard.length = 0;
    w.sup.send("PING", victim.id);
    await run(w, 100);
    expect(from(w, "BEAT")).toEqual([]);
    expect(w.host.stats).toEqual({ bots: 6, running: 5, ended: 1 });
  });

  it("hands another peer's BEAT to no bot, and a command to one bot to that bot only (an index, not a loop)", async () => {
    const w = setup(50);
    const bots = await startAll(w);
    const d0 = { ...w.host.dispatch };
    const other = new Channel(w.net.endpoint("127.0.0.7"), { id: "0BADBEEF" });
    other.send("BEAT", "*", ["Beep", "state=asimov"]);
    other.send("NEWS", "*", ["Discovery", "state=asimov"]);
    w.sup.send("PING", (bots[7] as HostedBot).id);
    await run(w, 100);
    expect(w.host.dispatch.messages - d0.messages).toBe(3);
    expect(w.host.dispatch.deliveries - d0.deliveries).toBe(1);
    expect(w.host.dispatch.unrouted - d0.unrouted).toBe(2);
    expect(bots.reduce((n, b) => n + b.channel.stats.received, 0)).toBe(1);
  });

  it("renames only the bot whose id another peer uses, to an id unique in the host", async () => {
    const w = setup(10);
    const bots = await startAll(w);
    const ids = bots.map((b) => b.id);
    const victim = bots[4] as HostedBot;
    const old = victim.id;
    const impostor = new Channel(w.net.endpoint("127.0.0.8"), { id: old });
    impostor.send("BEAT", "*", ["Beep"]);
    await run(w, 100);
    expect(victim.id).not.toBe(old);
    expect(bots.map((b) => b.id).filter((id, i) => id !== ids[i])).toEqual([victim.id]);
    expect(new Set(bots.map((b) => b.id)).size).toBe(10);
    expect(victim.bot.stats.collisions).toBe(1);
    w.heard.length = 0;
    // The renamed bot answers under its new id, and its lines carry it.
    w.sup.send("PING", victim.id);
    await run(w, 100);
    expect(from(w, "BEAT")).toEqual([victim.id]);
    expect(w.lines.some((l) => l.bot === victim.id && l.msg.includes(`now ${victim.id}`))).toBe(true);
    // The impostor's id reaches nobody here any more.
    w.heard.length = 0;
    w.sup.send("PING", old);
    await run(w, 100);
    expect(from(w, "BEAT")).toEqual([]);
  });

  it("a bot that has not spoken yet leaves an id another peer uses, so the group never sees it twice", async () => {
    const w = setup(5, { backoff: 5 });
    w.host.start();
    const quiet = w.host.members[2] as HostedBot;
    const taken = quiet.id;
    // Another host's bot speaks first under the same id, before ours has sent anything.
    const other = new Channel(w.net.endpoint("127.0.0.8"), { id: taken });
    other.send("BEAT", "*", ["Beep"]);
    await run(w, 100);
    expect(quiet.id).not.toBe(taken);
    await run(w, 5_100);
    const fromHost = w.net.sent.filter((d) => d.from.address === HOST_ADDR).map((d) => parseDatagram(d.bytes));
    const senders = new Set(fromHost.map((r) => (r.ok ? r.msg.sender : "?")));
    expect(senders.has(taken)).toBe(false);
    expect(senders).toEqual(new Set(w.host.members.map((b) => b.id)));
    expect(quiet.bot.stats.collisions).toBe(0);
    expect(w.host.preRenamed).toBe(1);
    expect(w.lines.some((l) => l.bot === quiet.id && l.msg.includes(`${taken} is now ${quiet.id}`))).toBe(true);
  });

  it("drops a malformed datagram once for the host, logging its text escaped", async () => {
    const w = setup(3);
    await startAll(w);
    w.net.endpoint("127.0.0.6").send(Buffer.from("\u001b[2J\r- 0BADBEEF left"));
    await run(w, 10);
    const dropped = w.lines.filter((l) => l.msg === "invalid datagram dropped");
    expect(dropped).toHaveLength(1);
    expect((dropped[0] as LogLine & { text: string }).text).toBe("\\x1b[2J\\r- 0BADBEEF left");
    expect(w.host.members.every((b) => b.channel.stats.received === 0)).toBe(true);
  });

  it("a rename never takes another local bot's id", () => {
    const d = new Dispatcher<string>();
    d.add("AAAAAAAA", "a");
    d.add("BBBBBBBB", "b");
    const draws = ["AAAAAAAA", "BBBBBBBB", "AAAAAAAA", "CCCCCCCC"];
    expect(d.allocate(() => draws.shift() as string)).toBe("CCCCCCCC");
    expect(() => d.rename("AAAAAAAA", "BBBBBBBB", "a")).toThrow();
  });

  it("stops every bot with reason signal; the host finishes when the last bot has ended", async () => {
    const w = setup(5);
    const bots = await startAll(w);
    let done = false;
    void w.host.finished.then(() => {
      done = true;
    });
    const stopping = w.host.stop("signal");
    await run(w, 2_000);
    await stopping;
    expect(done).toBe(true);
    expect(w.endings.map((e) => e.reason)).toEqual(["signal", "signal", "signal", "signal", "signal"]);
    expect(new Set(w.endings.map((e) => e.id))).toEqual(new Set(bots.map((b) => b.id)));
    expect(w.endings.every((e) => e.status === 0)).toBe(true);
    expect(from(w, "EXIT").length).toBe(5);
    expect(w.net.size).toBe(1); // only the supervisor is left: the host's endpoint closed
  });

  it("records lifespan endings and finishes on its own when the last lifespan is over", async () => {
    const w = setup(4, { lifespan: 30 });
    w.host.start();
    await run(w, 35_000);
    await w.host.finished;
    expect(w.endings.map((e) => [e.status, e.reason])).toEqual(Array(4).fill([0, "lifespan"]));
  });

  it("ends a bot that cannot create its results file with status 1; the others run", async () => {
    const w = setup(3);
    const bad = w.host.members[1] as HostedBot;
    bad.spec.results.truncate = () => {
      throw new Error("EACCES");
    };
    w.host.start();
    await run(w, 3_000);
    expect(w.endings.map((e) => [e.id, e.status, e.reason])).toEqual([[bad.id, 1, "error"]]);
    expect(new Set(from(w, "BEAT")).size).toBe(2);
  });
});

describe("dispatcher", () => {
  it("routes KILL to every bot, `*` commands to every bot, other `*` traffic to none", () => {
    const d = new Dispatcher<string>();
    d.add("AAAAAAAA", "a");
    d.add("BBBBBBBB", "b");
    const to = (sender: string, opcode: string, dest: string) => {
      const got: string[] = [];
      d.route({ sender, opcode, dest }, (b) => got.push(b));
      return got;
    };
    expect(to(SUPERVISOR, "KILL", "0BADBEEF")).toEqual(["a", "b"]);
    expect(to(SUPERVISOR, "PING", "*")).toEqual(["a", "b"]);
    expect(to(SUPERVISOR, "RSET", "*")).toEqual(["a", "b"]);
    expect(to(SUPERVISOR, "UPLD", "*")).toEqual(["a", "b"]);
    expect(to("0BADBEEF", "BEAT", "*")).toEqual([]);
    expect(to(SUPERVISOR, "PING", "BBBBBBBB")).toEqual(["b"]);
    expect(to(SUPERVISOR, "ABCD", "AAAAAAAA")).toEqual(["a"]);
    // A collision: once, even when it is also addressed to the bot or a KILL.
    expect(to("AAAAAAAA", "BEAT", "*")).toEqual(["a"]);
    expect(to("AAAAAAAA", "PING", "AAAAAAAA")).toEqual(["a"]);
    expect(to("AAAAAAAA", "PING", "BBBBBBBB")).toEqual(["b", "a"]);
    expect(to("AAAAAAAA", "KILL", "*")).toEqual(["a", "b"]);
    expect(d.stats.collisions).toBe(4);
  });

  it("keeps a removed bot's id reserved until released, and forgets heard ids beyond its cap", () => {
    const d = new Dispatcher<string>(3);
    d.add("AAAAAAAA", "a");
    d.remove("AAAAAAAA", "a");
    expect(d.isLocal("AAAAAAAA")).toBe(true);
    expect(() => d.add("AAAAAAAA", "x")).toThrow();
    d.release("AAAAAAAA");
    expect(d.isLocal("AAAAAAAA")).toBe(false);
    for (const s of ["11111111", "22222222", "33333333", "44444444", "HUMAN-1"])
      d.route({ sender: s, opcode: "BEAT", dest: "*" }, () => {});
    expect(d.wasHeard("11111111")).toBe(false);
    expect(d.wasHeard("44444444")).toBe(true);
    expect(d.wasHeard("HUMAN-1")).toBe(false);
    expect(d.stats.heardEvicted).toBe(1);
    // A new id avoids heard ones while it can.
    const draws = ["44444444", "55555555"];
    expect(d.allocate(() => draws.shift() as string)).toBe("55555555");
  });
});

describe("bot host on the reliability layer", () => {
  it("holds and repairs each local bot's messages under that bot's id, and announces each one's LAST", async () => {
    const g = new Group();
    const sup = g.peer(SUPERVISOR);
    // The supervisor loses the first copy of every NEWS and EXIT.
    const lostOnce = new Set<string>();
    sup.filter.drop = (text, dir) => {
      if (dir !== "recv" || !/^[0-9A-F]{8} [1-9]\d* (NEWS|EXIT) /.test(text)) return false;
      const key = text.split(" ").slice(0, 2).join(" ");
      if (lostOnce.has(key)) return false;
      lostOnce.add(key);
      return true;
    };
    const endpoint = new ReliableEndpoint(new Link(g.net.endpoint(HOST_ADDR)), {
      clock: g.clock,
      rng: seededRng(77),
      superseded: SUPERSEDED_OPCODES,
      lingerMs: 1500,
    });
    const lines: LogLine[] = [];
    const root = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const endings: BotEnding[] = [];
    const host = new BotHost({ endpoint, clock: g.clock, logger: root, onEnded: (_b, e) => endings.push(e) });
    const config = defaults({ heartbeat: 10, backoff: 1, discovery: 0.5, frankenstein: 0, lifespan: 20 });
    addQuietBots(host, 6, { config, seed: 500, logger: root, dirPrefix: "/bots/" });
    host.start();
    await g.run(30_000, 10);
    await host.finished;
    const ids = host.members.map((b) => b.id);
    expect(endings.map((e) => e.reason)).toEqual(Array(6).fill("lifespan"));
    for (const id of ids) {
      const sent = g.wire("NEWS").filter((m) => m.sender === id && m.seq > 0);
      expect(sent.length, id).toBeGreaterThan(3);
      // Everything the bot sent reached the supervisor, the lost copies through RSND.
      const got = seqsFrom(sup, id);
      for (const m of [...sent, ...g.wire("EXIT").filter((x) => x.sender === id)]) expect(got, id).toContain(m.seq);
      // Repaired by the bot itself (its own id as the voice), and announced under its own id.
      const rsnds = g.wire("RSND", id);
      expect(rsnds.length, id).toBeGreaterThanOrEqual(sent.length);
      expect(new Set(rsnds.map((m) => m.sender))).toEqual(new Set([id]));
      expect(g.wire("LAST").some((m) => m.sender === id)).toBe(true);
    }
    expect(sup.rel?.reliability.givenUp).toBe(0);
  });
});
