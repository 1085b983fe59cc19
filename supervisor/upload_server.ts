/**
 * The upload server: bots answer UPLD by connecting here over TCP and sending a status line
 * (`200 ID:FILE`, `404 No resource ID:FILE`...) and then the content. Unlike the original
 * (one connection at a time, backlog 5) every connection is served at once.
 *
 * Each upload is kept in memory up to maxBytes (more is cut off, with a warning: a hostile
 * upload cannot fill memory or disk), saved under dir as `ID_FILE` without ever overwriting
 * (`ID_FILE-1`, `-2`... when taken; created with O_EXCL, so concurrent saves cannot collide),
 * and reported with an 'upload' event.
 *
 * It listens on the address of the channel's interface only (127.0.0.1 by default), never on
 * every interface as the original did. When the port is taken it takes a free one; the
 * supervisor tells bots which with port= on its UPLD.
 */
import { EventEmitter } from "node:events";
import { mkdir, open } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { extname, join } from "node:path";
import { isPeerId } from "../shared/codec.js";
import type { Source } from "../shared/transport.js";

export interface UploadServerOptions {
  /** Address to listen on (the channel interface's). */
  host: string;
  /** Port to try first (filePort); 0 for any. */
  port: number;
  /** Directory uploads are saved in; created when needed. Undefined: not saved. */
  dir?: string;
  /** Largest upload kept, bytes. */
  maxBytes: number;
  /** A connection silent this long is closed (what arrived is kept). */
  idleTimeoutMs: number;
  /** Connections served at once; more wait in the kernel's backlog. */
  maxConnections?: number;
}

export interface Upload {
  from: Source;
  /** What arrived (at most maxBytes). */
  data: Buffer;
  /** The first line, e.g. `200 3F2A91BC:results.data`; "" for an empty upload. */
  status: string;
  /** The status code, or undefined when the first line does not start with one. */
  code: number | undefined;
  /** From the status line's last `ID:FILE` word, when there is one. */
  botId: string | undefined;
  file: string | undefined;
  /** More than maxBytes was sent: the rest was refused. */
  truncated: boolean;
  /** The sender went silent for idleTimeoutMs and was cut off. */
  timedOut: boolean;
  /** Still arriving when the server closed: cut off. */
  interrupted?: boolean;
  /** Where it was saved. */
  savedAs: string | undefined;
  saveError: Error | undefined;
}

export interface UploadServerEvents {
  upload: [upload: Upload];
  /** A connection failed (reset...); what arrived before is still reported. */
  warning: [err: Error, from: Source];
}

/** Parse a bot's status line: `CODE [text...] ID:FILE`. */
export function parseStatus(line: string): Pick<Upload, "code" | "botId" | "file"> {
  const m = /^(\d{3})(?:\s+(.*))?$/.exec(line.trim());
  const code = m ? Number(m[1]) : undefined;
  const words = (m?.[2] ?? "").split(/\s+/);
  const last = words[words.length - 1] ?? "";
  const colon = last.indexOf(":");
  if (colon <= 0) return { code, botId: undefined, file: undefined };
  const id = last.slice(0, colon);
  const file = last.slice(colon + 1);
  return { code, botId: isPeerId(id) ? id : undefined, file: file === "" ? undefined : file };
}

/** A file-name-safe version of a word: no directories, no hidden files, nothing odd. */
export function safeName(s: string): string {
  const cleaned = s
    .replace(/[^A-Za-z0-9._-]/g, "_")
    .replace(/^[.]+/, "")
    .slice(0, 100);
  return cleaned === "" ? "upload" : cleaned;
}

/** The name an upload is saved under (before any -N suffix). */
export function uploadFileName(u: Pick<Upload, "botId" | "file" | "from">): string {
  const who = u.botId ?? `unknown-${u.from.address}`;
  return `${safeName(who)}_${safeName(u.file ?? "upload")}`;
}

/** Create a new file under dir without overwriting anything: name, then name-1.ext, name-2.ext... */
export async function saveNew(dir: string, name: string, data: Buffer): Promise<string> {
  await mkdir(dir, { recursive: true });
  const ext = extname(name);
  const stem = ext === "" || ext === name ? name : name.slice(0, -ext.length);
  for (let n = 0; n < 100_000; n++) {
    const path = join(dir, n === 0 ? name : `${stem}-${n}${ext}`);
    let fh: Awaited<ReturnType<typeof open>>;
    try {
      fh = await open(path, "wx");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") continue;
      throw e;
    }
    try {
      await fh.writeFile(data);
    } finally {
      await fh.close();
    }
    return path;
  }
  throw new Error(`no free name for ${name} in ${dir}`);
}

export class UploadServer extends EventEmitter<UploadServerEvents> {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly pending = new Set<Promise<void>>();
  private boundPort = 0;
  private closing = false;

  constructor(readonly opts: UploadServerOptions) {
    super();
  }

  /** Listen on the configured port, or on a free one when it is taken (fallback: true). Other
   *  errors (EACCES, EADDRNOTAVAIL) reject: the caller reports them and exits. */
  async listen(): Promise<{ port: number; fallback: boolean }> {
    try {
      this.boundPort = await this.tryListen(this.opts.port);
      return { port: this.boundPort, fallback: false };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (this.opts.port === 0 || (code !== "EADDRINUSE" && code !== "EACCES")) throw e;
    }
    this.boundPort = await this.tryListen(0);
    return { port: this.boundPort, fallback: true };
  }

  private tryListen(port: number): Promise<number> {
    const server = createServer((sock) => this.accept(sock));
    server.maxConnections = this.opts.maxConnections ?? 1024;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: this.opts.host, exclusive: true }, () => {
        server.off("error", reject);
        // Later errors on a listening server (rare: EMFILE) must not crash the supervisor.
        server.on("error", (err) => this.emit("warning", err, { address: this.opts.host, port }));
        this.server = server;
        const a = server.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  get port(): number {
    return this.boundPort;
  }

  /** Connections open now, and uploads not yet reported. */
  get inProgress(): number {
    return this.pending.size;
  }

  private accept(sock: Socket): void {
    this.sockets.add(sock);
    const from: Source = { address: sock.remoteAddress ?? "?", port: sock.remotePort ?? 0 };
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let timedOut = false;
    let interrupted = false;
    let done: () => void = () => {};
    const finished = new Promise<void>((resolve) => {
      done = resolve;
    });
    const job = finished
      .then(() => this.finish(from, Buffer.concat(chunks, size), truncated, timedOut, interrupted))
      .catch((err: Error) => {
        this.emit("warning", err, from);
      });
    this.pending.add(job);
    void job.then(() => this.pending.delete(job));

    sock.setTimeout(this.opts.idleTimeoutMs, () => {
      timedOut = true;
      sock.destroy();
    });
    sock.on("data", (chunk: Buffer) => {
      const room = this.opts.maxBytes - size;
      if (chunk.length > room) {
        if (room > 0) {
          chunks.push(chunk.subarray(0, room));
          size += room;
        }
        truncated = true;
        sock.destroy();
        return;
      }
      chunks.push(chunk);
      size += chunk.length;
    });
    sock.on("error", (err) => this.emit("warning", err, from));
    sock.on("close", (hadError) => {
      if (this.closing && !sock.readableEnded && !truncated && !timedOut && !hadError) interrupted = true;
      this.sockets.delete(sock);
      done();
    });
  }

  private async finish(
    from: Source,
    data: Buffer,
    truncated: boolean,
    timedOut: boolean,
    interrupted: boolean,
  ): Promise<void> {
    const nl = data.indexOf(0x0a);
    const status = (nl < 0 ? data : data.subarray(0, nl)).toString("utf8").replace(/\r$/, "");
    const parsed = parseStatus(status);
    const upload: Upload = {
      from,
      data,
      status,
      ...parsed,
      truncated,
      timedOut,
      interrupted,
      savedAs: undefined,
      saveError: undefined,
    };
    if (this.opts.dir !== undefined && data.length > 0) {
      try {
        upload.savedAs = await saveNew(this.opts.dir, uploadFileName(upload), data);
      } catch (e) {
        upload.saveError = e as Error;
      }
    }
    this.emit("upload", upload);
  }

  /** Resolves when every upload under way has been reported. */
  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Stop listening and cut off connections still open (what arrived is still reported). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.closing = true;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.drain();
  }
}
