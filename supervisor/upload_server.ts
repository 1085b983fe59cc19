/**
 * The upload server: bots answer UPLD by connecting here over TCP and sending a status line
 * (`200 ID:FILE`, `404 No resource ID:FILE`...) and then the content. Unlike the original
 * (one connection at a time, backlog 5) many connections are served at once, within limits a
 * hostile peer cannot exhaust:
 *
 * - The status line must come within statusTimeoutMs; a connection silent for idleTimeoutMs is
 *   closed, and so is one still open after totalTimeoutMs (what arrived is kept).
 * - At most maxConnections at once, and maxPerAddress from one address. When a limit is reached,
 *   the oldest connection that has not sent its status line yet (a slowloris, most likely) is
 *   closed to make room; when every connection has, the new one is refused. Both are counted.
 *   Connections beyond what Node accepts wait in the kernel's listen backlog.
 * - Only uploads the supervisor asked for are taken (the accept callback decides from the status
 *   line); others are closed at once and counted.
 * - Uploads are streamed to disk (memory stays flat whatever the size): the first previewBytes
 *   are kept for the screen, at most maxBytes are kept in all (the rest is cut off).
 * - Only `200` uploads are saved: a status-only reply (403, 404, 500, 505) is reported, not saved.
 *   At most maxFiles files are saved per run; beyond that uploads are shown but not saved.
 * - Saved as dir/`ID_FILE` without ever overwriting (`ID_FILE-1`, `-2`... when taken; created
 *   with O_EXCL, so concurrent saves cannot collide). The free number is found in O(log n) probes
 *   and remembered, so saving stays fast when thousands of same-named files pile up.
 *
 * It listens on the address of the channel's interface only (127.0.0.1 by default), never on
 * every interface as the original did. When the port is taken it takes a free one; the
 * supervisor tells bots which with port= on its UPLD.
 */
import { EventEmitter } from "node:events";
import type { WriteStream } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { lstat, mkdir, open } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import { extname, join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
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
  /** A connection open this long is closed, however busy (default 5 minutes). */
  totalTimeoutMs?: number;
  /** The status line must arrive within this (default: the idle timeout, at most 10 s). */
  statusTimeoutMs?: number;
  /** Connections open at once (default 1024). */
  maxConnections?: number;
  /** Connections open at once from one address (default a quarter of maxConnections). */
  maxPerAddress?: number;
  /** Files saved in one run (default 10,000); later uploads are shown but not saved. */
  maxFiles?: number;
  /** Bytes of each upload kept in memory for the screen (default 64 KiB). */
  previewBytes?: number;
  /** Whether an upload was asked for, from its status line. Default: every upload is. */
  accept?: (status: StatusInfo) => boolean;
}

export interface StatusInfo {
  from: Source;
  /** The first line, e.g. `200 3F2A91BC:results.data`. */
  status: string;
  code: number | undefined;
  botId: string | undefined;
  file: string | undefined;
}

export interface Upload extends StatusInfo {
  /** The first bytes that arrived (at most previewBytes), status line included. */
  head: Buffer;
  /** Bytes kept in all (at most maxBytes), status line included. */
  bytes: number;
  /** Lines kept in all, status line included (a last line without newline counts). */
  lines: number;
  /** More than maxBytes was sent: the rest was refused. */
  truncated: boolean;
  /** The sender went silent for idleTimeoutMs and was cut off. */
  timedOut: boolean;
  /** The connection was still open after totalTimeoutMs and was cut off. */
  overtime?: boolean;
  /** Still arriving when the server closed: cut off. */
  interrupted?: boolean;
  /** Where it was saved. */
  savedAs: string | undefined;
  saveError: Error | undefined;
  /** A 200 upload not saved because maxFiles files were saved already. */
  notSavedFull?: boolean;
}

/** Why a connection was closed without an upload being reported. */
export type RefusalReason =
  /** Its status line names an upload nobody asked for (or is not a status line). */
  | "unexpected"
  /** It closed without sending anything. */
  | "empty"
  /** No status line within statusTimeoutMs. */
  | "no-status"
  /** Closed to make room for a newer connection before it sent its status line. */
  | "evicted"
  /** Refused at once: every place was taken by an upload under way. */
  | "busy";

export interface Refusal {
  from: Source;
  reason: RefusalReason;
  /** The status line, when one came. */
  status?: string;
}

export interface UploadServerEvents {
  upload: [upload: Upload];
  refused: [refusal: Refusal];
  /** A connection failed (reset...); what arrived before is still reported. */
  warning: [err: Error, from: Source];
}

/** Counters (since start). */
export interface UploadStats {
  uploads: number;
  saved: number;
  refused: Record<RefusalReason, number>;
  /** Uploads shown but not saved because maxFiles was reached. */
  notSavedFull: number;
  /** Most connections open at once. */
  peakConnections: number;
}

/** Longest status line read; what has no newline by then is judged as it is. */
const STATUS_MAX = 1024;

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

function numbered(name: string, n: number): string {
  if (n === 0) return name;
  const ext = extname(name);
  const stem = ext === "" || ext === name ? name : name.slice(0, -ext.length);
  return `${stem}-${n}${ext}`;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the numbering of name in dir probably ends: 0 when name is free, else the first free
 * number after a run of taken ones, found by doubling then bisecting (O(log n) lstat calls,
 * instead of one open per file already there).
 */
async function firstFreeGuess(dir: string, name: string): Promise<number> {
  if (!(await exists(join(dir, name)))) return 0;
  let taken = 0;
  let free = 1;
  while (await exists(join(dir, numbered(name, free)))) {
    taken = free;
    free *= 2;
    if (free > 1 << 24) return free;
  }
  while (free - taken > 1) {
    const mid = Math.floor((taken + free) / 2);
    if (await exists(join(dir, numbered(name, mid)))) taken = mid;
    else free = mid;
  }
  return free;
}

/** Next number to try per directory and name (a cache: cleared when it grows large). */
const nextNumber = new Map<string, number>();
const NEXT_NUMBER_CAP = 4096;

/** Create a new file under dir without overwriting anything: name, then name-1.ext, name-2.ext... */
export async function openNew(dir: string, name: string): Promise<{ fh: FileHandle; path: string }> {
  await mkdir(dir, { recursive: true });
  const key = join(dir, name);
  let n = nextNumber.get(key) ?? (await firstFreeGuess(dir, name));
  for (let tries = 0; tries < 100_000; tries++) {
    if (nextNumber.size >= NEXT_NUMBER_CAP && !nextNumber.has(key)) nextNumber.clear();
    nextNumber.set(key, Math.max(n + 1, nextNumber.get(key) ?? 0));
    const path = join(dir, numbered(name, n));
    try {
      return { fh: await open(path, "wx"), path };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    n = Math.max(n + 1, nextNumber.get(key) ?? 0);
  }
  throw new Error(`no free name for ${name} in ${dir}`);
}

/** Save data as a new file (see openNew). */
export async function saveNew(dir: string, name: string, data: Buffer): Promise<string> {
  const { fh, path } = await openNew(dir, name);
  try {
    await fh.writeFile(data);
  } finally {
    await fh.close();
  }
  return path;
}

/** One connection, from accept to report. */
/** An upload under way, as the web page lists it. */
export interface ActiveUpload {
  from: string;
  botId: string | undefined;
  file: string | undefined;
  bytes: number;
}

interface Conn {
  sock: Socket;
  from: Source;
  /** Waiting for its status line, taken (an upload under way), or over. */
  phase: "status" | "body" | "over";
  /** Bytes before the status line was judged. */
  pending: Buffer[];
  pendingSize: number;
  info?: StatusInfo;
  head: Buffer[];
  headSize: number;
  bytes: number;
  newlines: number;
  lastByte: number;
  truncated: boolean;
  timedOut: boolean;
  overtime: boolean;
  interrupted: boolean;
  writer?: WriteStream;
  savedAs?: string;
  saveError?: Error;
  notSavedFull: boolean;
  /** The file is being opened (reading paused); the connection closed meanwhile. */
  opening?: boolean;
  closedWhileOpening?: boolean;
  /** Resolves the in-progress job of a taken upload. */
  done?: () => void;
  /** Why it ends without an upload report. */
  refusal?: RefusalReason;
  timers: NodeJS.Timeout[];
}

/**
 * Node reads a socket into a fresh 64 KiB buffer each time. V8 counts that memory outside its
 * heap, and collects dead buffers only once about 64 MB of it has piled up: a fast upload cost the
 * supervisor 35 MB of dead read buffers (100 MB upload: RSS 65 → 102 MB, the heap at 18 MB). A
 * minor collection every RECLAIM_EVERY bytes read (under a millisecond each) frees them sooner.
 */
const RECLAIM_EVERY = 8 * 1024 * 1024;
let minorGc: (() => void) | null | undefined;

function reclaimReadBuffers(): void {
  if (minorGc === undefined) {
    try {
      // Exposes gc() in new contexts only (not to this program's own code).
      setFlagsFromString("--expose-gc");
      const gc = runInNewContext("gc") as (options: { type: string }) => void;
      minorGc = () => gc({ type: "minor" });
    } catch {
      minorGc = null; // an engine without it: the collector's own pace
    }
  }
  minorGc?.();
}

export class UploadServer extends EventEmitter<UploadServerEvents> {
  /** Bytes read since the last minor collection (see reclaimReadBuffers). */
  private sinceReclaim = 0;
  private server: Server | undefined;
  /** Open connections, oldest first. */
  private readonly conns = new Set<Conn>();
  private readonly perAddress = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private boundPort = 0;
  private closing = false;
  private savedFiles = 0;
  readonly stats: UploadStats = {
    uploads: 0,
    saved: 0,
    refused: { unexpected: 0, empty: 0, "no-status": 0, evicted: 0, busy: 0 },
    notSavedFull: 0,
    peakConnections: 0,
  };
  private readonly maxConnections: number;
  private readonly maxPerAddress: number;
  private readonly maxFiles: number;
  private readonly previewBytes: number;
  private readonly statusTimeoutMs: number;
  private readonly totalTimeoutMs: number;
  /** Whether an upload was asked for (set by the supervisor; default: opts.accept, or all). */
  accept: ((status: StatusInfo) => boolean) | undefined;

  constructor(readonly opts: UploadServerOptions) {
    super();
    this.maxConnections = opts.maxConnections ?? 1024;
    this.maxPerAddress = opts.maxPerAddress ?? Math.max(1, Math.floor(this.maxConnections / 4));
    this.maxFiles = opts.maxFiles ?? 10_000;
    this.previewBytes = opts.previewBytes ?? 64 * 1024;
    this.statusTimeoutMs = opts.statusTimeoutMs ?? Math.min(opts.idleTimeoutMs, 10_000);
    this.totalTimeoutMs = opts.totalTimeoutMs ?? 300_000;
    this.accept = opts.accept;
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
    const server = createServer((sock) => this.onConnection(sock));
    // A backstop only: our own limits below close connections first.
    server.maxConnections = this.maxConnections * 2;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: this.opts.host, exclusive: true, backlog: 2048 }, () => {
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

  /** Uploads taken and not yet reported (connections still sending their status line are not
   *  counted: they may never be uploads). */
  get inProgress(): number {
    return this.pending.size;
  }

  /** Uploads under way (status line in, content still coming), in the order they began, at most
   *  `limit` of them: who sends, what, and how many bytes have come so far. */
  active(limit = 50): ActiveUpload[] {
    const out: ActiveUpload[] = [];
    for (const c of this.conns) {
      if (out.length >= limit) break;
      if (c.phase !== "body") continue;
      out.push({ from: c.from.address, botId: c.info?.botId, file: c.info?.file, bytes: c.bytes });
    }
    return out;
  }

  /** Connections open now. */
  get connections(): number {
    return this.conns.size;
  }

  /** Make room for one more connection from address; false when there is none. */
  private admit(address: string): boolean {
    if ((this.perAddress.get(address) ?? 0) >= this.maxPerAddress && !this.evictOldest(address)) return false;
    if (this.conns.size >= this.maxConnections && !this.evictOldest(undefined)) return false;
    return true;
  }

  /** Close the oldest connection (from address, when given) still waiting for its status line. */
  private evictOldest(address: string | undefined): boolean {
    for (const c of this.conns) {
      if (c.phase === "status" && (address === undefined || c.from.address === address)) {
        this.end(c, "evicted");
        return true;
      }
    }
    return false;
  }

  private onConnection(sock: Socket): void {
    const from: Source = { address: sock.remoteAddress ?? "?", port: sock.remotePort ?? 0 };
    sock.on("error", (err) => this.emit("warning", err, from));
    if (this.closing || !this.admit(from.address)) {
      sock.destroy();
      this.refuse({ from, reason: "busy" });
      return;
    }
    const c: Conn = {
      sock,
      from,
      phase: "status",
      pending: [],
      pendingSize: 0,
      head: [],
      headSize: 0,
      bytes: 0,
      newlines: 0,
      lastByte: 0x0a,
      truncated: false,
      timedOut: false,
      overtime: false,
      interrupted: false,
      notSavedFull: false,
      timers: [],
    };
    this.conns.add(c);
    this.perAddress.set(from.address, (this.perAddress.get(from.address) ?? 0) + 1);
    this.stats.peakConnections = Math.max(this.stats.peakConnections, this.conns.size);

    c.timers.push(
      setTimeout(() => {
        if (c.phase === "status") this.end(c, "no-status");
      }, this.statusTimeoutMs),
      setTimeout(() => {
        c.overtime = true;
        sock.destroy();
      }, this.totalTimeoutMs),
    );
    sock.setTimeout(this.opts.idleTimeoutMs, () => {
      if (c.phase === "status") {
        this.end(c, "no-status");
        return;
      }
      c.timedOut = true;
      sock.destroy();
    });
    sock.on("data", (chunk: Buffer) => this.onData(c, chunk));
    sock.on("close", (hadError) => {
      if (this.closing && c.phase === "body" && !sock.readableEnded && !c.truncated && !c.timedOut && !hadError) {
        c.interrupted = true;
      }
      this.onClose(c);
    });
  }

  private refuse(r: Refusal): void {
    this.stats.refused[r.reason]++;
    this.emit("refused", r);
  }

  /** Close a connection that will not be reported as an upload; its place is free at once. */
  private end(c: Conn, reason: RefusalReason): void {
    if (c.phase === "over" || c.refusal !== undefined) return;
    c.refusal = reason;
    this.release(c);
    c.sock.destroy();
  }

  /** Give a connection's place back (once). */
  private release(c: Conn): void {
    if (!this.conns.delete(c)) return;
    const left = (this.perAddress.get(c.from.address) ?? 1) - 1;
    if (left <= 0) this.perAddress.delete(c.from.address);
    else this.perAddress.set(c.from.address, left);
  }

  private onData(c: Conn, chunk: Buffer): void {
    if (c.refusal !== undefined) return;
    if (c.phase === "status") {
      c.pending.push(chunk);
      c.pendingSize += chunk.length;
      const all = c.pending.length === 1 ? chunk : Buffer.concat(c.pending, c.pendingSize);
      const nl = all.subarray(0, STATUS_MAX).indexOf(0x0a);
      if (nl < 0 && all.length < STATUS_MAX) return;
      const statusBytes = all.subarray(0, nl < 0 ? STATUS_MAX : nl);
      const status = statusBytes.toString("utf8").replace(/\r$/, "");
      c.info = { from: c.from, status, ...parseStatus(status) };
      c.pending = [];
      c.pendingSize = 0;
      this.judge(c, all);
      return;
    }
    if (c.phase === "body") this.keep(c, chunk);
  }

  /** Whether the supervisor asked for this upload. */
  private wanted(c: Conn, info: StatusInfo): boolean {
    try {
      return this.accept?.(info) ?? true;
    } catch (e) {
      this.emit("warning", e as Error, c.from);
      return false;
    }
  }

  /** The status line is in: take the upload or refuse it. */
  private judge(c: Conn, first: Buffer): void {
    const info = c.info as StatusInfo;
    if (!this.wanted(c, info)) {
      this.end(c, "unexpected");
      return;
    }
    this.take(c);
    const save = info.code === 200 && this.opts.dir !== undefined;
    if (save && this.savedFiles >= this.maxFiles) {
      c.notSavedFull = true;
      this.stats.notSavedFull++;
    }
    if (!save || c.notSavedFull) {
      this.keep(c, first);
      return;
    }
    this.savedFiles++;
    c.opening = true;
    c.sock.pause();
    openNew(this.opts.dir as string, uploadFileName(info))
      .then(({ fh, path }) => {
        c.savedAs = path;
        const w = fh.createWriteStream();
        w.on("error", (err) => {
          c.saveError ??= err;
        });
        c.writer = w;
      })
      .catch((e: Error) => {
        c.saveError = e;
        this.savedFiles--;
      })
      .finally(() => {
        c.opening = false;
        this.keep(c, first);
        // The connection may have closed while the file was being opened.
        if (c.closedWhileOpening) this.onClose(c);
        else if (c.phase === "body") c.sock.resume();
      });
  }

  /** An upload taken: it counts as in progress until reported. */
  private take(c: Conn): void {
    c.phase = "body";
    const job = new Promise<void>((resolve) => {
      c.done = resolve;
    });
    this.pending.add(job);
    void job.then(() => this.pending.delete(job));
  }

  /** Keep a chunk of a taken upload: preview, counters, file. */
  private keep(c: Conn, chunk: Buffer): void {
    this.sinceReclaim += chunk.length;
    if (this.sinceReclaim >= RECLAIM_EVERY) {
      this.sinceReclaim = 0;
      reclaimReadBuffers();
    }
    const room = this.opts.maxBytes - c.bytes;
    let part = chunk;
    if (chunk.length > room) {
      part = chunk.subarray(0, Math.max(0, room));
      c.truncated = true;
    }
    if (part.length > 0) {
      if (c.headSize < this.previewBytes) {
        const h = part.subarray(0, this.previewBytes - c.headSize);
        c.head.push(h);
        c.headSize += h.length;
      }
      c.bytes += part.length;
      for (let i = part.indexOf(0x0a); i >= 0; i = part.indexOf(0x0a, i + 1)) c.newlines++;
      c.lastByte = part[part.length - 1] as number;
      if (c.writer && c.saveError === undefined && !c.writer.write(part)) {
        c.sock.pause();
        c.writer.once("drain", () => {
          if (c.phase === "body") c.sock.resume();
        });
      }
    }
    if (c.truncated) c.sock.destroy();
  }

  private onClose(c: Conn): void {
    if (c.phase === "over") return;
    if (c.opening) {
      c.closedWhileOpening = true;
      return;
    }
    if (c.phase === "status" && c.refusal === undefined && c.pendingSize > 0) {
      // A status line without its newline, then the end: judge it like any other.
      const data = Buffer.concat(c.pending, c.pendingSize);
      const status = data.subarray(0, STATUS_MAX).toString("utf8").replace(/\r$/, "");
      c.info = { from: c.from, status, ...parseStatus(status) };
      if (this.wanted(c, c.info)) {
        this.take(c);
        this.keep(c, data);
      } else {
        c.refusal = "unexpected";
      }
    }
    const wasPhase = c.phase;
    c.phase = "over";
    for (const tm of c.timers) clearTimeout(tm);
    this.release(c);
    if (wasPhase === "status" || c.refusal !== undefined) {
      const reason = c.refusal ?? "empty";
      this.refuse({ from: c.from, reason, ...(c.info ? { status: c.info.status } : {}) });
      c.done?.();
      return;
    }
    void this.report(c);
  }

  private async report(c: Conn): Promise<void> {
    const done = c.done;
    try {
      if (c.writer) {
        const w = c.writer;
        await new Promise<void>((resolve) => {
          if (w.closed) return resolve();
          w.once("close", () => resolve());
          w.end();
        });
        if (c.saveError === undefined) this.stats.saved++;
      }
      this.stats.uploads++;
      const info = c.info as StatusInfo;
      this.emit("upload", {
        ...info,
        head: Buffer.concat(c.head, c.headSize),
        bytes: c.bytes,
        lines: c.newlines + (c.bytes > 0 && c.lastByte !== 0x0a ? 1 : 0),
        truncated: c.truncated,
        timedOut: c.timedOut,
        overtime: c.overtime,
        interrupted: c.interrupted,
        savedAs: c.saveError === undefined ? c.savedAs : undefined,
        saveError: c.saveError,
        notSavedFull: c.notSavedFull,
      });
    } catch (e) {
      this.emit("warning", e as Error, c.from);
    } finally {
      done?.();
    }
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
    for (const c of this.conns) c.sock.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    await this.drain();
  }
}
