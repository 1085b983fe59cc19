/**
 * Group keys wired in: the Channel signs and verifies, the reliability layer repairs with the
 * original MAC and refuses unsigned control messages, the bot obeys only verified commands, the
 * supervisor marks verified members and shows refused traffic apart, UPLD never sends the key.
 */
import { linkSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import pino from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Bot, type ResultsFile } from "../../dnabot/bot.js";
import { type BotEnding, BotHost } from "../../dnabot/host.js";
import { sendResource } from "../../dnabot/upload.js";
import { Channel, Link } from "../../shared/channel.js";
import { flushMicrotasks, ManualClock } from "../../shared/clock.js";
import { type ChanMessage, encodeLine, parseLine } from "../../shared/codec.js";
import { type Config, loadConfig } from "../../shared/config.js";
import { GroupAuth, type RefuseReason } from "../../shared/keys/auth.js";
import { Keyring } from "../../shared/keys/keyring.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { SUPERSEDED_OPCODES } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { ReliableEndpoint } from "../../shared/reliable/endpoint.js";
import { Roster } from "../../supervisor/roster.js";
import { rosterLines, Supervisor } from "../../supervisor/supervisor.js";
import type { ViewLine } from "../../supervisor/watch.js";
import { addQuietBots } from "../helpers/hosted.js";
import { tempDir } from "../helpers/net.js";
import { Group, seqsFrom } from "../helpers/reliable_group.js";

const K1 = Buffer.alloc(32, 0x11);
const K2 = Buffer.alloc(32, 0x22);
const RING = Keyring.of(K1);
/** Wall-clock origin of the simulated runs. */
const EPOCH = 1_763_900_000_000;

function authOn(
  clock: ManualClock,
  ring: Keyring = RING,
  over: Partial<ConstructorParameters<typeof GroupAuth>[0]> = {},
) {
  return new GroupAuth({ ring, wallClock: () => EPOCH + clock.now(), ...over });
}

describe("Channel with a key", () => {
  it("signs what it sends, delivers what verifies marked verified, refuses and counts the rest", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const a = new Channel(net.endpoint("127.0.0.2"), { id: "AAAA0001", auth: authOn(clock) });
    const b = new Channel(net.endpoint("127.0.0.3"), { id: "BBBB0001", auth: authOn(clock) });
    const plain = new Channel(net.endpoint("127.0.0.4"), { id: "CCCC0001" });
    const stranger = new Channel(net.endpoint("127.0.0.5"), { id: "DDDD0001", auth: authOn(clock, Keyring.of(K2)) });
    const got: ChanMessage[] = [];
    const refused: RefuseReason[] = [];
    const plainGot: ChanMessage[] = [];
    b.on("message", (m) => got.push(m));
    b.on("refused", (r) => refused.push(r));
    plain.on("message", (m) => plainGot.push(m));

    a.send("BEAT", "*", ["Beep", "state=asimov"]);
    plain.send("KILL", "*");
    stranger.send("KILL", "*");
    await flushMicrotasks();

    expect(got.map((m) => [m.text, m.verified])).toEqual([["AAAA0001 1 BEAT * Beep state=asimov", true]]);
    expect(refused).toEqual(["unsigned", "bad-mac"]);
    expect(b.link.auth?.stats.refusedByReason).toEqual({ unsigned: 1, "bad-mac": 1 });
    // On the wire: the trailer; a peer without the key sees the message as sent, unverified.
    expect(net.sent[0]?.bytes.toString()).toMatch(
      /^AAAA0001 1 BEAT \* Beep state=asimov ts=\d+ sid=\S{11} mac=\S{22}$/,
    );
    expect(plainGot[0]?.text).toBe("AAAA0001 1 BEAT * Beep state=asimov");
    expect(plainGot[0]?.verified).toBeUndefined();
    // Without a key nothing changes on the wire.
    expect(net.sent[1]?.bytes.toString()).toBe("CCCC0001 1 KILL *");
  });

  it("a replayed datagram, from anywhere, is refused", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const a = new Channel(net.endpoint("127.0.0.2"), { id: "HUMAN-0001", auth: authOn(clock) });
    const b = new Channel(net.endpoint("127.0.0.3"), { id: "BBBB0001", auth: authOn(clock) });
    const attacker = net.endpoint("127.0.0.66");
    const got: string[] = [];
    const refused: RefuseReason[] = [];
    b.on("message", (m) => got.push(m.text));
    b.on("refused", (r) => refused.push(r));
    a.send("KILL", "CCCC0001");
    await flushMicrotasks();
    const captured = net.sent[0]?.bytes as Buffer;
    attacker.send(captured);
    await flushMicrotasks();
    clock.advance(60_000);
    attacker.send(captured);
    await flushMicrotasks();
    expect(got).toEqual(["HUMAN-0001 1 KILL CCCC0001"]);
    expect(refused).toEqual(["replay", "too-old"]);
  });

  it("a datagram that fits unsigned but not with its MAC is not sent", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const a = new Channel(net.endpoint(), { id: "AAAA0001", pktSize: 100, auth: authOn(clock) });
    const warnings: Error[] = [];
    a.on("warning", (e) => warnings.push(e));
    expect(a.fits("NEWS", "*", ["x".repeat(30)])).toBe(false);
    expect(a.measure("NEWS", "*", ["x".repeat(30)])).toBe(
      Buffer.byteLength(`AAAA0001 1 NEWS * ${"x".repeat(30)}`) + 60,
    );
    expect(a.send("NEWS", "*", ["x".repeat(30)])).toBeUndefined();
    expect(net.sent).toHaveLength(0);
    expect(warnings).toHaveLength(1);
  });
});

describe("reliability layer with a key", () => {
  const keyed = (g: Group, id: string, extra: object = {}) => g.peer(id, { auth: authOn(g.clock), ...extra });

  it("repairs through any holder with the original MAC, under loss, every message verified", async () => {
    const g = new Group();
    const a = keyed(g, "AAAA0001");
    const b = keyed(g, "BBBB0001");
    const c = keyed(g, "CCCC0001");
    // C loses everything A sends directly; only RSNDs reach it.
    c.filter.drop = (text, dir) => dir === "recv" && text.startsWith("AAAA0001 ") && !text.startsWith("AAAA0001 0 ");
    // Repair traffic is no attack: B sees every RSND meant for C (copies it already has), and
    // nobody refuses or reports anything.
    const refused: string[] = [];
    for (const p of [a, b, c]) p.chan.on("refused", (reason, text) => refused.push(`${p.id} ${reason} ${text}`));
    for (let i = 0; i < 5; i++) {
      a.chan.send("NEWS", "*", [`Discovery${i}`, "state=asimov"]);
      await g.run(20);
    }
    // A leaves (after its linger): C's copies must come from B, signed by A.
    await g.run(3000);
    expect(seqsFrom(b, "AAAA0001")).toEqual([1, 2, 3, 4, 5]);
    expect(seqsFrom(c, "AAAA0001").sort()).toEqual([1, 2, 3, 4, 5]);
    expect(c.got.every((r) => r.msg.verified === true && !r.msg.text.includes("mac="))).toBe(true);
    expect(c.rel?.reliability.repaired).toBe(5);
    // B answered some (A answers first when it can; here both hold copies).
    const rsnds = g.wire("RSND", "AAAA0001");
    expect(rsnds.length).toBeGreaterThanOrEqual(5);
    // Each RSND carries two trailers: the original's (A's sid) and the resender's.
    for (const r of rsnds) expect(r.text.match(/ mac=/g)).toHaveLength(2);
    expect(refused).toEqual([]);
  });

  it("a copy the layer turned down (not asked for yet) is still taken when it is asked for later", async () => {
    const g = new Group();
    const a = keyed(g, "AAAA0001");
    const b = keyed(g, "BBBB0001");
    const s = keyed(g, "CCCC0001");
    let deaf = true;
    // B and S lose A's 2; S also misses A's LASTs for a while, so the RSND that answers B's NACK
    // reaches S before S knows 2 exists: its layer turns that copy down.
    b.filter.drop = (text, dir) => dir === "recv" && text.startsWith("AAAA0001 2 ");
    s.filter.drop = (text, dir) =>
      dir === "recv" && (text.startsWith("AAAA0001 2 ") || (deaf && text.startsWith("AAAA0001 0 LAST")));
    a.chan.send("NEWS", "*", ["One"]);
    await g.run(20);
    a.chan.send("NEWS", "*", ["Two"]);
    await g.run(1500);
    expect(seqsFrom(b, "AAAA0001")).toEqual([1, 2]);
    expect(seqsFrom(s, "AAAA0001")).toEqual([1]);
    expect(s.rel?.reliability.rsndRefused ?? 0).toBeGreaterThan(0);
    deaf = false;
    a.chan.send("NEWS", "*", ["Three"]);
    await g.run(3000);
    expect(seqsFrom(s, "AAAA0001").sort()).toEqual([1, 2, 3]);
  });

  it("a repair from a holder that is not the sender works when the sender has gone", async () => {
    const g = new Group();
    const a = keyed(g, "AAAA0001", { reliable: { lingerMs: 0 } });
    const b = keyed(g, "BBBB0001");
    const c = keyed(g, "CCCC0001");
    c.filter.drop = (text, dir) => dir === "recv" && /^AAAA0001 [1-9]/.test(text);
    a.chan.send("NEWS", "*", ["Discovery", "state=asimov"]);
    a.chan.send("EXIT", "*", ["Offline", "state=asimov", "reason=killed"]);
    await g.run(5);
    await a.close();
    await g.run(5000);
    expect(seqsFrom(b, "AAAA0001")).toEqual([1, 2]);
    expect(seqsFrom(c, "AAAA0001").sort()).toEqual([1, 2]);
    expect(g.wire("RSND", "AAAA0001").every((m) => m.sender === "BBBB0001")).toBe(true);
    expect(c.got.every((r) => r.msg.verified === true)).toBe(true);
  });

  it("an unsigned, wrongly keyed, altered or replayed RSND injects nothing, and is counted", async () => {
    const g = new Group();
    const b = keyed(g, "BBBB0001");
    const a = keyed(g, "AAAA0001");
    a.chan.send("BEAT", "*", ["Beep"]);
    await g.run(20);
    // A announces 2 (lost to B): only a number B misses is accepted from an RSND.
    const aLink = a.rel?.endpoint.link as Link;
    aLink.transport.send(
      encodeLine(authOn(g.clock, RING, { sid: "AAAAAAAAAAA" }).sign("AAAA0001 0 LAST * 2 age=0 first=1 since=0")),
    );
    await g.run(1);
    const attacker = g.net.endpoint("127.0.0.66");
    const refused: RefuseReason[] = [];
    b.chan.on("refused", (r) => refused.push(r));
    const holderAuth = authOn(g.clock);
    const strangerAuth = authOn(g.clock, Keyring.of(K2));
    const kill = (seq: number) => authOn(g.clock).sign(`AAAA0001 ${seq} KILL *`);
    // 1. unsigned RSND carrying an unsigned KILL in A's name
    attacker.send(encodeLine("EVIL0001 0 RSND AAAA0001 2 KILL *"));
    // 2. signed with another key
    attacker.send(encodeLine(strangerAuth.sign("EVIL0001 0 RSND AAAA0001 2 KILL *")));
    // 3. a key holder resending an altered copy (inner MAC no longer matches)
    const inner = kill(3).slice("AAAA0001 3 ".length).replace("KILL *", "KILL BBBB0001");
    attacker.send(encodeLine(holderAuth.sign(`EVIL0001 0 RSND AAAA0001 3 ${inner}`)));
    // 4. a genuine RSND, then the same datagram again
    const good = holderAuth.sign(
      `CCCC0001 0 RSND AAAA0001 2 ${authOn(g.clock, RING, { sid: "AAAAAAAAAAA" }).sign("AAAA0001 2 NEWS * Discovery").slice("AAAA0001 2 ".length)}`,
    );
    attacker.send(encodeLine(good));
    attacker.send(encodeLine(good));
    await g.run(50);
    expect(b.got.map((r) => r.msg.opcode)).toEqual(["BEAT", "NEWS"]);
    expect(refused).toEqual(["unsigned", "bad-mac", "bad-mac", "replay"]);
  });

  it("unsigned NACK, SKIP and LAST do not steer a keyed peer, even with acceptUnsigned", async () => {
    const g = new Group();
    const bAuth = authOn(g.clock, RING, { acceptUnsigned: true });
    const b = g.peer("BBBB0001", { auth: bAuth });
    const a = keyed(g, "AAAA0001");
    const attacker = g.net.endpoint("127.0.0.66");
    a.chan.send("NEWS", "*", ["One"]);
    await g.run(20);
    // A LAST claiming A is at 1e9, and a SKIP: unsigned, both refused.
    attacker.send(encodeLine("EVIL0001 0 LAST * 999999999 age=0 first=1 since=0"));
    attacker.send(encodeLine("EVIL0001 0 SKIP AAAA0001 2"));
    await g.run(20);
    expect(b.rel?.pendingGaps).toBe(0);
    a.chan.send("NEWS", "*", ["Two"]);
    await g.run(20);
    expect(seqsFrom(b, "AAAA0001")).toEqual([1, 2]);
    expect(bAuth.stats.refusedByReason.unsigned).toBe(2);
  });
});

// ---- the bot --------------------------------------------------------------------------------

function defaults(over: Partial<Config> = {}): Config {
  return { ...loadConfig({ overrides: {}, readFile: () => undefined }).config, ...over };
}

function botWorld(opts: { seed?: number; acceptUnsigned?: boolean; net?: MemoryNetwork; clock?: ManualClock } = {}) {
  const net = opts.net ?? new MemoryNetwork();
  const clock = opts.clock ?? new ManualClock();
  const rng = seededRng(opts.seed ?? 7);
  const config = defaults({
    backoff: 0.01,
    lifespan: 1000,
    heartbeat: 1,
    acceptUnsigned: opts.acceptUnsigned ?? false,
  });
  const ch = new Channel(net.endpoint("127.0.0.2"), {
    id: `B${(opts.seed ?? 7).toString(16).padStart(7, "0")}`.toUpperCase(),
    auth: authOn(clock, RING, { acceptUnsigned: config.acceptUnsigned }),
  });
  const files = new Map<string, string>();
  const results: ResultsFile = {
    truncate: (n) => files.set(n, ""),
    append: (n, l) => files.set(n, `${files.get(n) ?? ""}${l}\n`),
  };
  const logs: { level: number; msg: string }[] = [];
  const exits: number[] = [];
  const uploads: string[] = [];
  const bot = new Bot({
    channel: ch,
    clock,
    rng,
    config,
    results,
    uploader: async (req) => {
      uploads.push(req.resource);
      return { ok: true, status: 200 };
    },
    logger: pino({ level: "debug" }, { write: (s: string) => logs.push(JSON.parse(s)) }),
    exit: (c) => exits.push(c),
  });
  return {
    net,
    clock,
    bot,
    ch,
    exits,
    uploads,
    logs,
    warnings: () => logs.filter((l) => l.level === 40).map((l) => l.msg),
  };
}

async function run(clock: ManualClock, ms: number): Promise<void> {
  await flushMicrotasks();
  await clock.run(ms, 10);
}

describe("a keyed bot", () => {
  it("obeys a verified KILL and ignores an unsigned `x 0 KILL *`, a forged UPLD and a wrongly keyed RSET", async () => {
    const w = botWorld();
    w.bot.start();
    await run(w.clock, 100);
    const attacker = w.net.endpoint("127.0.0.66");
    attacker.send(encodeLine("x 0 KILL *"));
    attacker.send(encodeLine("HUMAN-0001 5 UPLD * results.data"));
    attacker.send(encodeLine(authOn(w.clock, Keyring.of(K2)).sign("HUMAN-0001 6 RSET *")));
    await run(w.clock, 2000);
    expect(w.exits).toEqual([]);
    expect(w.uploads).toEqual([]);
    expect(w.bot.stats.refusedByReason).toEqual({ unsigned: 2, "bad-mac": 1 });
    expect(w.bot.frankensteinProbability).toBe(defaults().frankenstein);
    // The bot's log says so, once per heartbeat at most.
    expect(w.warnings().filter((m) => m.startsWith("Refused datagrams"))).toEqual([
      "Refused datagrams (unsigned, forged or replayed): unsigned 2, bad-mac 1",
    ]);
    const sup = new Channel(w.net.endpoint("127.0.0.9"), { id: "HUMAN-0001", auth: authOn(w.clock) });
    sup.send("KILL", w.bot.id);
    await run(w.clock, 2000);
    expect(w.exits).toEqual([255]);
  });

  it("a KILL captured before a bot restarted (same id from -seed) is refused by the new bot", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const first = botWorld({ seed: 42, net, clock });
    first.bot.start();
    await run(clock, 100);
    const sup = new Channel(net.endpoint("127.0.0.9"), { id: "HUMAN-0001", auth: authOn(clock) });
    const before = net.sent.length;
    sup.send("KILL", first.bot.id);
    await run(clock, 2000);
    expect(first.exits).toEqual([255]);
    const captured = net.sent.slice(before).find((d) => d.bytes.toString().includes(" KILL "))?.bytes as Buffer;
    const second = botWorld({ seed: 42, net, clock });
    expect(second.bot.id).toBe(first.bot.id);
    second.bot.start();
    await run(clock, 100);
    net.endpoint("127.0.0.66").send(captured);
    await run(clock, 2000);
    expect(second.exits).toEqual([]);
    expect(second.bot.stats.refusedByReason).toEqual({ "before-start": 1 });
  });

  it("with acceptUnsigned, unsigned messages reach the bot marked unverified and are ignored", async () => {
    const w = botWorld({ acceptUnsigned: true });
    w.bot.start();
    await run(w.clock, 100);
    const attacker = w.net.endpoint("127.0.0.66");
    attacker.send(encodeLine("HUMAN 1 KILL *"));
    attacker.send(encodeLine(`HUMAN 2 BEAT * collision-attempt`));
    attacker.send(encodeLine(`${w.bot.id} 3 BEAT * Beep`));
    await run(w.clock, 2000);
    expect(w.exits).toEqual([]);
    expect(w.bot.stats.unverified).toBe(3);
    expect(w.bot.stats.collisions).toBe(0);
    expect(w.bot.frankensteinProbability).toBe(defaults().frankenstein);
  });
});

// ---- the supervisor -------------------------------------------------------------------------

describe("a keyed supervisor", () => {
  function supWorld(over: { acceptUnsigned?: boolean; hideUnverified?: boolean } = {}) {
    const net = new MemoryNetwork();
    const clock = new ManualClock(1_000_000);
    const channel = new Channel(net.endpoint("127.0.0.1"), {
      id: "HUMAN-beef",
      auth: authOn(clock, RING, { acceptUnsigned: over.acceptUnsigned }),
    });
    const lines: ViewLine[] = [];
    const errors: string[] = [];
    const sup = new Supervisor({
      channel,
      clock,
      heartbeat: 10,
      backoff: 0.5,
      results: "results.data",
      pktSize: 1024,
      uploadPort: 8123,
      sink: (l) => lines.push(l),
      errorLog: (l) => errors.push(l),
      keyed: true,
      hideUnverified: over.hideUnverified,
    });
    const bot = new Channel(net.endpoint("127.0.0.2"), { id: "0A1B2C3D", auth: authOn(clock) });
    const attacker = net.endpoint("127.0.0.66");
    return { net, clock, sup, channel, lines, errors, bot, attacker };
  }

  it("marks verified members in WHO, counts refused datagrams, and shows them apart", async () => {
    const w = supWorld();
    w.bot.send("BEAT", "*", ["Beep", "state=asimov"]);
    w.attacker.send(encodeLine("0A1B2C3D 2 EXIT * Offline state=asimov reason=killed"));
    w.attacker.send(encodeLine("FFFF0000 1 BEAT * \x1b[2JBeep"));
    await flushMicrotasks();
    expect(w.sup.roster.get("0A1B2C3D")?.verified).toBe(true);
    expect(w.sup.roster.get("FFFF0000")).toBeUndefined();
    const refusedLines = w.lines.filter((l) => l.kind === "unverified").map((l) => l.text);
    expect(refusedLines).toHaveLength(2);
    expect(refusedLines[1]).toContain("refused (unsigned) from 127.0.0.66");
    expect(refusedLines[1]).not.toContain("\x1b");
    expect(w.errors).toHaveLength(2);
    await w.sup.run("WHO", false);
    const who = w.lines.filter((l) => l.kind === "reply").map((l) => l.text);
    expect(who[1]).toContain("SIGNED");
    expect(who.find((l) => l.startsWith("0A1B2C3D"))).toMatch(/\byes\b/);
    expect(who.at(-1)).toBe("Refused datagrams: unsigned 2");
  });

  it("-hideUnverified hides refused datagrams but still counts them", async () => {
    const w = supWorld({ hideUnverified: true });
    w.attacker.send(encodeLine("FFFF0000 1 BEAT * Beep"));
    await flushMicrotasks();
    expect(w.lines.filter((l) => l.kind === "unverified")).toEqual([]);
    expect(w.sup.refused).toEqual({ unsigned: 1 });
  });

  it("with acceptUnsigned: the original's bots are shown marked and listed unsigned; an unsigned EXIT in a signed member's name changes nothing", async () => {
    const w = supWorld({ acceptUnsigned: true });
    w.bot.send("BEAT", "*", ["Beep", "state=asimov"]);
    w.attacker.send(encodeLine("E26CB171 1 BEAT * Beep"));
    await flushMicrotasks();
    w.attacker.send(encodeLine("0A1B2C3D 9 EXIT * Offline state=asimov reason=killed"));
    await flushMicrotasks();
    expect(w.sup.roster.get("0A1B2C3D")).toBeDefined();
    expect(w.sup.roster.get("E26CB171")?.verified).toBe(false);
    expect(w.lines.some((l) => l.kind === "unverified" && l.text === "(unsigned) E26CB171 1 BEAT * Beep")).toBe(true);
    // The original's bot leaves with its own (unsigned) EXIT.
    w.attacker.send(encodeLine("E26CB171 2 EXIT * Offline"));
    await flushMicrotasks();
    expect(w.sup.roster.get("E26CB171")).toBeUndefined();
  });

  it("the roster ignores unverified EXITs, state changes and collisions for a member whose messages verify", () => {
    const roster = new Roster({ ageOutMs: 20_000, selfId: () => "HUMAN-beef" });
    const src = { address: "127.0.0.2", port: 1 };
    const m = (line: string, verified: boolean | undefined) => ({
      ...(parseLine(line) as { msg: ChanMessage }).msg,
      verified,
    });
    roster.observe(m("0A1B2C3D 1 BEAT * Beep state=asimov", true), src, 0);
    expect(roster.observe(m("0A1B2C3D 2 EXIT * Offline reason=killed", false), src, 1)).toEqual([]);
    expect(roster.observe(m("0A1B2C3D 3 BEAT * x state=frankenstein", false), src, 2)).toEqual([]);
    expect(roster.get("0A1B2C3D")?.state).toBe("asimov");
    expect(roster.observe(m("HUMAN-beef 1 KILL *", false), src, 3).map((e) => e.kind)).toEqual([]);
    expect(roster.ignoredUnverified).toBe(2);
    // Without a key (verified absent) nothing changes: EXIT removes.
    const open = new Roster({ ageOutMs: 20_000, selfId: () => "HUMAN-beef" });
    open.observe(m("0A1B2C3D 1 BEAT * Beep", undefined), src, 0);
    expect(open.observe(m("0A1B2C3D 2 EXIT * Offline", undefined), src, 1).map((e) => e.kind)).toEqual(["left"]);
    expect(open.observe(m("HUMAN-beef 1 KILL *", undefined), src, 2).map((e) => e.kind)).toEqual(["collision"]);
  });

  it("WHO without a key has no SIGNED column", () => {
    const lines = rosterLines([], 0);
    expect(lines).toEqual(["No members heard yet."]);
  });
});

describe("UPLD never sends the key file", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir("keys-upld-"));
  });
  afterEach(() => cleanup());

  async function upload(resource: string, secrets: string[]): Promise<string> {
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on("data", (c: Buffer) => chunks.push(c));
    await sendResource(out, dir, resource, "0A1B2C3D", () => {}, secrets);
    return Buffer.concat(chunks).toString();
  }

  it("by its name, through a symbolic link or a hard link: 403", async () => {
    const key = join(dir, "group.key");
    writeFileSync(key, `${K1.toString("base64")}\n`, { mode: 0o600 });
    symlinkSync("group.key", join(dir, "alias"));
    linkSync(key, join(dir, "hard"));
    writeFileSync(join(dir, "results.data"), "Soup\n");
    for (const name of ["group.key", "./group.key", "alias", "hard"]) {
      expect(await upload(name, [key])).toBe(`403 Forbidden 0A1B2C3D:${name}\n`);
    }
    expect(await upload("results.data", [key])).toBe("200 0A1B2C3D:results.data\nSoup\n");
    // Without the secret named (no key), the same file would go: the refusal is the list's doing.
    expect(await upload("group.key", [])).toContain(K1.toString("base64"));
  });
});

describe("a keyed bot host", () => {
  it("its bots ignore an unsigned KILL * (logged once for the host) and obey a signed KILL", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const endpoint = new ReliableEndpoint(new Link(net.endpoint("127.0.0.2"), { auth: authOn(clock) }), {
      clock,
      rng: seededRng(3),
      superseded: SUPERSEDED_OPCODES,
    });
    const lines: { level: number; msg: string }[] = [];
    const root = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const endings: BotEnding[] = [];
    const host = new BotHost({ endpoint, clock, logger: root, onEnded: (_b, e) => endings.push(e) });
    const config = defaults({ heartbeat: 1, backoff: 0.1, discovery: 0, frankenstein: 0, lifespan: 600 });
    addQuietBots(host, 3, { config, seed: 50, logger: root });
    host.start();
    await run(clock, 500);
    const ids = host.members.map((b) => b.id);
    const attacker = net.endpoint("127.0.0.66");
    attacker.send(encodeLine("x 0 KILL *"));
    attacker.send(encodeLine("HUMAN 1 KILL *"));
    await run(clock, 2000);
    expect(endings).toEqual([]);
    expect(host.refusedByReason).toEqual({ unsigned: 2 });
    expect(lines.filter((l) => l.level === 40 && l.msg.startsWith("Refused datagrams")).map((l) => l.msg)).toEqual([
      "Refused datagrams (unsigned, forged or replayed): unsigned 1",
    ]);
    const sup = new Channel(net.endpoint("127.0.0.9"), { id: "HUMAN-0001", auth: authOn(clock) });
    sup.send("KILL", ids[1] as string);
    await run(clock, 3000);
    expect(endings.map((e) => [e.id, e.status])).toEqual([[ids[1], 255]]);
  });
});

describe("rotation without a restart", () => {
  it("RSET makes a keyed bot reread its keys: after the new key is first, a KILL signed with it alone kills", async () => {
    const net = new MemoryNetwork();
    const clock = new ManualClock();
    const config = defaults({ backoff: 0.01, lifespan: 1000, heartbeat: 1 });
    const botAuth = authOn(clock, Keyring.of(K1));
    let fileRing = Keyring.of(K1);
    let broken = false;
    const ch = new Channel(net.endpoint("127.0.0.2"), { id: "0B0B0B0B", auth: botAuth });
    const logs: { level: number; msg: string }[] = [];
    const exits: number[] = [];
    const bot = new Bot({
      channel: ch,
      clock,
      rng: seededRng(9),
      config,
      results: { truncate: () => {}, append: () => {} },
      uploader: async () => ({ ok: true, status: 200 }),
      logger: pino({ level: "debug" }, { write: (s: string) => logs.push(JSON.parse(s)) }),
      exit: (c) => exits.push(c),
      reloadKeys: () => {
        if (broken) throw new Error("key file unreadable");
        botAuth.setRing(fileRing);
      },
    });
    bot.start();
    await run(clock, 100);
    const oldSup = new Channel(net.endpoint("127.0.0.9"), { id: "HUMAN-0001", auth: authOn(clock, Keyring.of(K1)) });
    const newSup = new Channel(net.endpoint("127.0.0.8"), { id: "HUMAN-0002", auth: authOn(clock, Keyring.of(K2)) });
    // Before: the new key alone is refused.
    newSup.send("PING", "0B0B0B0B");
    await run(clock, 100);
    expect(bot.stats.refusedByReason).toEqual({ "bad-mac": 1 });
    // The file now holds B then A; a RSET (signed with A) makes the bot take it.
    fileRing = Keyring.of(K2, K1);
    oldSup.send("RSET", "0B0B0B0B");
    await run(clock, 100);
    expect(botAuth.ring.fingerprints()).toEqual(Keyring.of(K2, K1).fingerprints());
    // A broken file on the next RSET keeps the keys in use, with a warning.
    broken = true;
    oldSup.send("RSET", "0B0B0B0B");
    await run(clock, 100);
    expect(logs.some((l) => l.level === 40 && l.msg.startsWith("Cannot reload the group keys"))).toBe(true);
    expect(botAuth.ring.size).toBe(2);
    newSup.send("KILL", "0B0B0B0B");
    await run(clock, 2000);
    expect(exits).toEqual([255]);
  });
});
