/**
 * The real program: `node supervisor` with piped commands on a 127.0.0.1 multicast group (free
 * ports per test), with real `node dnabot` processes and with bots simulated by the test
 * (a raw transport on the group and TCP clients).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeLine, parseDatagram, parseLine } from "../../shared/codec.js";
import { loadConfig } from "../../shared/config.js";
import { udpTransportFor } from "../../shared/open.js";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { type Started, startProgram } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

const cleanups = cleanupsAfterEach();

const ENV = { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" };

interface Proc extends Started {
  dir: string;
}

function start(program: "dnabot" | "supervisor", args: string[], opts: { dir?: string; stdin?: string } = {}): Proc {
  const dir = opts.dir ?? tempDir(`${program}-proc-`).dir;
  return { ...startProgram(program, args, { cwd: dir, env: ENV, cleanups, stdin: "pipe", input: opts.stdin }), dir };
}

/** Raw access to the group: send lines, see what others send. */
async function group(port: number) {
  const config = loadConfig({ overrides: { chanPort: String(port) }, readFile: () => undefined }).config;
  const transport = udpTransportFor(config);
  await transport.ready();
  const heard: { text: string; address: string }[] = [];
  transport.on("datagram", (bytes, source) => {
    const r = parseDatagram(bytes);
    if (r.ok) heard.push({ text: r.msg.text, address: source.address });
  });
  cleanups.push(() => transport.close());
  return { transport, heard, send: (line: string) => transport.send(encodeLine(line)) };
}

const botArgs = (chanPort: number, filePort: number) => [
  `-chanPort=${chanPort}`,
  `-filePort=${filePort}`,
  "-heartbeat=1",
  "-backoff=0.3",
  "-lifespan=60",
  "-discovery=0",
];
const supArgs = (chanPort: number, filePort: number, ...more: string[]) => [
  `-chanPort=${chanPort}`,
  `-filePort=${filePort}`,
  "-heartbeat=1",
  "-backoff=0.3",
  "-uploadWait=10",
  ...more,
];

/** Start n real bots and wait until each has been heard. Returns their ids. */
async function bots(n: number, chanPort: number, filePort: number): Promise<{ ids: string[]; procs: Proc[] }> {
  const g = await group(chanPort);
  const procs = Array.from({ length: n }, () => start("dnabot", botArgs(chanPort, filePort)));
  const ids = await until(`${n} bots beating`, () => {
    const seen = new Set(g.heard.filter((h) => / BEAT /.test(h.text)).map((h) => h.text.split(" ")[0] as string));
    return seen.size >= n ? [...seen].sort() : undefined;
  });
  return { ids, procs };
}

// Real processes on a shared 2-core machine: generous limits, never assertions on speed.
describe("supervisor process", { timeout: 90_000 }, () => {
  it("printf 'PING *\\nUPLD *\\n' | node supervisor: every bot's BEAT and upload, then exit 0", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const { ids } = await bots(3, chanPort, filePort);
    const sup = start("supervisor", supArgs(chanPort, filePort), { stdin: "PING *\nUPLD *\n" });
    expect(await sup.exited).toBe(0);
    const out = sup.stdout();
    const lines = out.split("\n");
    expect(lines).toContain(`HUMAN-${lines[0]?.match(/HUMAN-([0-9a-f]{4})/)?.[1]} 1 PING *`);
    expect(out).toMatch(new RegExp(`HUMAN-[0-9a-f]{4} 2 UPLD \\* results\\.data port=${filePort}\\n`));
    for (const id of ids) {
      expect(lines.some((l) => new RegExp(`^${id} \\d+ BEAT \\* Beep state=asimov$`).test(l))).toBe(true);
      expect(lines).toContain(`+ ${id} joined`);
      // The bots start with an empty results file: a status line alone, then EOF.
      const at = lines.indexOf(`200 ${id}:results.data`);
      expect(at).toBeGreaterThan(0);
      expect(lines[at + 1]).toBe("EOF");
      expect(readFileSync(join(sup.dir, "uploads", `${id}_results.data`), "utf8")).toBe(`200 ${id}:results.data\n`);
    }
    expect(readdirSync(join(sup.dir, "uploads"))).toHaveLength(3);
  });

  it("KILL * removes every bot from the roster; the bots exit 255", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const { ids, procs } = await bots(2, chanPort, filePort);
    const sup = start("supervisor", supArgs(chanPort, filePort), {
      stdin: "WAIT 1.5\nwho\nKILL *\nWAIT 1\nWHO\n",
    });
    expect(await sup.exited).toBe(0);
    for (const p of procs) expect(await p.exited).toBe(255);
    const out = sup.stdout();
    const [before, after] = out.split(/HUMAN-[0-9a-f]{4} 1 KILL \*\n/);
    for (const id of ids) {
      expect(before).toMatch(new RegExp(`^${id} +127\\.0\\.0\\.1 +\\d+ +\\d+s ago +Asimov +0 +ours$`, "m"));
      expect(after).toMatch(new RegExp(`^${id} \\d+ EXIT \\* Offline state=asimov reason=killed$`, "m"));
      expect(after).toContain(`- ${id} left (killed)`);
    }
    expect(before).toContain("Members: 2; bots 2 (Asimov 2, Frankenstein 0, unknown 0); supervisors 0");
    expect(after).toContain("No members heard yet.");
    expect(after?.trimEnd().split("\n").at(-1)).toBe("KILL *: 2 of 2 left");
  });

  it("two supervisors with the same filePort both get their uploads", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const { ids } = await bots(1, chanPort, filePort);
    const a = start("supervisor", supArgs(chanPort, filePort), { stdin: "WAIT 2\nUPLD *\n" });
    await until("supervisor A started", () => a.stdout().includes("uploads to"));
    const b = start("supervisor", supArgs(chanPort, filePort), { stdin: "WAIT 1\nUPLD *\n" });
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(b.stdout()).toMatch(new RegExp(`Upload port ${filePort} is taken: uploads come to port \\d+`));
    const id = ids[0] as string;
    for (const s of [a, b]) {
      expect(s.stdout()).toContain(`200 ${id}:results.data\nEOF\n`);
      expect(existsSync(join(s.dir, "uploads", `${id}_results.data`))).toBe(true);
    }
  });

  it("50 simultaneous uploads all arrive complete (simulated bots)", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const g = await group(chanPort);
    const ids = Array.from({ length: 50 }, (_, i) => (0xa0000000 + i).toString(16).toUpperCase());
    // The simulated bots beat, so the supervisor knows whom to wait for.
    let seq = 0;
    const beat = setInterval(() => {
      seq++;
      for (const id of ids) g.send(`${id} ${seq} BEAT * Beep state=asimov`);
    }, 200);
    cleanups.push(() => clearInterval(beat));
    const sup = start("supervisor", supArgs(chanPort, filePort, "-quiet"), { stdin: "WAIT 1\nUPLD *\n" });
    const upld = await until("the UPLD", () => g.heard.find((h) => / UPLD \* /.test(h.text)));
    const r = parseLine(upld.text);
    if (!r.ok) throw new Error(`unparsable UPLD: ${upld.text}`);
    const { words, tags } = r.msg;
    expect(words).toEqual(["results.data"]);
    const port = Number(tags.port);
    expect(port).toBe(filePort);
    const content = (id: string) =>
      `200 ${id}:results.data\n${Array.from({ length: 2000 }, (_, k) => `${id} result ${k}`).join("\n")}\n`;
    // All at once, each in several writes.
    await Promise.all(
      ids.map(
        (id) =>
          new Promise<void>((resolve, reject) => {
            const sock = connect({ port, host: upld.address }, () => {
              const text = content(id);
              const half = Math.floor(text.length / 2);
              sock.write(text.slice(0, half));
              setTimeout(() => sock.end(text.slice(half)), 20);
            });
            sock.on("error", reject);
            sock.on("close", () => resolve());
          }),
      ),
    );
    expect(await sup.exited).toBe(0);
    const out = sup.stdout();
    // -quiet: no traffic lines, but every upload: its first 200 lines and how much more came;
    // the file holds it all.
    expect(out).not.toMatch(/ BEAT \* /);
    for (const id of ids) {
      const head = content(id).split("\n").slice(0, 200).join("\n");
      expect(out).toContain(
        `${head}\n(… 1,801 more lines not shown, ${Buffer.byteLength(content(id)).toLocaleString("en")} bytes in all)`,
      );
      expect(readFileSync(join(sup.dir, "uploads", `${id}_results.data`), "utf8")).toBe(content(id));
    }
  });

  it("writes valid traffic to the access log and malformed datagrams to the error log, and keeps going", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const g = await group(chanPort);
    const sup = start("supervisor", supArgs(chanPort, filePort, "-accessLog=access.log", "-errorLog=errors.log"), {
      stdin: "WAIT 1.5\nPING *\n",
    });
    await until("supervisor started", () => sup.stdout().includes("uploads to"));
    g.transport.send(Buffer.from("this is not a message"));
    g.transport.send(Buffer.from([0xde, 0xad, 0xbe, 0xef]));
    g.send("AB12CD34 1 BEAT * Beep state=asimov");
    expect(await sup.exited).toBe(0);
    const source = g.transport.localSource();
    const access = readFileSync(join(sup.dir, "access.log"), "utf8");
    expect(access).toMatch(
      new RegExp(
        `^\\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z 127\\.0\\.0\\.1:${source?.port} AB12CD34 1 BEAT \\* Beep state=asimov$`,
        "m",
      ),
    );
    expect(access).toMatch(/ sent HUMAN-[0-9a-f]{4} 1 PING \*$/m);
    const errors = readFileSync(join(sup.dir, "errors.log"), "utf8").trim().split("\n");
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(new RegExp(`127\\.0\\.0\\.1:${source?.port} bad-seq "this is not a message"$`));
    expect(errors[1]).toContain(" too-few-fields ");
    expect(sup.stdout()).toContain("AB12CD34 1 BEAT * Beep state=asimov");
    expect(sup.stdout()).not.toContain("not a message");
  });

  it("SIGINT leaves the group and exits 130, as a program stopped by Ctrl-C does", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const sup = start("supervisor", supArgs(chanPort, filePort));
    await until("supervisor started", () => sup.stdout().includes("uploads to"));
    sup.proc.kill("SIGINT");
    expect(await sup.exited).toBe(130);
  });

  it("a transport that cannot open: one clear line, exit 1; a config mistake: exit 2", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    // 192.0.2.1 (TEST-NET-1) is no interface of ours: binding to it fails, nothing is sent.
    const bad = start("supervisor", supArgs(chanPort, filePort, "-chanIface=192.0.2.1"), { stdin: "" });
    expect(await bad.exited).toBe(1);
    expect(bad.stderr().trim().split("\n")).toHaveLength(1);
    expect(bad.stderr()).toMatch(/^supervisor: cannot (listen for uploads|join the group)/);
    const cfg = start("supervisor", supArgs(chanPort, filePort, "-uploadWait=soon"), { stdin: "" });
    expect(await cfg.exited).toBe(2);
    expect(cfg.stderr().trim()).toBe('supervisor: bad configuration uploadWait="soon" (command line): not a number');
  });

  it("a piped script exits 3 when a line was refused, 4 when an upload asked for never came; -json prints one object per line", async () => {
    const chanPort = await freeUdpPort();
    const filePort = await freeTcpPort();
    const g = await group(chanPort);
    g.send("ABCD0001 1 BEAT * Beep state=asimov");
    const refused = start("supervisor", supArgs(chanPort, filePort, "-quiet"), { stdin: "PONG *\n" });
    expect(await refused.exited).toBe(3);
    expect(refused.stdout()).toContain("Unknown command PONG");
    const missing = start("supervisor", supArgs(chanPort, filePort, "-json", "-uploadWait=0.5"), {
      stdin: "UPLD 12345678\n",
    });
    expect(await missing.exited).toBe(4);
    const objects = missing
      .stdout()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { kind: string; text: string; request?: string; tally?: unknown });
    expect(objects.find((o) => o.request === "UPLD")?.text).toMatch(/^UPLD 12345678: no upload after \d/);
    expect(objects.find((o) => o.kind === "warning")?.text).toBe(
      "UPLD: nobody has heard 12345678; sent anyway (a bot may be silent)",
    );
    expect(objects.at(-1)?.tally).toMatchObject({ uploadsAsked: 1, uploadsMissing: 1 });
  });
});
