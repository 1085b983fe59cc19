/**
 * The upload server over real TCP on 127.0.0.1: concurrent uploads complete, status-only
 * uploads, never overwriting, the size cap, stalled senders, the port fallback.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  openNew,
  parseStatus,
  type Refusal,
  safeName,
  saveNew,
  type Upload,
  UploadServer,
  type UploadServerOptions,
} from "../../supervisor/upload_server.js";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, tempDir } from "../helpers/net.js";
import { until } from "../helpers/until.js";

const cleanups = cleanupsAfterEach();

async function server(opts: Partial<UploadServerOptions> = {}) {
  const tmp = tempDir("sup-upload-");
  cleanups.push(tmp.cleanup);
  const dir = join(tmp.dir, "uploads");
  const srv = new UploadServer({
    host: "127.0.0.1",
    dir,
    maxBytes: 1 << 20,
    idleTimeoutMs: 10_000,
    ...opts,
    port: opts.port ?? (await freeTcpPort()),
  });
  const got: Upload[] = [];
  srv.on("upload", (u) => got.push(u));
  const warnings: Error[] = [];
  srv.on("warning", (e) => warnings.push(e));
  const refused: Refusal[] = [];
  srv.on("refused", (r) => refused.push(r));
  const listening = await srv.listen();
  cleanups.push(() => srv.close());
  const received = (n: number) => until(`${n} uploads`, () => got.length >= n);
  return { srv, got, dir, listening, warnings, received, refused };
}

/** A bot's side: connect, write the chunks (with pauses between), close. */
function send(port: number, chunks: (string | Buffer)[], gapMs = 0): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ port, host: "127.0.0.1" }, async () => {
      for (const c of chunks) {
        sock.write(c);
        if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      }
      sock.end();
    });
    sock.on("error", reject);
    sock.on("close", () => resolve());
  });
}

describe("upload server", () => {
  it("lists the uploads under way (status line in, content still coming), not connections without one", async () => {
    const s = await server();
    const sock = connect({ port: s.listening.port, host: "127.0.0.1" });
    cleanups.push(() => void sock.destroy());
    const idle = connect({ port: s.listening.port, host: "127.0.0.1" });
    cleanups.push(() => void idle.destroy());
    await new Promise((r) => sock.once("connect", r));
    sock.write("200 0A1B2C3D:results.data\nfirst line\n");
    const active = await until("the upload under way", () => {
      const a = s.srv.active();
      return a.length === 1 && a[0]?.bytes === 37 ? a : undefined;
    });
    expect(active).toEqual([{ from: "127.0.0.1", botId: "0A1B2C3D", file: "results.data", bytes: 37 }]);
    sock.end("last line\n");
    await s.received(1);
    expect(s.srv.active()).toEqual([]);
  });

  it("50 concurrent uploads all arrive complete and are all saved", async () => {
    const s = await server();
    const body = (i: number) =>
      Array.from({ length: 300 }, (_, k) => `bot ${i} line ${k} ${"x".repeat(k % 50)}`).join("\n") + "\n";
    const ids = Array.from({ length: 50 }, (_, i) => (0x10000000 + i).toString(16).toUpperCase());
    await Promise.all(
      ids.map((id, i) => {
        const text = `200 ${id}:results.data\n${body(i)}`;
        // Split each upload in pieces sent with pauses, so that they interleave.
        const third = Math.floor(text.length / 3);
        return send(s.listening.port, [text.slice(0, third), text.slice(third, 2 * third), text.slice(2 * third)], 5);
      }),
    );
    await s.received(50);
    expect(s.got).toHaveLength(50);
    for (const [i, id] of ids.entries()) {
      const u = s.got.find((g) => g.botId === id);
      expect(u?.head.toString()).toBe(`200 ${id}:results.data\n${body(i)}`);
      expect(u?.bytes).toBe(u?.head.length);
      expect(u?.lines).toBe(301);
      expect(u?.truncated).toBe(false);
      expect(readFileSync(u?.savedAs as string, "utf8")).toBe(`200 ${id}:results.data\n${body(i)}`);
    }
    expect(readdirSync(s.dir)).toHaveLength(50);
    expect(s.srv.inProgress).toBe(0);
  });

  it("reports a status-line-only upload with its code, id and file, and does not save it", async () => {
    const s = await server();
    await send(s.listening.port, ["404 No resource 3F2A91BC:nothing.txt\n"]);
    await send(s.listening.port, ["403 Forbidden 3F2A91BC:../x"]); // no newline either
    await s.received(2);
    expect(s.got[0]).toMatchObject({
      status: "404 No resource 3F2A91BC:nothing.txt",
      code: 404,
      botId: "3F2A91BC",
      file: "nothing.txt",
      lines: 1,
      savedAs: undefined,
    });
    expect(s.got[1]).toMatchObject({ status: "403 Forbidden 3F2A91BC:../x", code: 403, savedAs: undefined });
    expect(existsSync(s.dir)).toBe(false);
  });

  it("never overwrites: the same bot and file again get -1, -2 and old files are untouched", async () => {
    const s = await server();
    for (const n of [1, 2, 3]) {
      await send(s.listening.port, [`200 3F2A91BC:results.data\nround ${n}\n`]);
      await s.received(n);
    }
    expect(readdirSync(s.dir).sort()).toEqual([
      "3F2A91BC_results-1.data",
      "3F2A91BC_results-2.data",
      "3F2A91BC_results.data",
    ]);
    expect(readFileSync(join(s.dir, "3F2A91BC_results.data"), "utf8")).toContain("round 1");
    expect(readFileSync(join(s.dir, "3F2A91BC_results-2.data"), "utf8")).toContain("round 3");
  });

  it("saveNew leaves an existing file alone, even one it did not create", async () => {
    const tmp = tempDir("sup-save-");
    cleanups.push(tmp.cleanup);
    writeFileSync(join(tmp.dir, "x_notes"), "precious");
    const path = await saveNew(tmp.dir, "x_notes", Buffer.from("new"));
    expect(path).toBe(join(tmp.dir, "x_notes-1"));
    expect(readFileSync(join(tmp.dir, "x_notes"), "utf8")).toBe("precious");
    // Concurrent saves under one name all get their own file.
    const paths = await Promise.all([1, 2, 3, 4, 5].map((i) => saveNew(tmp.dir, "y.txt", Buffer.from(`${i}`))));
    expect(new Set(paths).size).toBe(5);
  });

  it("cuts off an upload above the size cap, keeps and saves the first maxBytes, and stays up", async () => {
    const s = await server({ maxBytes: 1000 });
    const big = `200 3F2A91BC:results.data\n${"y".repeat(100_000)}\n`;
    await send(s.listening.port, [big]).catch(() => undefined); // the server hangs up on it
    await s.received(1);
    expect(s.got[0]?.truncated).toBe(true);
    expect(s.got[0]?.bytes).toBe(1000);
    expect(readFileSync(s.got[0]?.savedAs as string).length).toBe(1000);
    // The next upload is served normally.
    await send(s.listening.port, ["200 AAAA0001:results.data\nok\n"]);
    await s.received(2);
    expect(s.got[1]).toMatchObject({ truncated: false, botId: "AAAA0001" });
  });

  it("cuts off a sender that goes silent, keeping what came", async () => {
    const s = await server({ idleTimeoutMs: 200 });
    const sock = connect({ port: s.listening.port, host: "127.0.0.1" });
    cleanups.push(() => void sock.destroy());
    sock.on("error", () => undefined);
    sock.write("200 3F2A91BC:results.data\npartial");
    await s.received(1);
    expect(s.got[0]).toMatchObject({ timedOut: true, botId: "3F2A91BC" });
    expect(s.got[0]?.head.toString()).toBe("200 3F2A91BC:results.data\npartial");
    expect(s.got[0]?.lines).toBe(2);
  });

  it("an upload still arriving when the server closes is reported as interrupted, with what came", async () => {
    const s = await server();
    const sock = connect({ port: s.listening.port, host: "127.0.0.1" });
    sock.on("error", () => undefined);
    cleanups.push(() => void sock.destroy());
    await new Promise<void>((r) => sock.on("connect", () => r()));
    sock.write("200 3F2A91BC:results.data\nhalf");
    await new Promise((r) => setTimeout(r, 100));
    await s.srv.close();
    expect(s.got).toHaveLength(1);
    expect(s.got[0]).toMatchObject({ interrupted: true, truncated: false, timedOut: false });
    expect(s.got[0]?.head.toString()).toBe("200 3F2A91BC:results.data\nhalf");
  });

  it("an empty connection is refused and counted, not reported or saved", async () => {
    const s = await server();
    await send(s.listening.port, []);
    await until("refused", () => s.refused.length === 1);
    expect(s.refused[0]?.reason).toBe("empty");
    expect(s.got).toHaveLength(0);
    expect(s.srv.stats.refused.empty).toBe(1);
    expect(existsSync(s.dir)).toBe(false);
  });

  it("takes a free port when the configured one is taken", async () => {
    const port = await freeTcpPort();
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(port, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => blocker.close(() => r())));
    const s = await server({ port });
    expect(s.listening.fallback).toBe(true);
    expect(s.listening.port).not.toBe(port);
    await send(s.listening.port, ["200 3F2A91BC:f\nx\n"]);
    await s.received(1);
    expect(s.got).toHaveLength(1);
  });

  it("listens on the given address only", async () => {
    const s = await server();
    const a = (s.srv as unknown as { server: { address(): { address: string } } }).server.address();
    expect(a.address).toBe("127.0.0.1");
  });
});

/** A connection that sends what it is given and then stays open (a slowloris). */
async function hang(port: number, first = ""): Promise<Socket> {
  const sock = connect({ port, host: "127.0.0.1" });
  sock.on("error", () => undefined);
  cleanups.push(() => void sock.destroy());
  await new Promise<void>((r) => sock.on("connect", () => r()));
  if (first !== "") sock.write(first);
  return sock;
}

describe("upload server limits", () => {
  it("takes only uploads the accept callback wants; others are closed and counted", async () => {
    const s = await server({ accept: (i) => i.botId === "AAAA0001" });
    await send(s.listening.port, ["200 AAAA0001:results.data\nyes\n"]);
    await send(s.listening.port, ["200 BBBB0002:results.data\nno\n"]).catch(() => undefined);
    await send(s.listening.port, ["GET / HTTP/1.1\r\n\r\n"]).catch(() => undefined);
    await until("both refused", () => s.refused.length === 2);
    await s.received(1);
    expect(s.got.map((u) => u.botId)).toEqual(["AAAA0001"]);
    expect(s.refused.map((r) => [r.reason, r.status])).toEqual([
      ["unexpected", "200 BBBB0002:results.data"],
      ["unexpected", "GET / HTTP/1.1"],
    ]);
    expect(readdirSync(s.dir)).toEqual(["AAAA0001_results.data"]);
  });

  it("a connection that sends no status line in time is closed and counted", async () => {
    const s = await server({ statusTimeoutMs: 100 });
    await hang(s.listening.port, "200 AAAA");
    await until("no-status", () => s.refused.length === 1);
    expect(s.refused[0]?.reason).toBe("no-status");
    expect(s.srv.connections).toBe(0);
  });

  it("a connection open past the total deadline is cut off, keeping what came", async () => {
    const s = await server({ totalTimeoutMs: 300 });
    const sock = await hang(s.listening.port, "200 AAAA0001:f\n");
    const drip = setInterval(() => sock.write("x"), 20);
    cleanups.push(() => clearInterval(drip));
    await s.received(1);
    expect(s.got[0]).toMatchObject({ overtime: true, timedOut: false, botId: "AAAA0001" });
    expect(s.got[0]?.bytes).toBeGreaterThan(15);
  });

  it("slowloris: at the connection caps, silent connections make room for real uploads", async () => {
    const s = await server({ maxConnections: 40, maxPerAddress: 30, statusTimeoutMs: 60_000 });
    // 60 connections that never send a status line: more than either cap.
    for (let i = 0; i < 60; i++) await hang(s.listening.port);
    await until("capped", () => s.srv.connections <= 30 && s.refused.length >= 30);
    expect(s.srv.connections).toBe(30);
    // Five real uploads all get through, each evicting an old silent connection.
    await Promise.all(
      [1, 2, 3, 4, 5].map((i) => send(s.listening.port, [`200 AAAA000${i}:results.data\nline ${i}\n`])),
    );
    await s.received(5);
    expect(s.got.map((u) => u.botId).sort()).toEqual(["AAAA0001", "AAAA0002", "AAAA0003", "AAAA0004", "AAAA0005"]);
    expect(readdirSync(s.dir)).toHaveLength(5);
    expect(s.srv.stats.refused.evicted).toBeGreaterThanOrEqual(35);
    expect(s.srv.stats.refused.busy).toBe(0);
  });

  it("when every place holds an upload under way, a new connection is refused as busy and counted", async () => {
    const s = await server({ maxConnections: 2, maxPerAddress: 2 });
    await hang(s.listening.port, "200 AAAA0001:f\nstill coming");
    await hang(s.listening.port, "200 AAAA0002:f\nstill coming");
    await until("both taken", () => s.srv.inProgress === 2);
    await send(s.listening.port, ["200 AAAA0003:f\nx\n"]).catch(() => undefined);
    await until("busy", () => s.refused.length === 1);
    expect(s.refused[0]?.reason).toBe("busy");
    expect(s.srv.stats.peakConnections).toBe(2);
  });

  it("many uploads at once beyond the caps: each one is either taken or refused and counted, none lost silently", async () => {
    const s = await server({ maxConnections: 8, maxPerAddress: 8 });
    // 40 bots connect together; each sends its status line, then its content a little later.
    await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        send(s.listening.port, [`200 ${(0xb0000000 + i).toString(16).toUpperCase()}:r\n`, "content\n"], 50).catch(
          () => undefined,
        ),
      ),
    );
    await until("all accounted for", () => s.got.length + s.refused.length === 40);
    expect(s.got.length).toBeGreaterThan(0);
    expect(s.refused.every((r) => r.reason === "busy" || r.reason === "evicted")).toBe(true);
    expect(s.srv.stats.uploads + s.srv.stats.refused.busy + s.srv.stats.refused.evicted).toBe(40);
    expect(readdirSync(s.dir)).toHaveLength(s.got.length);
    expect(s.srv.stats.peakConnections).toBeLessThanOrEqual(8);
  });

  it("streams to disk: a large upload is saved whole while memory keeps only the preview", async () => {
    const s = await server({ maxBytes: 64 << 20, previewBytes: 1000 });
    const line = `${"z".repeat(1023)}\n`;
    const chunk = line.repeat(1024); // 1 MiB
    await send(s.listening.port, ["200 AAAA0001:big.data\n", ...Array.from({ length: 20 }, () => chunk)]);
    await s.received(1);
    const u = s.got[0] as Upload;
    expect(u.head.length).toBe(1000);
    expect(u.bytes).toBe(20 * chunk.length + "200 AAAA0001:big.data\n".length);
    expect(u.lines).toBe(20 * 1024 + 1);
    const saved = readFileSync(u.savedAs as string);
    expect(saved.length).toBe(u.bytes);
    expect(saved.subarray(0, 22).toString()).toBe("200 AAAA0001:big.data\n");
  });

  it("saves at most maxFiles files in a run; later uploads are reported, not saved", async () => {
    const s = await server({ maxFiles: 2 });
    for (const n of [1, 2, 3]) {
      await send(s.listening.port, [`200 AAAA000${n}:r\nx\n`]);
      await s.received(n);
    }
    expect(s.got.map((u) => Boolean(u.savedAs))).toEqual([true, true, false]);
    expect(s.got[2]?.notSavedFull).toBe(true);
    expect(s.srv.stats.notSavedFull).toBe(1);
    expect(readdirSync(s.dir)).toHaveLength(2);
  });

  it("finds the next free number after thousands of same-named files, and remembers it", async () => {
    const tmp = tempDir("sup-names-");
    cleanups.push(tmp.cleanup);
    writeFileSync(join(tmp.dir, "A_r.data"), "0");
    for (let n = 1; n < 3000; n++) writeFileSync(join(tmp.dir, `A_r-${n}.data`), `${n}`);
    const fresh = await openNew(tmp.dir, "A_r.data");
    await fresh.fh.close();
    expect(fresh.path).toBe(join(tmp.dir, "A_r-3000.data"));
    const next = await saveNew(tmp.dir, "A_r.data", Buffer.from("x"));
    expect(next).toBe(join(tmp.dir, "A_r-3001.data"));
    expect(readFileSync(join(tmp.dir, "A_r-1.data"), "utf8")).toBe("1");
  });
});

describe("status lines and names", () => {
  it.each([
    ["200 3F2A91BC:results.data", { code: 200, botId: "3F2A91BC", file: "results.data" }],
    ["404 No resource 3F2A91BC:x/y.txt", { code: 404, botId: "3F2A91BC", file: "x/y.txt" }],
    ["500 Cannot upload 3F2A91BC:a:b", { code: 500, botId: "3F2A91BC", file: "a:b" }],
    ["hello world", { code: undefined, botId: undefined, file: undefined }],
    ["200 bad/id:file", { code: 200, botId: undefined, file: "file" }],
    ["", { code: undefined, botId: undefined, file: undefined }],
  ])("%j", (line, want) => {
    expect(parseStatus(line)).toEqual(want);
  });

  it("safe names stay inside the upload directory", () => {
    expect(safeName("../../etc/passwd")).toBe("_.._etc_passwd");
    expect(safeName("..")).toBe("upload");
    expect(safeName(".hidden")).toBe("hidden");
    expect(safeName("a b\u00e9")).toBe("a_b_");
  });
});
