/**
 * The upload server over real TCP on 127.0.0.1: concurrent uploads complete, status-only
 * uploads, never overwriting, the size cap, stalled senders, the port fallback.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseStatus, safeName, saveNew, type Upload, UploadServer } from "../../supervisor/upload_server.js";
import { freeTcpPort, tempDir } from "../helpers/net.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function server(opts: { maxBytes?: number; idleTimeoutMs?: number; port?: number } = {}) {
  const tmp = tempDir("sup-upload-");
  cleanups.push(tmp.cleanup);
  const dir = join(tmp.dir, "uploads");
  const srv = new UploadServer({
    host: "127.0.0.1",
    port: opts.port ?? (await freeTcpPort()),
    dir,
    maxBytes: opts.maxBytes ?? 1 << 20,
    idleTimeoutMs: opts.idleTimeoutMs ?? 10_000,
  });
  const got: Upload[] = [];
  srv.on("upload", (u) => got.push(u));
  const warnings: Error[] = [];
  srv.on("warning", (e) => warnings.push(e));
  const listening = await srv.listen();
  cleanups.push(() => srv.close());
  const waitFor = async (n: number) => {
    while (got.length < n) await new Promise((r) => setTimeout(r, 10));
  };
  return { srv, got, dir, listening, warnings, waitFor };
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
    await s.waitFor(50);
    expect(s.got).toHaveLength(50);
    for (const [i, id] of ids.entries()) {
      const u = s.got.find((g) => g.botId === id);
      expect(u?.data.toString()).toBe(`200 ${id}:results.data\n${body(i)}`);
      expect(u?.truncated).toBe(false);
      expect(readFileSync(u?.savedAs as string, "utf8")).toBe(`200 ${id}:results.data\n${body(i)}`);
    }
    expect(readdirSync(s.dir)).toHaveLength(50);
    expect(s.srv.inProgress).toBe(0);
  });

  it("reports a status-line-only upload with its code, id and file", async () => {
    const s = await server();
    await send(s.listening.port, ["404 No resource 3F2A91BC:nothing.txt\n"]);
    await s.waitFor(1);
    expect(s.got[0]).toMatchObject({
      status: "404 No resource 3F2A91BC:nothing.txt",
      code: 404,
      botId: "3F2A91BC",
      file: "nothing.txt",
    });
    expect(s.got[0]?.savedAs).toMatch(/3F2A91BC_nothing\.txt$/);
  });

  it("never overwrites: the same bot and file again get -1, -2 and old files are untouched", async () => {
    const s = await server();
    for (const n of [1, 2, 3]) {
      await send(s.listening.port, [`200 3F2A91BC:results.data\nround ${n}\n`]);
      await s.waitFor(n);
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
    await s.waitFor(1);
    expect(s.got[0]?.truncated).toBe(true);
    expect(s.got[0]?.data.length).toBe(1000);
    expect(readFileSync(s.got[0]?.savedAs as string).length).toBe(1000);
    // The next upload is served normally.
    await send(s.listening.port, ["200 AAAA0001:results.data\nok\n"]);
    await s.waitFor(2);
    expect(s.got[1]).toMatchObject({ truncated: false, botId: "AAAA0001" });
  });

  it("cuts off a sender that goes silent, keeping what came", async () => {
    const s = await server({ idleTimeoutMs: 200 });
    const sock = connect({ port: s.listening.port, host: "127.0.0.1" });
    cleanups.push(() => void sock.destroy());
    sock.on("error", () => undefined);
    sock.write("200 3F2A91BC:results.data\npartial");
    await s.waitFor(1);
    expect(s.got[0]).toMatchObject({ timedOut: true, botId: "3F2A91BC" });
    expect(s.got[0]?.data.toString()).toBe("200 3F2A91BC:results.data\npartial");
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
    expect(s.got[0]?.data.toString()).toBe("200 3F2A91BC:results.data\nhalf");
  });

  it("an empty connection is reported empty and not saved", async () => {
    const s = await server();
    await send(s.listening.port, []);
    await s.waitFor(1);
    expect(s.got[0]?.data.length).toBe(0);
    expect(s.got[0]?.savedAs).toBeUndefined();
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
    await s.waitFor(1);
    expect(s.got).toHaveLength(1);
  });

  it("listens on the given address only", async () => {
    const s = await server();
    const a = (s.srv as unknown as { server: { address(): { address: string } } }).server.address();
    expect(a.address).toBe("127.0.0.1");
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
