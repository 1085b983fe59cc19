/**
 * The real program: `node dnabot` processes on a 127.0.0.1 multicast group (a free port per
 * test), watched by a plain Channel, uploading to TCP listeners in the test.
 */
import { createWriteStream, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bodyOf, type ChanMessage } from "../../shared/codec.js";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { groupWatcher, type Started, startProgram } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const cleanups = cleanupsAfterEach();

interface Heard {
  msg: ChanMessage;
  at: number;
}

/** A supervisor-like observer on the group: a plain channel, no reliability layer. */
async function watch(port: number) {
  const { channel } = await groupWatcher(port, cleanups);
  const heard: Heard[] = [];
  channel.on("message", (msg) => heard.push({ msg, at: Date.now() }));
  return { channel, heard };
}

interface Bot extends Started {
  dir: string;
}

function spawnBot(args: string[], dir?: string): Bot {
  const cwd = dir ?? tempDir("dnabot-proc-").dir;
  const env = { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "" };
  return { ...startProgram("dnabot", args, { cwd, env, cleanups }), dir: cwd };
}

const from = (heard: Heard[], id: string, opcode?: string) =>
  heard.filter((h) => h.msg.sender === id && (opcode === undefined || h.msg.opcode === opcode));

/** The id of the first bot heard. */
async function botId(heard: Heard[]): Promise<string> {
  const first = await until("the bot's first BEAT", () => heard.find((h) => h.msg.opcode === "BEAT"));
  return first.msg.sender;
}

/** A TCP upload server: each connection's bytes, in order of arrival. */
async function uploadServer(): Promise<{ port: number; uploads: string[]; server: Server }> {
  const port = await freeTcpPort();
  const uploads: string[] = [];
  const server = createServer((sock: Socket) => {
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("end", () => uploads.push(Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port, uploads, server };
}

const common = (port: number) => [`-chanPort=${port}`, "-backoff=0.2", "-info"];

describe("dnabot process", () => {
  it("runs its lifespan on a 127.0.0.1 group: BEATs every heartbeat, then EXIT and status 0", async () => {
    const port = await freeUdpPort();
    const { heard } = await watch(port);
    const bot = spawnBot(["-fg", "-lifespan=3", "-heartbeat=0.5", "-discovery=0", ...common(port)]);
    const code = await bot.exited;
    expect(code).toBe(0);
    const id = await botId(heard);
    expect(id).toMatch(/^[0-9A-F]{8}$/);
    const beats = from(heard, id, "BEAT");
    expect(beats.length).toBeGreaterThanOrEqual(4);
    for (const b of beats) expect(b.msg.text).toMatch(/ BEAT \* Beep state=asimov prior=\d+$/);
    const exits = await until("EXIT", () => {
      const e = from(heard, id, "EXIT");
      return e.length > 0 ? e : undefined;
    });
    expect(exits.map((e) => bodyOf(e.msg))).toEqual(["EXIT * Offline state=asimov reason=lifespan"]);
    // EXIT is the last message in its sequence (the reliability layer may add unsequenced ones).
    expect(
      from(heard, id)
        .filter((h) => h.msg.seq > 0)
        .at(-1)?.msg.opcode,
    ).toBe("EXIT");
    // Sequence numbers from 1, one per message sent.
    const seqs = from(heard, id)
      .filter((h) => h.msg.seq > 0)
      .map((h) => h.msg.seq);
    expect(seqs[0]).toBe(1);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(bot.output()).toContain(`Bot ${id} activated`);
    expect(bot.output()).toContain("Lifespan reached");
    expect(readFileSync(join(bot.dir, "results.data"), "utf8")).toBe("");
  });

  it("uploads a file, a directory, 404, and 403 for ../ and an escaping symlink; SIGTERM → EXIT, 0", async () => {
    const port = await freeUdpPort();
    const { channel, heard } = await watch(port);
    const { port: tcp, uploads } = await uploadServer();
    const { dir } = tempDir("dnabot-proc-");
    const outside = tempDir("dnabot-outside-");
    cleanups.push(outside.cleanup);
    writeFileSync(join(outside.dir, "secret"), "not yours\n");
    writeFileSync(join(dir, "notes.txt"), "line one   \r\nline two\n");
    mkdirSync(join(dir, "sub"));
    writeFileSync(join(dir, "sub", "b"), "");
    writeFileSync(join(dir, "sub", "a"), "");
    symlinkSync(join(outside.dir, "secret"), join(dir, "link"));
    const bot = spawnBot(["-fg", "-lifespan=60", "-heartbeat=1", "-discovery=0", ...common(port)], dir);
    const id = await botId(heard);
    const cases: [string, string][] = [
      ["notes.txt", `200 ${id}:notes.txt\nline one\nline two\n`],
      ["sub", `200 ${id}:sub\na\nb\n`],
      ["nothing.here", `404 No resource ${id}:nothing.here\n`],
      ["../../etc/passwd", `403 Forbidden ${id}:../../etc/passwd\n`],
      ["link", `403 Forbidden ${id}:link\n`],
    ];
    for (const [i, [resource, expected]] of cases.entries()) {
      channel.send("UPLD", id, [resource, `port=${tcp}`]);
      await until(`upload of ${resource}`, () => uploads.length > i);
      expect(uploads[i]).toBe(expected);
    }
    bot.proc.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
    const exit = await until("EXIT", () => from(heard, id, "EXIT")[0]);
    expect(bodyOf(exit.msg)).toBe("EXIT * Offline state=asimov reason=signal");
  });

  it("KILL: empties the results file, sends EXIT reason=killed and exits 255", async () => {
    const port = await freeUdpPort();
    const { channel, heard } = await watch(port);
    const bot = spawnBot(["-fg", "-lifespan=60", "-heartbeat=1", "-discovery=1", "-frankenstein=0", ...common(port)]);
    const id = await botId(heard);
    await until("a discovery", () => from(heard, id, "NEWS").length >= 2);
    const results = join(bot.dir, "results.data");
    expect(readFileSync(results, "utf8").split("\n").length).toBeGreaterThanOrEqual(2);
    channel.send("KILL", id);
    expect(await bot.exited).toBe(255);
    expect(readFileSync(results, "utf8")).toBe("");
    const exit = await until("EXIT", () => from(heard, id, "EXIT")[0]);
    expect(exit.msg.tags).toEqual({ state: "asimov", reason: "killed" });
  });

  it("takes a new id when another peer sends with its id", async () => {
    const port = await freeUdpPort();
    const { heard } = await watch(port);
    const bot = spawnBot(["-fg", "-lifespan=60", "-heartbeat=0.5", "-discovery=0", ...common(port)]);
    const id = await botId(heard);
    const twin = await watch(port);
    twin.channel.rename(id);
    twin.channel.send("BEAT", "*", ["Beep"]);
    const renamed = await until("a BEAT under a new id", () =>
      heard.find((h) => h.msg.opcode === "BEAT" && h.msg.sender !== id && /^[0-9A-F]{8}$/.test(h.msg.sender)),
    );
    expect(renamed.msg.seq).toBeGreaterThan(1);
    expect(bot.output()).toMatch(
      new RegExp(`Name collision: ${id} is also used by 127.0.0.1, now ${renamed.msg.sender}`),
    );
    bot.proc.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
  });

  it("a French bot sends Bip and Hors ligne", async () => {
    const port = await freeUdpPort();
    const { heard } = await watch(port);
    const bot = spawnBot(["-fg", "-lang=fr", "-lifespan=1", "-heartbeat=0.5", "-discovery=0", ...common(port)]);
    expect(await bot.exited).toBe(0);
    const id = await botId(heard);
    expect(from(heard, id, "BEAT")[0]?.msg.text).toBe(`${id} 1 BEAT * Bip state=asimov prior=0`);
    const exit = await until("EXIT", () => from(heard, id, "EXIT")[0]);
    expect(bodyOf(exit.msg)).toBe("EXIT * Hors ligne state=asimov reason=lifespan");
    expect(bot.output()).toContain(`Bot ${id} activé`);
  });

  it("the same -seed gives the same id", async () => {
    const port = await freeUdpPort();
    const { heard } = await watch(port);
    const a = spawnBot(["-fg", "-seed=1234", "-lifespan=0.5", ...common(port)]);
    expect(await a.exited).toBe(0);
    const first = await botId(heard);
    heard.length = 0;
    const b = spawnBot(["-fg", "-seed=1234", "-lifespan=0.5", ...common(port)]);
    expect(await b.exited).toBe(0);
    expect(await botId(heard)).toBe(first);
  });

  it("fatal start-up problems: one clear line and status 1", async () => {
    const port = await freeUdpPort();
    const noDir = spawnBot(["-fg", "-results=no/such/dir/results.data", `-chanPort=${port}`]);
    expect(await noDir.exited).toBe(1);
    expect(noDir.output()).toMatch(/cannot create results file no\/such\/dir\/results.data/);
    // An interface address this host does not have: joining fails before anything is sent.
    const badIface = spawnBot(["-fg", "-chanIface=192.0.2.1", `-chanPort=${port}`]);
    expect(await badIface.exited).toBe(1);
    expect(badIface.output()).toMatch(/cannot join the group 239.1.2.4 port/);
  });

  it("streams a 100 MB file: it arrives complete, line by line", async () => {
    const port = await freeUdpPort();
    const { channel, heard } = await watch(port);
    const { dir } = tempDir("dnabot-big-");
    const lines = 1_000_000;
    const line = `${"0123456789".repeat(10)}  `; // 102 bytes + \n; trailing spaces are stripped
    await new Promise<void>((resolve, reject) => {
      const ws = createWriteStream(join(dir, "big.data"));
      ws.on("error", reject);
      const block = `${line}\n`.repeat(10_000);
      for (let i = 0; i < lines / 10_000; i++) ws.write(block);
      ws.end(resolve);
    });
    const tcp = await freeTcpPort();
    let bytes = 0;
    let newlines = 0;
    let head = "";
    const done = new Promise<void>((resolve) => {
      const server = createServer((sock) => {
        sock.on("data", (c: Buffer) => {
          if (head.length < 200) head += c.subarray(0, 200).toString();
          bytes += c.length;
          for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) newlines++;
        });
        sock.on("end", () => resolve());
      });
      server.listen(tcp, "127.0.0.1");
      cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    });
    const bot = spawnBot(["-fg", "-lifespan=120", "-heartbeat=1", "-discovery=0", ...common(port)], dir);
    const id = await botId(heard);
    channel.send("UPLD", id, ["big.data", `port=${tcp}`]);
    await done;
    const status = `200 ${id}:big.data\n`;
    expect(head.startsWith(`${status}${"0123456789".repeat(10)}\n`)).toBe(true);
    expect(newlines).toBe(lines + 1);
    expect(bytes).toBe(status.length + lines * 101);
    // Peak resident memory of the bot process, for the report (Linux only).
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${bot.proc.pid}/status`, "utf8"))?.[1];
    console.log(`dnabot peak RSS (VmHWM) after a 100 MB upload: ${hwm} kB`);
    // Flat memory: an idle bot peaks near 60 MB; holding the file would add over 100 MB.
    expect(Number(hwm)).toBeLessThan(150_000);
    bot.proc.kill("SIGTERM");
    expect(await bot.exited).toBe(0);
  }, 60_000);
});
