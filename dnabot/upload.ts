/**
 * UPLD: the bot connects to the supervisor's TCP upload server and sends an HTTP-like status
 * line, then the content, as the original does:
 *   200 NAME:file            then the file's lines (trailing whitespace removed) or a sorted
 *                            directory listing, one name per line
 *   404 No resource NAME:file
 *   500 Cannot upload NAME:file   (the file or directory could not be read)
 *   505 Cannot upload NAME:file   (neither a file nor a directory)
 *   403 Forbidden NAME:file  ours: outside the bot's working directory
 * Status lines stay English on the wire (a code first, machine-readable); the supervisor
 * translates what it shows. Files are streamed with backpressure, never read whole.
 */
import { constants } from "node:fs";
import { open, readdir, realpath, stat } from "node:fs/promises";
import { connect, type Socket } from "node:net";
import { isAbsolute, resolve, sep } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";

export type UploadStatus = 200 | 403 | 404 | 500 | 505;

export function statusLine(status: UploadStatus, botId: string, resource: string): string {
  const what = `${botId}:${resource}`;
  switch (status) {
    case 200:
      return `200 ${what}`;
    case 403:
      return `403 Forbidden ${what}`;
    case 404:
      return `404 No resource ${what}`;
    case 500:
      return `500 Cannot upload ${what}`;
    case 505:
      return `505 Cannot upload ${what}`;
  }
}

export type Resolved =
  | { kind: "file"; path: string }
  | { kind: "dir"; path: string }
  | { kind: "missing" }
  | { kind: "forbidden" }
  | { kind: "other" }
  | { kind: "error"; detail: string };

function inside(root: string, p: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/**
 * Where a requested resource is, confined to root: absolute paths, `..` escapes and symlinks
 * resolving outside root are forbidden. Checking the lexical path first means an escape is
 * refused whether or not its target exists, so a 403/404 difference leaks nothing outside.
 * `secrets` (the group key file) are forbidden wherever they are, by any name or link to them.
 */
export async function resolveResource(
  root: string,
  resource: string,
  secrets: readonly string[] = [],
): Promise<Resolved> {
  if (resource.includes("\0") || isAbsolute(resource)) return { kind: "forbidden" };
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch (e) {
    return { kind: "error", detail: String(e) };
  }
  const lexical = resolve(realRoot, resource);
  if (!inside(realRoot, lexical)) return { kind: "forbidden" };
  let real: string;
  try {
    real = await realpath(lexical);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { kind: "missing" };
    return { kind: "error", detail: String(e) };
  }
  if (!inside(realRoot, real)) return { kind: "forbidden" };
  try {
    const st = await stat(real);
    for (const secret of secrets) {
      const s = await stat(secret).catch(() => undefined);
      if (s && s.dev === st.dev && s.ino === st.ino) return { kind: "forbidden" };
    }
    if (st.isFile()) return { kind: "file", path: real };
    if (st.isDirectory()) return { kind: "dir", path: real };
    return { kind: "other" };
  } catch (e) {
    return { kind: "error", detail: String(e) };
  }
}

/**
 * Splits text into lines and sends each without trailing whitespace plus "\n", as the
 * original's `line.rstrip()`. Line ends are \n, \r\n or a lone \r (Python's universal
 * newlines); invalid UTF-8 becomes U+FFFD instead of failing. Works chunk by chunk.
 */
export class RstripLines extends Transform {
  private readonly decoder = new StringDecoder("utf8");
  private carry = "";

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.emitLines(this.carry + this.decoder.write(chunk));
    done();
  }

  override _flush(done: TransformCallback): void {
    this.emitLines(this.carry + this.decoder.end());
    if (this.carry !== "") this.push(`${this.carry.trimEnd()}\n`);
    this.carry = "";
    done();
  }

  private emitLines(text: string): void {
    // A trailing \r may be the first half of \r\n: keep it until the next chunk.
    const cut = text.endsWith("\r") ? text.length - 1 : text.length;
    const parts = text.slice(0, cut).split(/\r\n|\r|\n/);
    this.carry = (parts.pop() ?? "") + text.slice(cut);
    if (parts.length > 0) this.push(`${parts.map((l) => l.trimEnd()).join("\n")}\n`);
  }
}

/** Sends the status line and content of a resource to an open stream. Returns the status. */
export async function sendResource(
  out: NodeJS.WritableStream & { write(s: string): boolean },
  root: string,
  resource: string,
  botId: string,
  onProblem: (detail: string) => void = () => {},
  secrets: readonly string[] = [],
): Promise<UploadStatus> {
  const where = await resolveResource(root, resource, secrets);
  const finish = async (status: UploadStatus): Promise<UploadStatus> => {
    await pipeline(Readable.from([`${statusLine(status, botId, resource)}\n`]), out);
    return status;
  };
  switch (where.kind) {
    case "forbidden":
      return finish(403);
    case "missing":
      return finish(404);
    case "other":
      return finish(505);
    case "error":
      onProblem(where.detail);
      return finish(500);
    case "dir": {
      let names: string[];
      try {
        names = (await readdir(where.path)).sort();
      } catch (e) {
        onProblem(String(e));
        return finish(500);
      }
      const lines = [`${statusLine(200, botId, resource)}\n`, ...names.map((n) => `${n}\n`)];
      await pipeline(Readable.from(lines), out);
      return 200;
    }
    case "file": {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        // O_NOFOLLOW: the path is already resolved; refuse a symlink swapped in since.
        handle = await open(where.path, constants.O_RDONLY | constants.O_NOFOLLOW);
      } catch (e) {
        onProblem(String(e));
        return finish(500);
      }
      out.write(`${statusLine(200, botId, resource)}\n`);
      await pipeline(handle.createReadStream({ highWaterMark: 64 * 1024 }), new RstripLines(), out);
      return 200;
    }
  }
}

export interface UploadRequest {
  /** The supervisor's address: the source of its UPLD datagram. */
  host: string;
  port: number;
  resource: string;
  botId: string;
}

export type UploadOutcome =
  | { ok: true; status: UploadStatus; problem?: string }
  | { ok: false; error: "timeout" | "socket"; detail: string };

/** Performs one upload; never rejects. */
export type Uploader = (req: UploadRequest) => Promise<UploadOutcome>;

export interface TcpUploaderOptions {
  /** The directory uploads are confined to (the bot's working directory). */
  root: string;
  /** As the original: give up connecting after 1 s. */
  connectTimeoutMs?: number;
  /** Give up when the supervisor stops reading for this long. */
  idleTimeoutMs?: number;
  /** Files never uploaded, whatever name or link asks for them: the group key file. */
  secrets?: readonly string[];
}

class UploadTimeout extends Error {}

function connectWithTimeout(host: string, port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolveSocket, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new UploadTimeout(`connect to ${host}:${port}`));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", onError);
      resolveSocket(socket);
    });
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    socket.once("error", onError);
  });
}

export function tcpUploader(opts: TcpUploaderOptions): Uploader {
  const connectMs = opts.connectTimeoutMs ?? 1000;
  const idleMs = opts.idleTimeoutMs ?? 10_000;
  return async (req) => {
    let socket: Socket | undefined;
    try {
      socket = await connectWithTimeout(req.host, req.port, connectMs);
      const s = socket;
      s.setTimeout(idleMs, () => s.destroy(new UploadTimeout(`idle for ${idleMs} ms`)));
      let problem: string | undefined;
      const status = await sendResource(
        s,
        opts.root,
        req.resource,
        req.botId,
        (d) => {
          problem = d;
        },
        opts.secrets,
      );
      return problem === undefined ? { ok: true, status } : { ok: true, status, problem };
    } catch (e) {
      socket?.destroy();
      if (e instanceof UploadTimeout) return { ok: false, error: "timeout", detail: e.message };
      const err = e as NodeJS.ErrnoException;
      return { ok: false, error: "socket", detail: err.code ? `${err.code} ${err.message}` : String(e) };
    }
  };
}
