/**
 * The web view without a browser: the roster and supervisor hooks it listens to, the model's
 * batching and bounds, roster queries, and the server's refusals (token, host, origin, KILL *
 * without confirmation), headers, event stream and limits over real HTTP on 127.0.0.1.
 */
import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { Channel } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { BOT_OPCODES, COMMAND_OPCODES } from "../../shared/protocol.js";
import { type Member, Roster, type RosterNotice } from "../../supervisor/roster.js";
import { Supervisor } from "../../supervisor/supervisor.js";
import type { Upload } from "../../supervisor/upload_server.js";
import type { ViewLine } from "../../supervisor/watch.js";
import { BATCH_TIMELINE, parseRosterQuery, queryRoster, WebModel } from "../../supervisor/web/model.js";
import { KILL_ALL_CONFIRM, type WebServer } from "../../supervisor/web/server.js";
import { DEFAULT_WEB_PORT, parseWebSetting, startWebView, type WebView } from "../../supervisor/web/view.js";
import { type Batch, CHART_OPCODES, type Hello, type RosterPage } from "../../supervisor/web/wire.js";
import { until } from "../helpers/until.js";

function setup() {
  const net = new MemoryNetwork();
  const clock = new ManualClock(1_000_000);
  const supChannel = new Channel(net.endpoint("127.0.0.1"), { id: "HUMAN-beef" });
  const lines: ViewLine[] = [];
  const sup = new Supervisor({
    channel: supChannel,
    clock,
    heartbeat: 1,
    backoff: 0.5,
    results: "results.data",
    pktSize: 1024,
    uploadPort: 8123,
    sink: (l) => lines.push(l),
  });
  sup.start();
  const peer = (id: string) => {
    const ch = new Channel(net.endpoint("127.0.0.2"), { id });
    const got: string[] = [];
    ch.on("message", (m) => got.push(m.text));
    return { ch, got, say: (opcode: string, ...args: string[]) => ch.send(opcode, "*", args) };
  };
  return { net, clock, sup, supChannel, lines, peer };
}

function upload(over: Partial<Upload> = {}): Upload {
  const data = Buffer.from("200 3F2A91BC:results.data\nline one\n");
  return {
    from: { address: "127.0.0.2", port: 5000 },
    head: data,
    bytes: data.length,
    lines: 2,
    status: "200 3F2A91BC:results.data",
    code: 200,
    botId: "3F2A91BC",
    file: "results.data",
    truncated: false,
    timedOut: false,
    savedAs: undefined,
    saveError: undefined,
    ...over,
  };
}

const noCounters = () => ({ repaired: 0, invalid: 0, control: 0, uploadsInProgress: 0 });

describe("hooks in the roster and the supervisor", () => {
  it("the roster tells joins, Frankenstein turns and leaves with their reason", async () => {
    const s = setup();
    const heard: RosterNotice[] = [];
    s.sup.roster.subscribe((n) => heard.push(n));
    const bot = s.peer("3F2A91BC");
    bot.say("BEAT", "Beep", "state=asimov");
    bot.say("BEAT", "Beep", "state=frankenstein");
    bot.say("EXIT", "Bye", "state=frankenstein", "reason=killed");
    await s.clock.run(10);
    expect(heard.map((n) => (n.kind === "state" ? `state ${n.from}>${n.to}` : n.kind))).toEqual([
      "joined",
      "state asimov>frankenstein",
      "left",
    ]);
    const left = heard[2];
    expect(left?.kind === "left" && left.reason).toBe("killed");
  });

  it("command() sends a typed command and tells listeners; local commands and bad ids are refused", async () => {
    const s = setup();
    const bot = s.peer("3F2A91BC");
    bot.say("BEAT", "Beep", "state=asimov");
    await s.clock.run(10);
    const sent: string[] = [];
    s.sup.onSent((op, dest) => sent.push(`${op} ${dest}`));
    expect(s.sup.command("KILL 3f2a91bc")).toEqual({ seq: 1 });
    expect(s.sup.command("WHO")).toHaveProperty("error");
    expect(s.sup.command("PING not an id")).toHaveProperty("error");
    await s.clock.run(10);
    expect(sent).toEqual(["KILL 3F2A91BC"]);
    expect(bot.got).toEqual(["HUMAN-beef 1 KILL 3F2A91BC"]);
  });
});

describe("web model", () => {
  it("charts the protocol's bot and command opcodes one by one (wire.ts repeats them for the page)", () => {
    expect([...CHART_OPCODES]).toEqual([...BOT_OPCODES, ...COMMAND_OPCODES]);
  });

  it("carries the uploads under way in every batch and in a late page's snapshot", () => {
    const s = setup();
    let uploading = [{ from: "127.0.0.2", botId: "3F2A91BC", file: "results.data", bytes: 4096 }];
    const model = new WebModel({
      clock: s.clock,
      roster: s.sup.roster,
      counters: () => ({ repaired: 0, invalid: 0, control: 0, uploadsInProgress: uploading.length }),
      uploading: () => uploading,
    });
    expect(model.flush().uploading).toEqual(uploading);
    expect(model.snapshot().uploading).toEqual(uploading);
    uploading = [];
    expect(model.flush().uploading).toEqual([]);
    const none = new WebModel({ clock: s.clock, roster: s.sup.roster, counters: noCounters });
    expect(none.flush().uploading).toEqual([]);
  });

  it("folds any number of messages into one batch per interval, by opcode", async () => {
    const s = setup();
    let repaired = 0;
    const model = new WebModel({
      clock: s.clock,
      roster: s.sup.roster,
      counters: () => ({ repaired, invalid: 0, control: 0, uploadsInProgress: 2 }),
    });
    s.supChannel.on("message", (m) => model.message(m));
    s.sup.roster.subscribe((n) => model.roster(n));
    const bot = s.peer("3F2A91BC");
    for (let i = 0; i < 1000; i++) bot.say("BEAT", "Beep", "state=asimov");
    bot.say("NEWS", "Found", "state=asimov");
    bot.say("ZZZZ", "from", "the", "original");
    await s.clock.run(20);
    repaired = 7;
    const b = model.flush();
    expect(b.point.messages).toBe(1002);
    expect(b.point.byOpcode).toMatchObject({ BEAT: 1000, NEWS: 1, other: 1 });
    expect(b.point.repaired).toBe(7);
    expect(b.point.joins).toBe(1);
    expect(b.counts).toMatchObject({ members: 1, bots: 1, asimov: 1, ours: 1 });
    expect(b.uploadsInProgress).toBe(2);
    expect(b.timeline.map((e) => `${e.kind} ${e.id}`)).toEqual(["join 3F2A91BC"]);
    // The next interval starts from zero, and counters count from the last batch.
    const next = model.flush();
    expect(next.point.messages).toBe(0);
    expect(next.point.repaired).toBe(0);
    expect(next.timeline).toEqual([]);
  });

  it("keeps the timeline, the uploads and the history bounded, and counts what it forgot", () => {
    const clock = new ManualClock(0);
    const model = new WebModel({
      clock,
      roster: new Roster({ ageOutMs: 1000, selfId: () => "HUMAN" }),
      counters: noCounters,
      maxTimeline: 10,
      maxUploads: 3,
      historyPoints: 5,
    });
    for (let i = 0; i < 100; i++) model.kill(`B${i}`, "HUMAN");
    for (let i = 0; i < 10; i++) model.upload(upload());
    for (let i = 0; i < 20; i++) model.flush();
    const snap = model.snapshot();
    expect(snap.timeline).toHaveLength(10);
    expect(snap.timeline.at(-1)?.id).toBe("B99");
    expect(snap.uploads.map((u) => u.n)).toEqual([8, 9, 10]);
    expect(snap.history).toHaveLength(5);
    expect(model.uploadView(1)).toBeUndefined();
    const b = model.flush();
    expect(b.dropped).toEqual({ timeline: 90, uploads: 7 });
  });

  it("sends at most BATCH_TIMELINE timeline entries in one batch, the newest", () => {
    const model = new WebModel({
      clock: new ManualClock(0),
      roster: new Roster({ ageOutMs: 1000, selfId: () => "HUMAN" }),
      counters: noCounters,
    });
    for (let i = 0; i < 3000; i++) model.kill(`B${i}`, "HUMAN");
    const b = model.flush();
    expect(b.timeline).toHaveLength(BATCH_TIMELINE);
    expect(b.timeline.at(-1)?.id).toBe("B2999");
    expect(model.snapshot().timeline).toHaveLength(500);
  });

  it("makes hostile upload text printable and keeps only the beginning for the page", () => {
    const model = new WebModel({
      clock: new ManualClock(0),
      roster: new Roster({ ageOutMs: 1000, selfId: () => "HUMAN" }),
      counters: noCounters,
      maxUploadView: 50,
    });
    const evil = "200 X:f\n<script>alert(1)</script>\x1b[2J\u202eevil\n".padEnd(100, "z");
    model.upload(upload({ head: Buffer.from(evil), bytes: Buffer.byteLength(evil), botId: "X", file: "f\x1b" }));
    const v = model.uploadView(1);
    expect(v?.file).toBe("f\\x1b");
    expect(v?.lines[1]).toBe("<script>alert(1)</script>\\x1b[2J\\u202eevil");
    expect(v?.cut).toBe(true);
    expect(v?.bytes).toBe(Buffer.byteLength(evil));
  });
});

describe("the -web setting", () => {
  it("is off by default, the default port alone, a port, or one clear problem", () => {
    expect(parseWebSetting("off")).toEqual({ port: undefined });
    expect(parseWebSetting("")).toEqual({ port: DEFAULT_WEB_PORT });
    expect(parseWebSetting("0")).toEqual({ port: 0 });
    expect(parseWebSetting("8080")).toEqual({ port: 8080 });
    for (const bad of ["65536", "-1", "http", "80 81"]) expect(parseWebSetting(bad)).toHaveProperty("problem");
  });
});

describe("roster queries", () => {
  const member = (i: number, over: Partial<Member> = {}): Member => ({
    id: i.toString(16).toUpperCase().padStart(8, "0"),
    kind: "bot",
    address: "127.0.0.1",
    port: 40000 + i,
    firstHeard: 0,
    lastHeard: i,
    state: i % 10 === 0 ? "frankenstein" : "asimov",
    discoveries: i % 3,
    messages: i,
    ours: i % 2 === 0,
    ...over,
  });
  const members = Array.from({ length: 10_000 }, (_, i) => member(i));

  it("filters by state, id and program, sorts, and returns one page", () => {
    const q = parseRosterQuery(new URLSearchParams("state=frankenstein&program=ours&sort=messages&desc=1&limit=5"));
    const page = queryRoster(members, q, 20_000);
    expect(page.all).toBe(10_000);
    expect(page.total).toBe(1000);
    expect(page.rows.map((r) => r.messages)).toEqual([9990, 9980, 9970, 9960, 9950]);
    expect(page.rows[0]?.silentMs).toBe(20_000 - 9990);
    const byId = queryRoster(members, parseRosterQuery(new URLSearchParams("id=0000ff0&offset=0")), 0);
    expect(byId.rows.map((r) => r.id)).toEqual(["00000FF0"]);
  });

  it("takes defaults for anything unknown and caps the page size", () => {
    const q = parseRosterQuery(new URLSearchParams("sort=__proto__&state=<b>&limit=99999&offset=-3"));
    expect(q).toMatchObject({ sort: "id", state: "", limit: 500, offset: 0 });
    expect(queryRoster(members, q, 0).rows).toHaveLength(500);
  });
});

// ---- over HTTP ----

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function http(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: opts.method ?? "GET", headers: opts.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
        );
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Read server-sent events from a stream until `count` events have come (or the stream ends). */
function events(port: number, token: string, onEvent: (name: string, data: string) => void) {
  const req = request({ host: "127.0.0.1", port, path: `/api/events?token=${token}` }, (res) => {
    let buf = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buf += chunk;
      for (let i = buf.indexOf("\n\n"); i >= 0; i = buf.indexOf("\n\n")) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const name = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (name && data) onEvent(name, data);
      }
    });
  });
  req.on("error", () => {});
  req.end();
  return req;
}

describe("web server", () => {
  let view: WebView | undefined;
  afterEach(async () => {
    await view?.close();
    view = undefined;
  });

  async function serve(s = setup()) {
    const uploads = Object.assign(new (await import("node:events")).EventEmitter(), {
      inProgress: 0,
      active: () => [],
    }) as unknown as Parameters<typeof startWebView>[0]["uploads"];
    view = await startWebView({
      supervisor: s.sup,
      channel: s.supChannel,
      uploads,
      clock: s.clock,
      host: "127.0.0.1",
      port: 0,
      lang: "en",
      about: { id: "HUMAN-beef", group: "239.1.2.4", port: 8421 },
      token: "secret-token",
    });
    return { ...s, port: view.server.port, token: "secret-token", uploads };
  }

  it("serves the page with a strict Content-Security-Policy and no data in it", async () => {
    const w = await serve();
    const r = await http(w.port, "/");
    expect(r.status).toBe(200);
    const csp = String(r.headers["content-security-policy"]);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    expect(r.headers["x-content-type-options"]).toBe("nosniff");
    expect(r.body).not.toMatch(/<script>|<style>|\sstyle="|\son\w+="/);
    expect((await http(w.port, "/vendor/uPlot.iife.min.js")).status).toBe(200);
    const fr = JSON.parse((await http(w.port, "/api/i18n?lang=fr")).body) as { strings: Record<string, string> };
    expect(fr.strings.Members).toBe("Membres");
  });

  it("refuses data and commands without the right token, and commands from another origin or host", async () => {
    const w = await serve();
    const bot = w.peer("3F2A91BC");
    bot.say("BEAT", "Beep", "state=asimov");
    await w.clock.run(10);
    const cmd = (headers: Record<string, string>, body: unknown = { opcode: "KILL", dests: ["3F2A91BC"] }) =>
      http(w.port, "/api/command", {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify(body),
      });
    expect((await http(w.port, "/api/roster")).status).toBe(401);
    expect((await http(w.port, "/api/roster?token=wrong")).status).toBe(401);
    expect((await http(w.port, "/api/events")).status).toBe(401);
    expect((await cmd({})).status).toBe(401);
    expect((await cmd({ "X-Token": "secret-tokeN" })).status).toBe(401);
    expect((await cmd({ "X-Token": w.token, Origin: "http://evil.example" })).status).toBe(403);
    expect((await http(w.port, `/api/roster?token=${w.token}`, { headers: { Host: "evil.example" } })).status).toBe(
      403,
    );
    await w.clock.run(10);
    expect(bot.got).toEqual([]);
    const ok = await cmd({ "X-Token": w.token, Origin: `http://127.0.0.1:${w.port}` });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toEqual({ outcomes: [{ dest: "3F2A91BC", seq: 1 }] });
    await w.clock.run(10);
    expect(bot.got).toEqual(["HUMAN-beef 1 KILL 3F2A91BC"]);
  });

  it("sends KILL * only with its confirmation, and checks every destination", async () => {
    const w = await serve();
    const srv = view?.server as WebServer;
    expect(srv.runCommand({ opcode: "KILL", dests: ["*"] })).toMatchObject({ status: 409 });
    expect(srv.runCommand({ opcode: "KILL", dests: ["*"], confirm: KILL_ALL_CONFIRM })).toEqual({
      outcomes: [{ dest: "*", seq: 1 }],
    });
    expect(srv.runCommand({ opcode: "WHO", dests: ["*"] })).toMatchObject({ status: 400 });
    expect(srv.runCommand({ opcode: "PING", dests: ["*", "3F2A91BC"] })).toMatchObject({ status: 400 });
    expect(srv.runCommand({ opcode: "PING", dests: ["<img src=x>"] })).toMatchObject({ status: 400 });
    expect(srv.runCommand({ opcode: "PING", dests: Array(1001).fill("AB") })).toMatchObject({ status: 400 });
    expect(srv.runCommand({ opcode: "UPLD", dests: ["AB"], file: "a b" })).toMatchObject({ status: 400 });
    expect(srv.runCommand({ opcode: "UPLD", dests: ["AB", "CD"], file: "x.txt" })).toEqual({
      outcomes: [
        { dest: "AB", seq: 2 },
        { dest: "CD", seq: 3 },
      ],
    });
    await w.clock.run(10);
  });

  it("streams one batch per interval however many messages arrive, starting with a snapshot", async () => {
    const w = await serve();
    const got: Array<[string, string]> = [];
    const req = events(w.port, w.token, (name, data) => got.push([name, data]));
    try {
      await until("a first event", () => got.length > 0, 5000);
      expect(got[0]?.[0]).toBe("hello");
      expect((JSON.parse(got[0]?.[1] ?? "{}") as Hello).about.id).toBe("HUMAN-beef");
      const bot = w.peer("3F2A91BC");
      for (let i = 0; i < 1000; i++) bot.say("BEAT", "Beep", "state=asimov");
      await w.clock.run(2000, 50); // 2 s of batches at 500 ms
      await until("5 events", () => got.length >= 5, 5000);
      await new Promise((r) => setTimeout(r, 100));
      const batches = got.filter(([n]) => n === "batch").map(([, d]) => JSON.parse(d) as Batch);
      expect(batches).toHaveLength(4);
      expect(batches.reduce((a, b) => a + b.point.messages, 0)).toBe(1000);
      const roster = JSON.parse((await http(w.port, `/api/roster?token=${w.token}`)).body) as RosterPage;
      expect(roster.rows.map((r) => r.id)).toEqual(["3F2A91BC"]);
    } finally {
      req.destroy();
    }
  });

  it("counts the uploads received and refused by the upload server", async () => {
    const w = await serve();
    const emitter = w.uploads as unknown as import("node:events").EventEmitter;
    emitter.emit("refused", { from: { address: "127.0.0.9", port: 1 }, reason: "unexpected" });
    emitter.emit("upload", upload());
    const b = view?.model.flush();
    expect(b?.uploadsRefused).toBe(1);
    expect(b?.uploads.map((u) => u.botId)).toEqual(["3F2A91BC"]);
    const r = await http(w.port, `/api/uploads/1?token=${w.token}`);
    expect(JSON.parse(r.body).lines).toEqual(["200 3F2A91BC:results.data", "line one"]);
  });

  it("limits the number of open streams", async () => {
    const w = await serve();
    const reqs = Array.from({ length: 8 }, () => events(w.port, w.token, () => {}));
    try {
      await until("8 streams", () => view?.server.streamCount === 8, 5000);
      expect((await http(w.port, `/api/events?token=${w.token}`)).status).toBe(503);
    } finally {
      for (const r of reqs) r.destroy();
    }
  });
});
