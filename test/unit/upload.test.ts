/** UPLD content: confinement, status lines, line handling and the TCP client, on 127.0.0.1. */
import { execFileSync } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RstripLines, resolveResource, statusLine, tcpUploader } from "../../dnabot/upload.js";
import { freeTcpPort, tempDir } from "../helpers/net.js";

const BOT = "0A1B2C3D";

let root: string;
let outside: string;
let cleanups: (() => void)[] = [];

beforeEach(() => {
  const a = tempDir("dnabot-upload-");
  const b = tempDir("dnabot-outside-");
  cleanups = [a.cleanup, b.cleanup];
  root = join(a.dir, "bot");
  outside = b.dir;
  mkdirSync(root);
  writeFileSync(join(a.dir, "secret.txt"), "next to the bot, not in it\n");
  writeFileSync(join(outside, "secret.txt"), "elsewhere\n");
  writeFileSync(join(root, "results.data"), "Soup decontaminant  \nPlastic eating algae\t\r\nBiotoxin");
  mkdirSync(join(root, "sub"));
  writeFileSync(join(root, "sub", "b.txt"), "b\n");
  writeFileSync(join(root, "sub", "a.txt"), "a\n");
  mkdirSync(join(root, "sub", "Z"));
  symlinkSync(join(outside, "secret.txt"), join(root, "escape"));
  symlinkSync(outside, join(root, "escape-dir"));
  symlinkSync("sub/a.txt", join(root, "inside-link"));
  symlinkSync("loop2", join(root, "loop1"));
  symlinkSync("loop1", join(root, "loop2"));
});

afterEach(() => {
  for (const c of cleanups) c();
});

/** A one-shot upload server like a supervisor's: collects everything one bot sends. */
async function listen(): Promise<{ server: Server; port: number; received: Promise<string> }> {
  const port = await freeTcpPort();
  let resolveText: (s: string) => void = () => {};
  const received = new Promise<string>((r) => {
    resolveText = r;
  });
  const server = createServer((sock) => {
    const chunks: Buffer[] = [];
    sock.on("data", (c) => chunks.push(c));
    sock.on("end", () => resolveText(Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { server, port, received };
}

async function upload(resource: string): Promise<{ text: string; outcome: unknown }> {
  const { server, port, received } = await listen();
  try {
    const outcome = await tcpUploader({ root })({ host: "127.0.0.1", port, resource, botId: BOT });
    return { text: await received, outcome };
  } finally {
    server.close();
  }
}

describe("status lines", () => {
  it("keep the original's English format, code first", () => {
    expect(statusLine(200, BOT, "f")).toBe("200 0A1B2C3D:f");
    expect(statusLine(404, BOT, "f")).toBe("404 No resource 0A1B2C3D:f");
    expect(statusLine(500, BOT, "f")).toBe("500 Cannot upload 0A1B2C3D:f");
    expect(statusLine(505, BOT, "f")).toBe("505 Cannot upload 0A1B2C3D:f");
    expect(statusLine(403, BOT, "f")).toBe("403 Forbidden 0A1B2C3D:f");
  });
});

describe("confinement", () => {
  it("serves files and directories inside the working directory", async () => {
    expect((await resolveResource(root, "results.data")).kind).toBe("file");
    expect((await resolveResource(root, "sub/../results.data")).kind).toBe("file");
    expect((await resolveResource(root, "inside-link")).kind).toBe("file");
    expect((await resolveResource(root, ".")).kind).toBe("dir");
    expect((await resolveResource(root, "sub")).kind).toBe("dir");
    expect((await resolveResource(root, "nothing")).kind).toBe("missing");
    expect((await resolveResource(root, "results.data/x")).kind).toBe("missing");
  });

  it("refuses absolute paths, .. escapes and symlinks leading outside", async () => {
    for (const r of [
      "../secret.txt",
      "..",
      "sub/../../secret.txt",
      "../nonexistent",
      join(root, "results.data"),
      "/etc/passwd",
      "escape",
      "escape-dir",
      "escape-dir/secret.txt",
      "a\0b",
    ]) {
      expect((await resolveResource(root, r)).kind, r).toBe("forbidden");
    }
  });
});

describe("line handling", () => {
  async function through(chunks: string[]): Promise<string> {
    let out = "";
    await pipeline(
      Readable.from(chunks.map((c) => Buffer.from(c, "utf8"))),
      new RstripLines(),
      new Writable({
        write(c, _e, done) {
          out += c.toString();
          done();
        },
      }),
    );
    return out;
  }

  it("strips trailing whitespace and ends every line with \\n, as the original's rstrip()", async () => {
    expect(await through(["a  \nb\t\r\nc"])).toBe("a\nb\nc\n");
    expect(await through(["x\ry\n"])).toBe("x\ny\n");
    expect(await through([""])).toBe("");
    expect(await through(["\n\n"])).toBe("\n\n");
    expect(await through(["  lead kept \n"])).toBe("  lead kept\n");
  });

  it("is the same however the input is cut into chunks", async () => {
    const text = "one \r\ntwo\r\rthree\t\n\nfour é ü\r\nfive";
    const whole = await through([text]);
    expect(whole).toBe("one\ntwo\n\nthree\n\nfour é ü\nfive\n");
    const bytes = Buffer.from(text, "utf8");
    for (let cut = 1; cut < bytes.length; cut++) {
      let out = "";
      await pipeline(
        Readable.from([bytes.subarray(0, cut), bytes.subarray(cut)]),
        new RstripLines(),
        new Writable({
          write(c, _e, done) {
            out += c.toString();
            done();
          },
        }),
      );
      expect(out, `cut at ${cut}`).toBe(whole);
    }
  });
});

describe("TCP upload", () => {
  it("a file: 200 then its lines", async () => {
    const { text, outcome } = await upload("results.data");
    expect(text).toBe("200 0A1B2C3D:results.data\nSoup decontaminant\nPlastic eating algae\nBiotoxin\n");
    expect(outcome).toEqual({ ok: true, status: 200 });
  });

  it("a directory: 200 then the sorted listing", async () => {
    const { text } = await upload("sub");
    expect(text).toBe("200 0A1B2C3D:sub\nZ\na.txt\nb.txt\n");
  });

  it("404 for a missing file, 403 for escapes, 505 for a FIFO, 500 when unreadable", async () => {
    expect((await upload("missing.txt")).text).toBe("404 No resource 0A1B2C3D:missing.txt\n");
    expect((await upload("../secret.txt")).text).toBe("403 Forbidden 0A1B2C3D:../secret.txt\n");
    expect((await upload("escape")).text).toBe("403 Forbidden 0A1B2C3D:escape\n");
    execFileSync("mkfifo", [join(root, "fifo")]);
    expect((await upload("fifo")).text).toBe("505 Cannot upload 0A1B2C3D:fifo\n");
    const loop = await upload("loop1");
    expect(loop.text).toBe("500 Cannot upload 0A1B2C3D:loop1\n");
    expect(loop.outcome).toMatchObject({ ok: true, status: 500, problem: expect.stringContaining("ELOOP") });
  });

  it("a refused connection is an outcome, not an exception", async () => {
    const port = await freeTcpPort();
    const outcome = await tcpUploader({ root })({ host: "127.0.0.1", port, resource: "results.data", botId: BOT });
    expect(outcome).toMatchObject({ ok: false, error: "socket", detail: expect.stringContaining("ECONNREFUSED") });
  });

  it("gives up when the server stops reading", async () => {
    // A file larger than the socket buffers, and a server that accepts but never reads.
    writeFileSync(join(root, "big.txt"), `${"x".repeat(99)}\n`.repeat(200_000));
    const port = await freeTcpPort();
    const server = createServer((sock) => sock.pause());
    await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
    try {
      const outcome = await tcpUploader({ root, idleTimeoutMs: 300 })({
        host: "127.0.0.1",
        port,
        resource: "big.txt",
        botId: BOT,
      });
      expect(outcome).toMatchObject({ ok: false, error: "timeout" });
    } finally {
      server.close();
    }
  });
});
