/**
 * Supervisor logic over the in-memory network and a manual clock: traffic view (pause/resume,
 * quiet notice, -quiet), roster (join, age-out, EXIT, state, discoveries, ours/original),
 * command validation, what is sent, and when a script's requests count as answered.
 */
import { describe, expect, it } from "vitest";
import { Channel } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { parseLine } from "../../shared/codec.js";
import { initI18n, t } from "../../shared/i18n.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { ageOutMs, beatJitterMs } from "../../shared/protocol.js";
import { complete, parseCommand } from "../../supervisor/commands.js";
import { render, renderJson } from "../../supervisor/console.js";
import { Roster } from "../../supervisor/roster.js";
import {
  EXIT_OK,
  EXIT_REFUSED_LINE,
  EXIT_UPLOAD_MISSING,
  rosterLines,
  Supervisor,
} from "../../supervisor/supervisor.js";
import type { Upload } from "../../supervisor/upload_server.js";
import type { ViewLine } from "../../supervisor/watch.js";

const HB = 1; // heartbeat, seconds

function setup(
  opts: {
    quiet?: boolean;
    backoff?: number;
    uploadWait?: number;
    maxMembers?: number;
    whoRows?: number;
    summaryRate?: number;
    eventRate?: number;
  } = {},
) {
  const net = new MemoryNetwork();
  const clock = new ManualClock(1_000_000);
  const supChannel = new Channel(net.endpoint("127.0.0.1"), { id: "HUMAN-beef" });
  const lines: ViewLine[] = [];
  const access: string[] = [];
  const errors: string[] = [];
  let inProgress = 0;
  const sup = new Supervisor({
    channel: supChannel,
    clock,
    heartbeat: HB,
    backoff: opts.backoff ?? 0.5,
    uploadWait: opts.uploadWait ?? 2,
    maxMembers: opts.maxMembers,
    whoRows: opts.whoRows,
    summaryRate: opts.summaryRate,
    eventRate: opts.eventRate,
    results: "results.data",
    pktSize: 1024,
    uploadPort: 8123,
    sink: (l) => lines.push(l),
    quiet: opts.quiet,
    uploadsInProgress: () => inProgress,
    accessLog: (l) => access.push(l),
    errorLog: (l) => errors.push(l),
    wallClock: () => new Date(Date.UTC(2025, 0, 2, 3, 4, 5)),
  });
  sup.start();
  /** A peer on the group: a bot (or another supervisor) sending raw bodies. */
  const peer = (id: string, address = "127.0.0.2") => {
    const transport = net.endpoint(address);
    const ch = new Channel(transport, { id });
    const got: string[] = [];
    ch.on("message", (m) => got.push(m.text));
    return { ch, transport, got, say: (opcode: string, ...args: string[]) => ch.send(opcode, "*", args) };
  };
  const texts = (kind?: ViewLine["kind"]) => lines.filter((l) => !kind || l.kind === kind).map((l) => l.text);
  return {
    net,
    clock,
    sup,
    supChannel,
    lines,
    texts,
    access,
    errors,
    peer,
    setInProgress: (n: number) => {
      inProgress = n;
    },
    /** What the upload server does with an upload: ask whether it is wanted, then report it. */
    deliver: (u: Upload): boolean => {
      const wanted = sup.acceptUpload(u);
      if (wanted) sup.onUpload(u);
      return wanted;
    },
  };
}

describe("traffic view", () => {
  it("prints every message as received, with join events first", async () => {
    const s = setup();
    const bot = s.peer("3F2A91BC");
    bot.say("BEAT", "Beep", "state=asimov");
    bot.say("NEWS", "Discovery", "state=asimov");
    await s.clock.run(10);
    expect(s.texts()).toEqual([
      "+ 3F2A91BC joined",
      "3F2A91BC 1 BEAT * Beep state=asimov",
      "3F2A91BC 2 NEWS * Discovery state=asimov",
    ]);
    expect(s.access).toEqual([
      "2025-01-02T03:04:05.000Z 127.0.0.2:40001 3F2A91BC 1 BEAT * Beep state=asimov",
      "2025-01-02T03:04:05.000Z 127.0.0.2:40001 3F2A91BC 2 NEWS * Discovery state=asimov",
    ]);
  });

  it("holds traffic while paused and prints it in order on resume; replies are not held", async () => {
    const s = setup();
    const a = s.peer("AAAA0001");
    const b = s.peer("BBBB0002", "127.0.0.3");
    a.say("BEAT", "Beep", "state=asimov");
    await s.clock.run(10);
    await s.sup.run("", true); // pause
    expect(s.lines.at(-1)).toMatchObject({
      kind: "prompt",
      text: "Paused: traffic is held until the next blank line. Command: OPCODE bot ...",
    });
    const before = s.lines.length;
    b.say("BEAT", "Beep", "state=asimov");
    a.say("NEWS", "Discovery", "state=asimov");
    b.say("EXIT", "Offline", "state=asimov", "reason=lifespan");
    await s.clock.run(10);
    await s.sup.run("WHO", true);
    await s.sup.run("bogus", true);
    // Only the WHO table and the error came out while paused.
    const during = s.lines.slice(before);
    expect(during.every((l) => l.kind === "reply" || l.kind === "error")).toBe(true);
    expect(during.map((l) => l.text)).toContain("Unknown command bogus: type HELP for the list");
    expect(s.sup.view.heldCount).toBe(5);
    const afterWho = s.lines.length;
    await s.sup.run("", true); // resume
    expect(s.lines.slice(afterWho).map((l) => l.text)).toEqual([
      "Resumed: 5 held lines follow",
      "+ BBBB0002 joined",
      "BBBB0002 1 BEAT * Beep state=asimov",
      "AAAA0001 2 NEWS * Discovery state=asimov",
      "BBBB0002 2 EXIT * Offline state=asimov reason=lifespan",
      "- BBBB0002 left (lifespan over)",
    ]);
    expect(s.sup.view.paused).toBe(false);
  });

  it("a blank line in a script is ignored (no pause)", async () => {
    const s = setup();
    await s.sup.run("", false);
    expect(s.sup.view.paused).toBe(false);
    expect(s.lines).toEqual([]);
  });

  it("says the channel is quiet after 2 heartbeats without traffic, and not when something arrived", async () => {
    const s = setup();
    const bot = s.peer("3F2A91BC");
    await s.clock.run(HB * 1000 * 2 - 50);
    expect(s.texts()).not.toContain("Channel is quiet...");
    await s.clock.run(100);
    expect(s.texts().filter((t) => t === "Channel is quiet...")).toHaveLength(1);
    // Traffic in the next period: no notice for it.
    bot.say("BEAT", "Beep");
    await s.clock.run(HB * 1000 * 2);
    expect(s.texts().filter((t) => t === "Channel is quiet...")).toHaveLength(1);
    // Paused: no notice either.
    await s.sup.run("", true);
    await s.clock.run(HB * 1000 * 2);
    await s.sup.run("", true);
    expect(s.texts().filter((t) => t === "Channel is quiet...")).toHaveLength(1);
    // Silent again: a second notice.
    await s.clock.run(HB * 1000 * 2);
    expect(s.texts().filter((t) => t === "Channel is quiet...")).toHaveLength(2);
  });

  it("-quiet shows only events, uploads, replies and errors", async () => {
    const s = setup({ quiet: true });
    const bot = s.peer("3F2A91BC");
    bot.say("BEAT", "Beep", "state=asimov");
    await s.clock.run(10);
    await s.sup.run("PING *", false);
    await s.sup.run("PONG *", false);
    await s.clock.run(HB * 1000 * 4);
    expect(s.lines.map((l) => l.kind)).toEqual(["event", "error", "reply", "event"]);
    expect(s.texts()).toEqual([
      "+ 3F2A91BC joined",
      "Unknown command PONG: type HELP for the list",
      "PING *: 0 of 1 answered; missing: 3F2A91BC",
      "- 3F2A91BC left (aged out)",
    ]);
  });
});

describe("roster", () => {
  it("ages out members silent for 2 heartbeats, and only those", async () => {
    const s = setup();
    const quiet = s.peer("AAAA0001");
    const chatty = s.peer("BBBB0002", "127.0.0.3");
    quiet.say("BEAT", "Beep", "state=asimov");
    chatty.say("BEAT", "Beep", "state=asimov");
    await s.clock.run(10);
    for (let i = 0; i < 6; i++) {
      await s.clock.run(500);
      chatty.say("BEAT", "Beep", "state=asimov");
    }
    // 3 s of silence from AAAA0001 (> 2 heartbeats): gone; BBBB0002 stays.
    expect(s.texts("event")).toEqual(["+ AAAA0001 joined", "+ BBBB0002 joined", "- AAAA0001 left (aged out)"]);
    expect(s.sup.roster.botIds()).toEqual(["BBBB0002"]);
  });

  it("is not aged out before 2 heartbeats plus the beat jitter of silence", async () => {
    const s = setup();
    s.peer("AAAA0001").say("BEAT", "Beep");
    await s.clock.run(ageOutMs(HB * 1000) - 20);
    expect(s.sup.roster.botIds()).toEqual(["AAAA0001"]);
  });

  it("one lost heartbeat never ages a live bot out; 3 heartbeats of silence do", async () => {
    const hb = HB * 1000;
    const jitter = beatJitterMs(hb);
    const s = setup();
    const bot = s.peer("AAAA0001");
    // Beats on the schedule k·hb, each sent up to the jitter early; beat 1 is lost, beat 0
    // went out as early as it may, beat 2 as late: the longest silence one loss can make.
    await s.clock.run(hb - jitter);
    bot.say("BEAT", "Beep");
    await s.clock.run(2 * hb + jitter - 1);
    expect(s.sup.roster.botIds()).toEqual(["AAAA0001"]);
    bot.say("BEAT", "Beep");
    // Then silent for 3 heartbeats: gone at the next check (one a heartbeat).
    await s.clock.run(3 * hb + hb);
    expect(s.texts("event")).toEqual(["+ AAAA0001 joined", "- AAAA0001 left (aged out)"]);
  });

  it("EXIT removes a member at once, with the reason from its tag", async () => {
    const s = setup();
    const a = s.peer("AAAA0001");
    const b = s.peer("BBBB0002", "127.0.0.3");
    a.say("BEAT", "Beep", "state=asimov");
    b.say("BEAT", "Beep");
    await s.clock.run(10);
    a.say("EXIT", "Offline", "state=asimov", "reason=killed");
    b.say("EXIT", "Offline"); // the original's bot: no tags
    await s.clock.run(10);
    expect(s.texts("event")).toEqual([
      "+ AAAA0001 joined",
      "+ BBBB0002 joined",
      "- AAAA0001 left (killed)",
      "- BBBB0002 left (exit)",
    ]);
    expect(s.sup.roster.size).toBe(0);
  });

  it("records address, state, discoveries and ours/original; WHO prints them", async () => {
    const s = setup();
    const ours = s.peer("AAAA0001", "127.0.0.2");
    const orig = s.peer("BBBB0002", "127.0.0.3");
    const human = s.peer("HUMAN", "127.0.0.4");
    ours.say("BEAT", "Beep", "state=asimov");
    ours.say("NEWS", "Discovery", "state=asimov");
    ours.say("NEWS", "Discovery", "state=frankenstein");
    orig.say("BEAT", "Beep");
    orig.say("NEWS", "Discovery");
    human.ch.send("PING", "*");
    await s.clock.run(2000);
    const [a, b, h] = s.sup.roster.list();
    expect(a).toMatchObject({
      id: "AAAA0001",
      address: "127.0.0.2",
      state: "frankenstein",
      discoveries: 2,
      ours: true,
    });
    expect(b).toMatchObject({ id: "BBBB0002", address: "127.0.0.3", state: "unknown", discoveries: 1, ours: false });
    expect(h).toMatchObject({ id: "HUMAN", kind: "supervisor", ours: false });
    // A supervisor is listed, but gets no join event.
    expect(s.texts("event")).toEqual(["+ AAAA0001 joined", "+ BBBB0002 joined"]);
    await s.sup.run("who", true);
    expect(s.texts("reply")).toEqual([
      "Members: 3; bots 2 (Asimov 0, Frankenstein 1, unknown 1); supervisors 1; ours 1, original 2",
      "ID        ADDRESS    PORT   HEARD   STATE         NEWS  PROGRAM",
      "AAAA0001  127.0.0.2  40001  2s ago  Frankenstein  2     ours",
      "BBBB0002  127.0.0.3  40002  2s ago  unknown       1     original",
      "HUMAN     127.0.0.4  40003  2s ago  supervisor    -     original",
    ]);
  });

  it("WHO with nobody heard says so", () => {
    expect(rosterLines([], 0)).toEqual(["No members heard yet."]);
  });

  it("warns when another peer uses our id", async () => {
    const s = setup();
    s.peer("HUMAN-beef", "127.0.0.9").ch.send("PING", "*");
    await s.clock.run(10);
    expect(s.lines.find((l) => l.kind === "warning")?.text).toBe(
      "Another peer (127.0.0.9) sends with our id HUMAN-beef",
    );
  });

  it("pure: a member heard again from a new address moves there", () => {
    const r = new Roster({ ageOutMs: 2000, selfId: () => "HUMAN-1" });
    const m = parseLine("AAAA0001 1 BEAT * Beep");
    if (!m.ok) throw new Error("parse");
    r.observe(m.msg, { address: "10.0.0.1", port: 1 }, 0);
    r.observe(m.msg, { address: "10.0.0.2", port: 2 }, 1000);
    expect(r.get("AAAA0001")).toMatchObject({ address: "10.0.0.2", messages: 2, lastHeard: 1000, firstHeard: 0 });
    expect(r.ageOut(3000)).toEqual([]);
    expect(r.ageOut(3001).map((e) => e.kind)).toEqual(["left"]);
  });
});

describe("commands", () => {
  // The size rule is the channel's: a real channel measures.
  const sizer = new Channel(new MemoryNetwork().endpoint(), { id: "HUMAN-beef" });
  const ctx = {
    measure: sizer.measure.bind(sizer),
    pktSize: 1024,
    results: "results.data",
    uploadPort: 8123,
  };

  it("opcodes are case-insensitive and sent upper-case; UPLD gets the results file and port=", () => {
    expect(parseCommand("ping *", ctx)).toEqual({ kind: "send", opcode: "PING", dest: "*", args: [] });
    expect(parseCommand("  Kill   3F2A91BC ", ctx)).toEqual({
      kind: "send",
      opcode: "KILL",
      dest: "3F2A91BC",
      args: [],
    });
    expect(parseCommand("upld *", ctx)).toEqual({
      kind: "send",
      opcode: "UPLD",
      dest: "*",
      args: ["results.data", "port=8123"],
    });
    expect(parseCommand("UPLD 3F2A91BC notes.txt", ctx)).toMatchObject({ args: ["notes.txt", "port=8123"] });
    expect(parseCommand("rset *", ctx)).toMatchObject({ kind: "send", opcode: "RSET" });
  });

  it("local commands are case-insensitive", () => {
    expect(parseCommand("help", ctx).kind).toBe("help");
    expect(parseCommand("Who", ctx).kind).toBe("who");
    expect(parseCommand("quit", ctx).kind).toBe("quit");
    expect(parseCommand("wait 1.5", ctx)).toEqual({ kind: "wait", seconds: 1.5 });
  });

  it("matches a typed id to a known member ignoring case", () => {
    const r = new Roster({ ageOutMs: 2000, selfId: () => "HUMAN-1" });
    const m = parseLine("3F2A91BC 1 BEAT * Beep");
    if (!m.ok) throw new Error("parse");
    r.observe(m.msg, { address: "10.0.0.1", port: 1 }, 0);
    const c = { ...ctx, resolve: (s: string) => r.resolve(s) };
    expect(parseCommand("ping 3f2a91bc", c)).toEqual({ kind: "send", opcode: "PING", dest: "3F2A91BC", args: [] });
    expect(parseCommand("ping 9f2a91bc", c)).toMatchObject({
      dest: "9f2a91bc",
      note: { kind: "unknown", id: "9f2a91bc", suggestions: ["3F2A91BC"] },
    });
  });

  it.each([
    ["FOO *", "Unknown command FOO: type HELP for the list"],
    ["BEAT *", "Unknown command BEAT: type HELP for the list"],
    ["PING", "PING needs a destination: a bot id or *"],
    ["upld", "UPLD needs a destination: a bot id or *"],
    ["KILL bot/1", "bot/1 is not a bot id or *"],
    ["PING * extra", "PING takes nothing after the destination"],
    ["UPLD * a b", "UPLD takes at most one file name"],
    ["UPLD * port=9", "port=9 looks like a tag (key=value) and cannot be sent as a file name"],
    ["WAIT", "WAIT needs a number of seconds, e.g. WAIT 2.5"],
    ["WAIT -1", "WAIT needs a number of seconds, e.g. WAIT 2.5"],
  ])("%s → one error line", (line, message) => {
    expect(parseCommand(line, ctx)).toEqual({ kind: "error", message });
  });

  it("refuses an UPLD that would not fit in one datagram, counting id and sequence number", () => {
    const head = "HUMAN-beef 1 UPLD * ";
    const tail = " port=8123";
    const fits = "f".repeat(100 - head.length - tail.length);
    expect(parseCommand(`UPLD * ${fits}`, { ...ctx, pktSize: 100 }).kind).toBe("send");
    expect(parseCommand(`UPLD * ${fits}f`, { ...ctx, pktSize: 100 })).toEqual({
      kind: "error",
      message: "The command would not fit in one datagram (101 bytes, the limit is 100)",
    });
    // Sequence number 10 is one byte longer than 1.
    const later = new Channel(new MemoryNetwork().endpoint(), { id: "HUMAN-beef" });
    for (let i = 0; i < 9; i++) later.send("PING", "*");
    expect(parseCommand(`UPLD * ${fits}`, { ...ctx, pktSize: 100, measure: later.measure.bind(later) }).kind).toBe(
      "error",
    );
  });

  it("a refused command sends nothing; a good one is sent, shown and logged", async () => {
    const s = setup();
    await s.sup.run("KILL", false);
    await s.sup.run("UPLD * x=y", false);
    await s.clock.run(10);
    expect(s.net.sent).toHaveLength(0);
    expect(s.texts("error")).toHaveLength(2);
    await s.sup.run("upld *", false);
    await s.sup.run("PING *", false);
    await s.clock.run(10);
    expect(s.net.sent.map((d) => d.bytes.toString())).toEqual([
      "HUMAN-beef 1 UPLD * results.data port=8123",
      "HUMAN-beef 2 PING *",
    ]);
    expect(s.texts("own")).toEqual(["HUMAN-beef 1 UPLD * results.data port=8123", "HUMAN-beef 2 PING *"]);
    expect(s.access).toEqual([
      "2025-01-02T03:04:05.000Z sent HUMAN-beef 1 UPLD * results.data port=8123",
      "2025-01-02T03:04:05.000Z sent HUMAN-beef 2 PING *",
    ]);
  });

  it("Tab completes opcodes, then * and known bot ids", () => {
    expect(complete("PI", [])).toEqual([["PING "], "PI"]);
    expect(complete("u", [])).toEqual([["upld "], "u"]);
    expect(complete("", [])[0]).toHaveLength(8);
    expect(complete("KILL 3F", ["3F2A91BC", "3F000000", "AB000000"])).toEqual([["3F2A91BC", "3F000000"], "3F"]);
    expect(complete("ping ", ["AB000000"])).toEqual([["*", "AB000000"], ""]);
    expect(complete("WHO x", ["AB000000"])).toEqual([[], "x"]);
  });

  it("HELP lists every command", async () => {
    const s = setup();
    await s.sup.run("HELP", true);
    const help = s.texts("reply").join("\n");
    for (const w of ["PING", "UPLD", "KILL", "RSET", "WHO", "WAIT", "HELP", "QUIT"]) expect(help).toContain(w);
  });
});

describe("malformed datagrams", () => {
  it("are dropped, written to the error log with reason and source, never shown", async () => {
    const s = setup();
    const raw = s.net.endpoint("127.0.0.7");
    raw.send(Buffer.from("garbage"));
    raw.send(Buffer.from("AAAA0001 x BEAT *"));
    raw.send(Buffer.from([0xff, 0xfe, 0x00]));
    raw.send(Buffer.alloc(5000, 0x41));
    await s.clock.run(10);
    expect(s.lines).toEqual([]);
    expect(s.errors).toHaveLength(4);
    expect(s.errors[0]).toBe('2025-01-02T03:04:05.000Z 127.0.0.7:40001 too-few-fields "garbage"');
    expect(s.errors[1]).toContain(" bad-seq ");
    expect(s.errors[3]).toContain(" oversize ");
    expect(s.supChannel.stats.invalid).toBe(4);
  });
});

describe("hostile text is printed escaped", () => {
  it("a CR or an escape sequence in a datagram cannot draw fake lines or set the title", async () => {
    const s = setup();
    const bot = s.peer("3F2A91BC");
    bot.say("BEAT", "Beep\r-", "3F2A91BC", "left", "(killed)");
    bot.say("NEWS", "\x1b]0;pwned\x07\x1b[2J", "\u009b31m", "\u202Egnp.exe");
    await s.clock.run(10);
    const out = s.lines.map((l) => render(l, true));
    expect(s.texts("traffic")).toEqual([
      "3F2A91BC 1 BEAT * Beep\\r- 3F2A91BC left (killed)",
      "3F2A91BC 2 NEWS * \\x1b]0;pwned\\x07\\x1b[2J \\x9b31m \\u202egnp.exe",
    ]);
    // Only our own colour codes reach the terminal.
    for (const o of out) expect(o.replace(/\x1b\[[0-9;]*m/g, "")).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202e]/);
    expect(s.texts("event")).toEqual(["+ 3F2A91BC joined"]);
    expect(s.access.join("\n")).not.toMatch(/[\r\x1b\x07\x9b\u202e]/);
    expect(s.access[0]).toContain("Beep\\r- 3F2A91BC left (killed)");
  });

  it("malformed datagrams reach the error log escaped", async () => {
    const s = setup();
    s.net.endpoint("127.0.0.7").send(Buffer.from("bad\x1b]0;t\x07\r"));
    await s.clock.run(10);
    expect(s.errors).toEqual(['2025-01-02T03:04:05.000Z 127.0.0.7:40001 too-few-fields "bad\\x1b]0;t\\x07"']);
  });

  it("upload lines, the status line and the sender's words are escaped", () => {
    const s = setup();
    s.sup.onUpload({
      from: { address: "127.0.0.2", port: 5555 },
      head: Buffer.from("200 AAAA0001:results.data\r\nok\rfake\n\x1b[2Jgone\u009b\n"),
      bytes: 40,
      lines: 3,
      status: "200 AAAA0001:results.data",
      code: 200,
      botId: "AAAA0001",
      file: "results.data",
      truncated: false,
      timedOut: false,
      savedAs: undefined,
      saveError: undefined,
    });
    expect(s.texts("upload")).toEqual(["200 AAAA0001:results.data", "ok\\rfake", "\\x1b[2Jgone\\x9b"]);
  });

  it("a rendered line that was not escaped (a bug) is escaped at the terminal", () => {
    expect(render({ kind: "reply", text: "a\x1b[2Jb\\" }, false)).toBe("a\\x1b[2Jb\\\\");
    expect(render({ kind: "reply", text: "a\\x1b" }, false)).toBe("a\\x1b");
  });
});

describe("uploads shown and script end", () => {
  const upload = (data: string, over: Partial<Upload> = {}): Upload => ({
    from: { address: "127.0.0.2", port: 5555 },
    head: Buffer.from(data),
    bytes: Buffer.byteLength(data),
    lines: data === "" ? 0 : data.replace(/\n$/, "").split("\n").length,
    status: data.split("\n")[0] ?? "",
    code: 200,
    botId: "AAAA0001",
    file: "results.data",
    truncated: false,
    timedOut: false,
    savedAs: "uploads/AAAA0001_results.data",
    saveError: undefined,
    ...over,
  });

  it("prints the content, EOF after a status line alone, and where it was saved", () => {
    const s = setup();
    s.sup.onUpload(upload("200 AAAA0001:results.data\nline 1\nline 2\n"));
    s.sup.onUpload(upload("404 No resource AAAA0001:nope\n", { code: 404, savedAs: undefined }));
    expect(s.texts()).toEqual([
      "200 AAAA0001:results.data",
      "line 1",
      "line 2",
      "(saved as uploads/AAAA0001_results.data)",
      "404 No resource AAAA0001:nope",
      "(the bot has no such file or directory)",
      "EOF",
    ]);
    expect(s.lines[0]?.status).toBe(200);
  });

  it("says what an error status means, in the reader's language, beside the status line as sent", () => {
    initI18n("fr");
    try {
      const s = setup();
      s.sup.onUpload(upload("403 Forbidden AAAA0001:../x\n", { code: 403, savedAs: undefined }));
      expect(s.texts()).toEqual([
        "403 Forbidden AAAA0001:../x",
        "(refusé : le fichier est hors du répertoire de travail du bot)",
        t("EOF"),
      ]);
    } finally {
      initI18n("en");
    }
  });

  it("warns about a cut-off upload and an empty one", () => {
    const s = setup();
    s.sup.onUpload(upload("200 AAAA0001:big\nxxxx", { truncated: true }));
    s.sup.onUpload(upload("", { code: undefined, botId: undefined }));
    expect(s.texts("warning")).toEqual([
      "The upload from AAAA0001 was larger than 21 bytes and was cut off",
      "Empty upload from 127.0.0.2",
    ]);
  });

  it("a script ends once the asked bots have uploaded and backoff has passed", async () => {
    const s = setup({ backoff: 0.5, uploadWait: 10 });
    const a = s.peer("AAAA0001");
    const b = s.peer("BBBB0002", "127.0.0.3");
    const beat = async (ms: number) => {
      for (let t = 0; t < ms; t += 500) {
        a.say("BEAT", "Beep");
        b.say("BEAT", "Beep");
        await s.clock.run(500);
      }
    };
    await beat(500);
    await s.sup.run("UPLD *", false);
    let done = false;
    void s.sup.settle(10_000).then(() => {
      done = true;
    });
    await beat(3000);
    expect(done).toBe(false); // nothing uploaded yet
    s.deliver(upload("200 AAAA0001:results.data\n"));
    s.setInProgress(1); // BBBB0002's is arriving
    await beat(1000);
    expect(done).toBe(false);
    s.setInProgress(0);
    s.deliver(upload("200 BBBB0002:results.data\n", { botId: "BBBB0002" }));
    await s.clock.run(100);
    expect(done).toBe(true);
  });

  it("a script does not wait for a bot that has left", async () => {
    const s = setup({ backoff: 0.5 });
    const a = s.peer("AAAA0001");
    a.say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("UPLD *", false);
    let done = false;
    void s.sup.settle(10_000).then(() => {
      done = true;
    });
    await s.clock.run(1000);
    a.say("EXIT", "Offline", "reason=killed");
    await s.clock.run(400);
    expect(done).toBe(false); // backoff + grace not over yet
    await s.clock.run(200);
    expect(done).toBe(true);
  });

  it("a script's wait for uploads is bounded", async () => {
    const s = setup();
    s.peer("AAAA0001").say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("UPLD AAAA0001", false);
    let done = false;
    void s.sup.settle(1200).then(() => {
      done = true;
    });
    await s.clock.run(1100);
    expect(done).toBe(false);
    await s.clock.run(200);
    expect(done).toBe(true);
  });

  it("a script with no requests ends at once", async () => {
    const s = setup();
    await s.sup.run("WHO", false);
    let done = false;
    void s.sup.settle(10_000).then(() => {
      done = true;
    });
    await s.clock.run(1);
    expect(done).toBe(true);
  });
});

describe("console rendering", () => {
  it("colours by opcode and state on a terminal, nothing otherwise", () => {
    const beat: ViewLine = { kind: "traffic", text: "A 1 BEAT * Beep", opcode: "BEAT", state: "asimov" };
    expect(render(beat, false)).toBe("A 1 BEAT * Beep");
    expect(render(beat, true)).toBe("\x1b[32mA 1 BEAT * Beep\x1b[0m");
    expect(render({ ...beat, state: "frankenstein" }, true)).toBe("\x1b[31mA 1 BEAT * Beep\x1b[0m");
    expect(render({ kind: "error", text: "x" }, true)).toBe("\x1b[31;1mx\x1b[0m");
    expect(render({ kind: "reply", text: "x" }, true)).toBe("x");
  });
});

const statusOf = (line: string, from = "127.0.0.2") => {
  const m = /^(\d{3}).* ([^ ]+):(.*)$/.exec(line);
  return {
    from: { address: from, port: 5555 },
    status: line,
    code: m ? Number(m[1]) : undefined,
    botId: m?.[2],
    file: m?.[3],
  };
};
const uploadOf = (line: string, body = ""): Upload => {
  const data = `${line}\n${body}`;
  return {
    ...statusOf(line),
    head: Buffer.from(data),
    bytes: Buffer.byteLength(data),
    lines: data.replace(/\n$/, "").split("\n").length,
    truncated: false,
    timedOut: false,
    savedAs: undefined,
    saveError: undefined,
  };
};

describe("commands report their answers", () => {
  it("PING *: a count of the roster's bots that answered, after the backoff window", async () => {
    const s = setup({ backoff: 0.5 });
    const a = s.peer("AAAA0001");
    const b = s.peer("BBBB0002", "127.0.0.3");
    a.say("BEAT", "Beep");
    b.say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("PING *", false);
    a.say("BEAT", "Beep");
    await s.clock.run(1000);
    expect(s.texts("reply")).toEqual([]); // backoff + grace (1.5 s) not over
    await s.clock.run(600);
    expect(s.texts("reply")).toEqual(["PING *: 1 of 2 answered; missing: BBBB0002"]);
    expect(s.lines.find((l) => l.kind === "reply")?.data).toMatchObject({
      request: "PING",
      expected: 2,
      answered: 1,
      missing: ["BBBB0002"],
    });
  });

  it("PING to one bot: answered at once, or no answer after the window", async () => {
    const s = setup();
    const a = s.peer("AAAA0001");
    a.say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("PING AAAA0001", false);
    await s.sup.run("PING aaaa0001", false);
    a.say("BEAT", "Beep");
    await s.clock.run(10);
    expect(s.texts("reply")).toEqual(["PING AAAA0001: answered", "PING AAAA0001: answered"]);
    await s.sup.run("PING AAAA0001", false);
    await s.clock.run(2000);
    expect(s.texts("reply").at(-1)).toBe("PING AAAA0001: no answer after 1.5 s");
  });

  it("UPLD to one bot: no upload after the window, and a script then exits 4", async () => {
    const s = setup();
    s.peer("AAAA0001").say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("UPLD AAAA0001", false);
    const code = s.sup.settle(60_000);
    await s.clock.run(3000);
    expect(await code).toBe(EXIT_UPLOAD_MISSING);
    expect(s.texts("reply")).toEqual([
      "UPLD AAAA0001: no upload after 2.5 s",
      "Done. Lines refused: 0; uploads asked: 1, received: 0, with an error status: 0, missing: 1",
    ]);
  });

  it("UPLD *: uploads asked for are taken and counted; others are refused; 404 counts as failed", async () => {
    const s = setup();
    for (const [id, addr] of [
      ["AAAA0001", "127.0.0.2"],
      ["BBBB0002", "127.0.0.3"],
      ["CCCC0003", "127.0.0.4"],
    ] as const)
      s.peer(id, addr).say("BEAT", "Beep");
    await s.clock.run(10);
    // Nothing asked yet: refused.
    expect(s.deliver(uploadOf("200 AAAA0001:results.data", "x\n"))).toBe(false);
    await s.sup.run("UPLD *", false);
    expect(s.deliver(uploadOf("200 AAAA0001:results.data", "x\n"))).toBe(true);
    expect(s.deliver(uploadOf("200 AAAA0001:results.data", "again\n"))).toBe(false); // one each
    expect(s.deliver(uploadOf("200 AAAA0001:other.txt"))).toBe(false); // not the file asked for
    expect(s.deliver(uploadOf("404 No resource BBBB0002:results.data"))).toBe(true);
    const code = s.sup.settle(60_000);
    await s.clock.run(3000);
    expect(await code).toBe(EXIT_UPLOAD_MISSING);
    expect(s.texts("reply")).toContain("UPLD *: 1 of 3 uploaded; with an error status: 1; missing: CCCC0003");
    expect(s.sup.requests.totals).toMatchObject({ uploadsAsked: 3, uploaded: 1, uploadsFailed: 1, uploadsMissing: 1 });
  });

  it("UPLD * answered by every bot: reported as soon as the backoff window is over; exit 0", async () => {
    const s = setup();
    s.peer("AAAA0001").say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("UPLD *", false);
    s.deliver(uploadOf("200 AAAA0001:results.data", "x\n"));
    const code = s.sup.settle(60_000);
    await s.clock.run(1600);
    expect(await code).toBe(EXIT_OK);
    expect(s.texts("reply")[0]).toBe("UPLD *: 1 of 1 uploaded");
  });

  it("a refused line makes a script exit 3", async () => {
    const s = setup();
    await s.sup.run("PONG *", false);
    const code = s.sup.settle(1000);
    await s.clock.run(10);
    expect(await code).toBe(EXIT_REFUSED_LINE);
  });

  it("KILL: left when its EXIT comes", async () => {
    const s = setup();
    const a = s.peer("AAAA0001");
    a.say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("KILL AAAA0001", false);
    a.say("EXIT", "Offline", "reason=killed");
    await s.clock.run(10);
    expect(s.texts("reply")).toEqual(["KILL AAAA0001: left"]);
  });
});

describe("Tab completion at scale", () => {
  it("with more than 100 candidates it completes as far as they agree and lists none", () => {
    const ids = Array.from({ length: 500 }, (_, i) => (0x8c000000 + i).toString(16).toUpperCase());
    expect(complete("PING 8c", ids)).toEqual([["8C000"], "8c"]);
    expect(complete("PING 8C0001F", ids)).toEqual([["8C0001F0", "8C0001F1", "8C0001F2", "8C0001F3"], "8C0001F"]);
  });
});

describe("long uploads", () => {
  it("prints at most 200 lines of an upload and says how much more came", () => {
    const s = setup();
    const body = Array.from({ length: 299 }, (_, i) => `line ${i}`).join("\n");
    s.sup.onUpload({ ...uploadOf("200 AAAA0001:results.data", `${body}\n`), savedAs: "uploads/x" });
    const shown = s.texts("upload");
    expect(shown).toHaveLength(200 + 2);
    expect(shown.at(-2)).toBe(
      `(… 100 more lines not shown, ${(26 + Buffer.byteLength(body) + 1).toLocaleString("en")} bytes in all)`,
    );
    expect(shown.at(-1)).toBe("(saved as uploads/x)");
  });
});

describe("destinations nobody heard, prefixes", () => {
  it("an unknown id is sent anyway, with a warning and a did-you-mean", async () => {
    const s = setup();
    s.peer("3F2A91BC").say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("PING 3F2A91BD", false);
    expect(s.texts("warning")).toEqual([
      "PING: nobody has heard 3F2A91BD; sent anyway (a bot may be silent). Did you mean 3F2A91BC?",
    ]);
    expect(s.texts("own")).toEqual(["HUMAN-beef 1 PING 3F2A91BD"]);
    await s.sup.run("PING 12345678", false);
    expect(s.texts("warning").at(-1)).toBe("PING: nobody has heard 12345678; sent anyway (a bot may be silent)");
  });

  it("a unique prefix is completed and says so; a shared one is refused (Tab then Enter)", async () => {
    const s = setup();
    s.peer("8C12AB34").say("BEAT", "Beep");
    s.peer("8C99AB34", "127.0.0.3").say("BEAT", "Beep");
    s.peer("77AA0001", "127.0.0.4").say("BEAT", "Beep");
    await s.clock.run(10);
    await s.sup.run("UPLD 77", false);
    expect(s.texts("reply")).toEqual(["UPLD: 77 completed to 77AA0001"]);
    expect(s.texts("own")).toEqual(["HUMAN-beef 1 UPLD 77AA0001 results.data port=8123"]);
    await s.sup.run("KILL 8c", false);
    expect(s.texts("error")).toEqual([
      "8c is the start of 2 ids (8C12AB34, 8C99AB34): type more of it; nothing was sent",
    ]);
    expect(s.texts("own")).toHaveLength(1);
  });
});

describe("WHO at scale", () => {
  async function crowd(s: ReturnType<typeof setup>, n: number, base = 0x10000000) {
    const raw = s.net.endpoint("127.0.0.9");
    for (let i = 0; i < n; i++) {
      const id = (base + i).toString(16).toUpperCase();
      const state = i % 10 === 0 ? "frankenstein" : "asimov";
      raw.send(Buffer.from(`${id} 1 BEAT * Beep state=${state}`));
    }
    await s.clock.run(10);
  }

  it("counts every member first, then a bounded table, with filters", async () => {
    const s = setup({ whoRows: 5 });
    await crowd(s, 2000);
    await s.sup.run("WHO", false);
    const who = s.texts("reply");
    expect(who[0]).toBe(
      "Members: 2,000; bots 2,000 (Asimov 1,800, Frankenstein 200, unknown 0); supervisors 0; ours 2,000, original 0",
    );
    expect(who).toHaveLength(1 + 1 + 5 + 1);
    expect(who.at(-1)).toBe("… and 1,995 more: narrow the list with filters (WHO frankenstein, WHO 8C*, WHO original)");
    s.lines.length = 0;
    await s.sup.run("WHO frankenstein 1000000*", false);
    expect(s.texts("reply")[1]).toBe("Matching: 2");
    expect(
      s
        .texts("reply")
        .slice(3)
        .map((l) => l.slice(0, 8)),
    ).toEqual(["10000000", "1000000A"]);
    s.lines.length = 0;
    await s.sup.run("WHO original", false);
    expect(s.texts("reply")[1]).toBe("Matching: 0");
  });

  it("refuses stray words", async () => {
    const s = setup();
    await s.sup.run("WHO is there", false);
    expect(s.texts("error")).toEqual([
      "WHO does not understand is: it takes asimov, frankenstein, unknown, supervisor, ours, original or an id prefix ending in * (WHO 8C*)",
    ]);
  });

  it("the roster is capped: the least recently heard are evicted and counted, and WHO says so", async () => {
    const s = setup({ maxMembers: 100 });
    const a = s.peer("AAAAAAAA");
    a.say("BEAT", "Beep");
    await s.clock.run(10);
    await crowd(s, 99);
    expect(s.sup.roster.evicted).toBe(0);
    a.say("BEAT", "Beep"); // heard again: now the most recently heard
    await s.clock.run(10);
    await crowd(s, 30, 0x20000000);
    expect(s.sup.roster.size).toBe(100);
    expect(s.sup.roster.evicted).toBe(30);
    expect(s.sup.roster.get("AAAAAAAA")).toBeDefined();
    expect(s.sup.roster.get("10000000")).toBeUndefined();
    expect(s.sup.roster.get("1000001E")).toBeDefined();
    await s.sup.run("WHO", false);
    expect(s.texts("reply")[0]).toBe("The roster is full (100 members): 30 least recently heard were dropped");
  });

  it("a supervisor that quits is aged out like a silent bot", async () => {
    const s = setup();
    s.peer("HUMAN-0001", "127.0.0.5").ch.send("PING", "*");
    await s.clock.run(10);
    expect(s.sup.roster.get("HUMAN-0001")).toBeDefined();
    await s.clock.run(HB * 1000 * 3 + 10);
    expect(s.sup.roster.get("HUMAN-0001")).toBeUndefined();
  });
});

describe("high message rates", () => {
  it("above summaryRate: one summary line a second instead of every message, said on screen; back below: every message", async () => {
    const s = setup({ summaryRate: 100 });
    const raw = s.net.endpoint("127.0.0.9");
    let seq = 0;
    const burst = async (n: number) => {
      seq++;
      for (let i = 0; i < n; i++)
        raw.send(Buffer.from(`${(0x20000000 + i).toString(16).toUpperCase()} ${seq} BEAT * Beep state=asimov`));
      await s.clock.run(1000);
    };
    await burst(150);
    expect(s.texts("notice")).toContain(
      "150 messages/s: too many to print one by one. Showing a summary each second; events, replies, uploads and errors are still printed",
    );
    const traffic = s.texts("traffic").length;
    await burst(150);
    await burst(150);
    expect(s.texts("traffic").length).toBe(traffic); // no more per-message lines
    expect(s.texts("summary").at(-1)).toBe(
      "Members 150 (+0 −0), 150 msg/s: BEAT 150; Asimov 150, Frankenstein 0, unknown 0",
    );
    await s.sup.run("WHO", false); // replies still come
    expect(s.texts("reply")[0]).toMatch(/^Members: 150;/);
    for (let i = 0; i < 5; i++) await burst(10);
    expect(s.texts("notice").at(-1)).toBe("10 messages/s: printing every message again");
    await burst(1);
    expect(s.texts("traffic").length).toBe(traffic + 1);
  });
});

describe("many joins a second", () => {
  it("beyond eventRate joins are counted on one line a second; members whose join was shown have their leave shown", async () => {
    const s = setup({ eventRate: 5, quiet: true });
    const raw = s.net.endpoint("127.0.0.9");
    for (let i = 0; i < 20; i++) raw.send(Buffer.from(`${(0x20000000 + i).toString(16).toUpperCase()} 1 BEAT * Beep`));
    await s.clock.run(1000);
    const events = s.texts("event");
    expect(events.slice(0, 5)).toEqual(
      [0, 1, 2, 3, 4].map((i) => `+ ${(0x20000000 + i).toString(16).toUpperCase()} joined`),
    );
    expect(events.slice(5)).toEqual([
      "+15 joined, −0 left in the last second, without a line each (over 5 joins a second)",
    ]);
    // All 20 go silent: the 5 announced leave with a line each, the other 15 on the count line.
    await s.clock.run(HB * 1000 * 4);
    const leaves = s.texts("event").slice(6);
    expect(leaves.filter((l) => l.startsWith("- "))).toEqual(
      [0, 1, 2, 3, 4].map((i) => `- ${(0x20000000 + i).toString(16).toUpperCase()} left (aged out)`),
    );
    expect(leaves.filter((l) => !l.startsWith("- "))).toEqual([
      "+0 joined, −15 left in the last second, without a line each (over 5 joins a second)",
    ]);
    expect(s.sup.roster.size).toBe(0);
  });

  it("eventRate 0 shows every join", async () => {
    const s = setup({ eventRate: 0, summaryRate: 0 });
    const raw = s.net.endpoint("127.0.0.9");
    for (let i = 0; i < 300; i++) raw.send(Buffer.from(`${(0x20000000 + i).toString(16).toUpperCase()} 1 BEAT * Beep`));
    await s.clock.run(1000);
    expect(s.texts("event").filter((l) => l.endsWith(" joined"))).toHaveLength(300);
  });
});

describe("-json", () => {
  it("one JSON object per line, with its data; upload content left out; safe on a terminal", () => {
    const at = new Date(Date.UTC(2025, 0, 2));
    const traffic: ViewLine = {
      kind: "traffic",
      text: "A 1 BEAT * x\\x1b",
      opcode: "BEAT",
      data: { sender: "A", words: ["x\x1b\u009b"] },
    };
    const json = renderJson(traffic, at) as string;
    expect(json).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
    expect(JSON.parse(json)).toEqual({
      time: "2025-01-02T00:00:00.000Z",
      kind: "traffic",
      text: "A 1 BEAT * x\\x1b",
      opcode: "BEAT",
      sender: "A",
      words: ["x\x1b\u009b"],
    });
    expect(renderJson({ kind: "upload", text: "line 2", more: true }, at)).toBeUndefined();
  });
});
