/**
 * The supervisor's web view over node:http: the page and its assets, the roster in pages, the
 * live batches as Server-Sent Events, uploads for viewing, and commands to the group.
 *
 * Safety:
 * - It listens on one address (127.0.0.1 unless told otherwise) and answers only requests whose
 *   Host names that address or a loopback name with our port (a page on another site cannot
 *   reach it through DNS rebinding).
 * - Data and commands need the secret token printed on the console at start (Jupyter's pattern:
 *   a URL carrying it); GET requests pass it as ?token=, commands as an X-Token header on a
 *   JSON POST whose Origin, when sent, is our own. The page shell, its script and style and the
 *   translations need none: they hold no data.
 * - Every answer carries a strict Content-Security-Policy (no inline script or style, nothing
 *   from elsewhere), nosniff, no-referrer; the page puts network text into the document only as
 *   text.
 * - Bounded: connections, event streams, the bytes buffered for a slow stream (its batches are
 *   skipped and it is resynchronised), request bodies, members per command.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createRequire } from "node:module";
import { dirname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Clock, TimerId } from "../../shared/clock.js";
import { isPeerId } from "../../shared/codec.js";
import { type Lang, localesDir, SUPPORTED, t } from "../../shared/i18n.js";
import { COMMAND_OPCODES, KILL, WILDCARD } from "../../shared/protocol.js";
import type { Member } from "../roster.js";
import type { WebModel } from "./model.js";
import { parseRosterQuery, queryRoster } from "./model.js";
import { CSP, PAGE_CSS, pageHtml } from "./page.js";
import type { Batch, CommandOutcome, Hello } from "./wire.js";

/** Opcodes the page may send. */
export const WEB_OPCODES = COMMAND_OPCODES;
/** Most members one command from the page may name (each gets its own datagram). */
export const MAX_DESTS = 1000;
/** What the page must send along with `KILL *`. */
export const KILL_ALL_CONFIRM = `${KILL} ${WILDCARD}`;

export interface WebServerOptions {
  /** Address to listen on; 127.0.0.1 unless told otherwise. */
  host: string;
  /** Port to try first; 0 for any free one. */
  port: number;
  model: WebModel;
  clock: Clock;
  /** The roster's members and the clock time their times are in. */
  members: () => Iterable<Member>;
  /** Send one command line as if typed; the sequence number or why not. */
  command: (line: string) => { seq: number } | { error: string };
  /** Language of the page when it does not ask for one. */
  lang: Lang;
  /** Shown on the page's header (our id, group, port). */
  about: Record<string, string | number>;
  /** Defaults to 32 random bytes, base64url. */
  token?: string;
  maxStreams?: number;
  maxConnections?: number;
  /** Bytes a stream may have waiting before its batches are skipped. */
  maxBuffered?: number;
}

export interface WebServerEvents {
  warning: [err: Error];
}

const MAX_BODY = 64 * 1024;

/** Where the page's compiled script lives: next to this file once built, else in dist/. */
function clientDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.includes(`${sep}dist${sep}`)
    ? join(here, "client")
    : join(here, "..", "..", "dist", "supervisor", "web", "client");
}

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, () => Asset> {
  const require = createRequire(import.meta.url);
  const file = (path: () => string, type: string) => {
    let cached: Asset | undefined;
    return () => {
      cached ??= { type, body: readFileSync(path()) };
      return cached;
    };
  };
  return new Map([
    ["/app.js", file(() => join(clientDir(), "app.js"), "text/javascript; charset=utf-8")],
    // app.js imports ../wire.js (what the server and the page share), which resolves here.
    ["/wire.js", file(() => join(clientDir(), "..", "wire.js"), "text/javascript; charset=utf-8")],
    ["/app.css", () => ({ type: "text/css; charset=utf-8", body: Buffer.from(PAGE_CSS) })],
    [
      "/vendor/uPlot.iife.min.js",
      file(() => require.resolve("uplot/dist/uPlot.iife.min.js"), "text/javascript; charset=utf-8"),
    ],
    ["/vendor/uPlot.min.css", file(() => require.resolve("uplot/dist/uPlot.min.css"), "text/css; charset=utf-8")],
  ]);
}

/** Catalogue of one language, as the page's script reads it. */
export function catalogue(lang: Lang): Record<string, string> {
  return JSON.parse(readFileSync(join(localesDir(), lang, "translation.json"), "utf8")) as Record<string, string>;
}

function digest(s: string): Buffer {
  return createHash("sha256").update(s).digest();
}

interface Stream {
  res: ServerResponse;
  /** Batches skipped because the browser was not reading; it gets a fresh snapshot next. */
  skipped: number;
}

export class WebServer extends EventEmitter<WebServerEvents> {
  readonly token: string;
  private readonly tokenDigest: Buffer;
  private server: Server | undefined;
  private readonly streams = new Set<Stream>();
  private readonly assets = loadAssets();
  private readonly catalogues = new Map<Lang, string>();
  private timer: TimerId | undefined;
  private boundPort = 0;
  private readonly maxStreams: number;
  private readonly maxBuffered: number;
  /** Requests refused for a missing or wrong token (shown nowhere else; tests read it). */
  refused = 0;

  constructor(private readonly opts: WebServerOptions) {
    super();
    this.token = opts.token ?? randomBytes(32).toString("base64url");
    this.tokenDigest = digest(this.token);
    this.maxStreams = opts.maxStreams ?? 8;
    this.maxBuffered = opts.maxBuffered ?? 1024 * 1024;
  }

  get port(): number {
    return this.boundPort;
  }

  /** The address to open, token included. */
  url(): string {
    const host = this.opts.host.includes(":") ? `[${this.opts.host}]` : this.opts.host;
    return `http://${host}:${this.boundPort}/?token=${this.token}`;
  }

  /** Listen on the port asked for, or on a free one when it is taken (fallback: true). */
  async listen(): Promise<{ port: number; fallback: boolean }> {
    let fallback = false;
    try {
      this.boundPort = await this.tryListen(this.opts.port);
    } catch (e) {
      if (this.opts.port === 0 || (e as NodeJS.ErrnoException).code !== "EADDRINUSE") throw e;
      this.boundPort = await this.tryListen(0);
      fallback = true;
    }
    this.schedule();
    return { port: this.boundPort, fallback };
  }

  private tryListen(port: number): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    server.maxConnections = this.opts.maxConnections ?? 64;
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: this.opts.host, exclusive: true }, () => {
        server.off("error", reject);
        server.on("error", (err) => this.emit("warning", err));
        server.on("clientError", (_err, socket) => socket.destroy());
        this.server = server;
        const a = server.address();
        resolve(typeof a === "object" && a ? a.port : port);
      });
    });
  }

  private schedule(): void {
    this.timer = this.opts.clock.setTimeout(() => {
      this.schedule();
      this.broadcast(this.opts.model.flush());
    }, this.opts.model.batchMs);
  }

  /** Send one batch to every stream; a stream that is not read falls behind instead of growing. */
  broadcast(batch: Batch): void {
    const data = `event: batch\ndata: ${JSON.stringify(batch)}\n\n`;
    for (const s of this.streams) {
      if (s.res.writableLength > this.maxBuffered) {
        s.skipped++;
        continue;
      }
      if (s.skipped > 0) {
        s.skipped = 0;
        this.sendSnapshot(s.res);
      } else s.res.write(data);
    }
  }

  private sendSnapshot(res: ServerResponse): void {
    const hello: Hello = { about: this.opts.about, ...this.opts.model.snapshot() };
    res.write(`event: hello\ndata: ${JSON.stringify(hello)}\n\n`);
  }

  private headers(type: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      "Content-Type": type,
      "Content-Security-Policy": CSP,
      "X-Content-Type-Options": "nosniff",
      "Referrer-Policy": "no-referrer",
      "Cross-Origin-Resource-Policy": "same-origin",
      "X-Frame-Options": "DENY",
      ...extra,
    };
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra = {}): void {
    res.writeHead(status, this.headers(type, extra));
    res.end(body);
  }

  private json(res: ServerResponse, status: number, value: unknown): void {
    this.send(res, status, "application/json; charset=utf-8", JSON.stringify(value), { "Cache-Control": "no-store" });
  }

  private error(res: ServerResponse, status: number, message: string): void {
    this.json(res, status, { error: message });
  }

  /** Host names a request may carry: our address and the loopback names, with our port. */
  private hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const p = this.boundPort;
    const mine = this.opts.host.includes(":") ? `[${this.opts.host}]` : this.opts.host;
    return [`${mine}:${p}`, `127.0.0.1:${p}`, `localhost:${p}`, `[::1]:${p}`].includes(host.toLowerCase());
  }

  private tokenOk(given: string | null | undefined): boolean {
    if (typeof given !== "string" || given === "") return false;
    return timingSafeEqual(digest(given), this.tokenDigest);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    try {
      this.route(req, res);
    } catch (e) {
      this.emit("warning", e as Error);
      if (!res.headersSent) this.error(res, 500, t("Internal error"));
      else res.destroy();
    }
  }

  private route(req: IncomingMessage, res: ServerResponse): void {
    if (!this.hostAllowed(req.headers.host)) {
      this.error(res, 403, t("Unknown host name"));
      return;
    }
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    if (req.method === "POST" && path === "/api/command") {
      this.commandRequest(req, res);
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      this.send(res, 405, "text/plain; charset=utf-8", "", { Allow: "GET, HEAD, POST" });
      return;
    }
    if (path === "/") {
      const lang = this.langOf(url.searchParams.get("lang"));
      this.send(res, 200, "text/html; charset=utf-8", pageHtml(lang), { "Cache-Control": "no-store" });
      return;
    }
    const asset = this.assets.get(path);
    if (asset) {
      const a = asset();
      this.send(res, 200, a.type, a.body, { "Cache-Control": "no-cache" });
      return;
    }
    if (path === "/api/i18n") {
      this.i18nRequest(url, res);
      return;
    }
    if (!path.startsWith("/api/")) {
      this.error(res, 404, t("Not found"));
      return;
    }
    if (!this.tokenOk(url.searchParams.get("token"))) {
      this.refused++;
      this.error(res, 401, t("This needs the token printed on the supervisor's console"));
      return;
    }
    if (path === "/api/events") {
      this.eventsRequest(req, res);
      return;
    }
    if (path === "/api/roster") {
      const q = parseRosterQuery(url.searchParams);
      this.json(res, 200, queryRoster(this.opts.members(), q, this.opts.clock.now()));
      return;
    }
    const m = /^\/api\/uploads\/(\d{1,9})$/.exec(path);
    if (m) {
      const view = this.opts.model.uploadView(Number(m[1]));
      if (view) this.json(res, 200, view);
      else this.error(res, 404, t("No such upload (or it was forgotten)"));
      return;
    }
    this.error(res, 404, t("Not found"));
  }

  private langOf(asked: string | null): Lang {
    return (SUPPORTED as readonly string[]).includes(asked ?? "") ? (asked as Lang) : this.opts.lang;
  }

  private i18nRequest(url: URL, res: ServerResponse): void {
    const lang = this.langOf(url.searchParams.get("lang"));
    let body = this.catalogues.get(lang);
    if (body === undefined) {
      body = JSON.stringify({ lang, strings: catalogue(lang) });
      this.catalogues.set(lang, body);
    }
    this.send(res, 200, "application/json; charset=utf-8", body, { "Cache-Control": "no-cache" });
  }

  private eventsRequest(req: IncomingMessage, res: ServerResponse): void {
    if (this.streams.size >= this.maxStreams) {
      this.error(res, 503, t("Too many pages are open on this supervisor"));
      return;
    }
    res.writeHead(200, this.headers("text/event-stream; charset=utf-8", { "Cache-Control": "no-store" }));
    const stream: Stream = { res, skipped: 0 };
    this.streams.add(stream);
    res.write(`retry: 2000\n\n`);
    this.sendSnapshot(res);
    const drop = () => this.streams.delete(stream);
    req.on("close", drop);
    res.on("error", drop);
  }

  private commandRequest(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      this.error(res, 403, t("Commands are accepted from this supervisor's own page only"));
      return;
    }
    const token = req.headers["x-token"];
    if (!this.tokenOk(Array.isArray(token) ? token[0] : token)) {
      this.refused++;
      req.resume();
      this.error(res, 401, t("This needs the token printed on the supervisor's console"));
      return;
    }
    if (!/^application\/json\b/.test(req.headers["content-type"] ?? "")) {
      req.resume();
      this.error(res, 415, t("Commands are sent as JSON"));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooLarge = true;
      else chunks.push(c);
    });
    req.on("end", () => {
      if (tooLarge) {
        this.error(res, 413, t("The request is too large"));
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        this.error(res, 400, t("The request is not valid JSON"));
        return;
      }
      const r = this.runCommand(body);
      if ("error" in r) {
        this.error(res, r.status, r.error);
        return;
      }
      this.json(res, 200, { outcomes: r.outcomes });
    });
    req.on("error", () => res.destroy());
  }

  /** Check a command from the page and send it, one datagram per member named. */
  runCommand(body: unknown): { outcomes: CommandOutcome[] } | { error: string; status: number } {
    const b = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
    const opcode = typeof b.opcode === "string" ? b.opcode.toUpperCase() : "";
    if (!(WEB_OPCODES as readonly string[]).includes(opcode)) {
      return { status: 400, error: t("The opcode must be one of PING, UPLD, KILL, RSET") };
    }
    const dests = Array.isArray(b.dests) ? b.dests : [];
    if (dests.length === 0 || !dests.every((d): d is string => typeof d === "string")) {
      return { status: 400, error: t("Name at least one member, or *") };
    }
    if (dests.length > MAX_DESTS) {
      return { status: 400, error: t("At most {{max}} members per command", { max: MAX_DESTS }) };
    }
    if (dests.includes(WILDCARD) && dests.length > 1) return { status: 400, error: t("* goes alone") };
    if (!dests.every((d) => d === WILDCARD || isPeerId(d))) {
      return { status: 400, error: t("Every destination must be a member id or *") };
    }
    if (opcode === KILL && dests[0] === WILDCARD && b.confirm !== KILL_ALL_CONFIRM) {
      return { status: 409, error: t("KILL * needs confirmation") };
    }
    let file = "";
    if (opcode === "UPLD" && typeof b.file === "string" && b.file.trim() !== "") {
      file = b.file.trim();
      if (/\s/.test(file)) return { status: 400, error: t("A file name cannot contain spaces") };
    }
    const outcomes = dests.map((dest): CommandOutcome => {
      const r = this.opts.command(`${opcode} ${dest}${file === "" ? "" : ` ${file}`}`);
      return "seq" in r ? { dest, seq: r.seq } : { dest, error: r.error };
    });
    return { outcomes };
  }

  /** Stop serving: streams ended, connections closed. */
  async close(): Promise<void> {
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.streams) s.res.end();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  get streamCount(): number {
    return this.streams.size;
  }
}
