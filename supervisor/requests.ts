/**
 * What the supervisor asked for, and what came back: each PING, UPLD and KILL sent is a request
 * with the bots expected to answer (the one named, or every bot in the roster for `*`) and a
 * deadline. Answers are matched as they arrive (a BEAT after a PING, an upload after an UPLD, an
 * EXIT after a KILL); a request is reported once, when every expected bot has answered (and, for
 * `*`, the bots' random backoff has passed) or at its deadline. Uploads nobody asked for are
 * refused by the upload server from acceptUpload().
 *
 * Pure: times come from the caller; reports are returned, not printed.
 */
import { BEAT, EXIT, KILL, PING, UPLD, WILDCARD } from "../shared/protocol.js";

export type RequestOpcode = typeof PING | typeof UPLD | typeof KILL;

export interface Request {
  n: number;
  opcode: RequestOpcode;
  dest: string;
  /** UPLD: the file asked for. */
  file?: string;
  sentAt: number;
  /** Answers count until then; reported then at the latest. */
  deadline: number;
  /** For `*`: not reported before this even when every expected bot has answered. */
  notBefore: number;
  /** Bots expected to answer. */
  expected: Set<string>;
  /** Bots that answered (with an upload of any status, for UPLD). */
  answered: Set<string>;
  /** How many of the expected bots answered (kept as answers come: no recount per message). */
  got: number;
  /** Answers from bots not expected (not in the roster when `*` was sent). */
  extra: number;
  /** UPLD: answers whose status was not 200 (id → code). */
  failed: Map<string, number | undefined>;
  /** Expected bots that left (EXIT, aged out) before answering: no longer expected. */
  gone: Set<string>;
}

export interface RequestReport {
  request: Request;
  /** Missing answers (expected, not answered). */
  missing: string[];
  /** Reported before its deadline because the table was full or the script ended. */
  cut: boolean;
  at: number;
}

export interface RequestsOptions {
  /** Bots answer `*` after a random wait below this, ms. */
  backoffMs: number;
  /** Extra time past backoff for PING and KILL answers to arrive, ms. */
  graceMs: number;
  /** Extra time past backoff for uploads to arrive, ms. */
  uploadWaitMs: number;
  /** Most requests open at once; the oldest is reported early beyond it. */
  maxOpen?: number;
}

export class Requests {
  private readonly open: Request[] = [];
  private count = 0;
  private readonly maxOpen: number;
  /** Totals over the whole run, for a script's exit status and tally. */
  readonly totals = { uploadsAsked: 0, uploaded: 0, uploadsFailed: 0, uploadsMissing: 0, extraUploads: 0 };

  constructor(private readonly opts: RequestsOptions) {
    this.maxOpen = opts.maxOpen ?? 10_000;
  }

  /** Record a request sent; returns reports of requests pushed out by the cap. */
  sent(
    opcode: string,
    dest: string,
    file: string | undefined,
    expected: Iterable<string>,
    now: number,
  ): RequestReport[] {
    if (opcode !== PING && opcode !== UPLD && opcode !== KILL) return [];
    const wait = opcode === UPLD ? this.opts.uploadWaitMs : this.opts.graceMs;
    const r: Request = {
      n: ++this.count,
      opcode,
      dest,
      file,
      sentAt: now,
      deadline: now + this.opts.backoffMs + wait,
      notBefore: dest === WILDCARD ? now + this.opts.backoffMs + this.opts.graceMs : now,
      expected: new Set(expected),
      answered: new Set(),
      got: 0,
      extra: 0,
      failed: new Map(),
      gone: new Set(),
    };
    this.open.push(r);
    const out: RequestReport[] = [];
    while (this.open.length > this.maxOpen) out.push(this.close(this.open[0] as Request, now, true));
    return out;
  }

  /** Requests not yet reported. */
  get pending(): number {
    return this.open.length;
  }

  /** Uploads still awaited from bots (for a script's end). */
  awaitedUploads(): number {
    let n = 0;
    for (const r of this.open) if (r.opcode === UPLD) n += r.expected.size - r.got;
    return n;
  }

  private matches(r: Request, id: string): boolean {
    return r.dest === WILDCARD || r.dest.toLowerCase() === id.toLowerCase();
  }

  private record(r: Request, sender: string): void {
    const id = r.dest === WILDCARD ? sender : r.dest;
    if (r.answered.has(id)) return;
    r.answered.add(id);
    if (r.expected.has(id)) r.got++;
    else r.extra++;
  }

  /** A message heard from a bot: a BEAT answers its PINGs, an EXIT its KILLs. */
  heard(sender: string, opcode: string, now: number): RequestReport[] {
    const want = opcode === BEAT ? PING : opcode === EXIT ? KILL : undefined;
    if (want === undefined || this.open.length === 0) return [];
    let recorded = false;
    for (const r of this.open) {
      if (r.opcode === want && now <= r.deadline && this.matches(r, sender)) {
        this.record(r, sender);
        recorded = true;
      }
    }
    return recorded ? this.due(now) : [];
  }

  /**
   * An upload's status line: whether it answers an open UPLD (the first such request that has
   * not had an upload from this bot yet). Uploads nobody asked for are refused.
   */
  acceptUpload(botId: string | undefined, file: string | undefined, code: number | undefined, now: number): boolean {
    if (botId === undefined) return false;
    for (const r of this.open) {
      if (r.opcode !== UPLD || now > r.deadline || !this.matches(r, botId)) continue;
      const id = r.dest === WILDCARD ? botId : r.dest;
      if (r.answered.has(id)) continue;
      if (r.file !== undefined && file !== undefined && r.file !== file) continue;
      this.record(r, botId);
      if (code !== 200) r.failed.set(id, code);
      return true;
    }
    return false;
  }

  /** A bot left the group: PINGs and UPLDs stop waiting for it (a KILL's answer is its EXIT). */
  left(id: string, now: number): RequestReport[] {
    for (const r of this.open) {
      if (r.opcode === KILL || !r.expected.has(id) || r.answered.has(id)) continue;
      r.expected.delete(id);
      r.gone.add(id);
    }
    return this.due(now);
  }

  /** Reports of requests complete or past their deadline. */
  due(now: number): RequestReport[] {
    const out: RequestReport[] = [];
    for (const r of [...this.open]) {
      const complete = r.expected.size + r.gone.size > 0 && r.got === r.expected.size;
      if (now >= r.deadline || (complete && now >= r.notBefore)) out.push(this.close(r, now, false));
    }
    return out;
  }

  /** The earliest time a report may fall due (for a timer). */
  nextDue(now: number): number | undefined {
    let t: number | undefined;
    for (const r of this.open) {
      const at = r.notBefore > now ? r.notBefore : r.deadline;
      t = t === undefined ? at : Math.min(t, at);
    }
    return t;
  }

  /** Report every open request now (end of a script). */
  closeAll(now: number): RequestReport[] {
    return [...this.open].map((r) => this.close(r, now, now < r.deadline));
  }

  private close(r: Request, now: number, cut: boolean): RequestReport {
    const i = this.open.indexOf(r);
    if (i >= 0) this.open.splice(i, 1);
    const missing = [...r.expected].filter((id) => !r.answered.has(id)).sort();
    if (r.opcode === UPLD) {
      const got = r.got;
      const failed = countIn(r.expected, new Set(r.failed.keys()));
      this.totals.uploadsAsked += r.expected.size;
      this.totals.uploaded += got - failed;
      this.totals.uploadsFailed += failed;
      this.totals.uploadsMissing += r.expected.size - got;
      this.totals.extraUploads += r.extra;
    }
    return { request: r, missing, cut, at: now };
  }
}

function countIn(set: Set<string>, of: Set<string>): number {
  let n = 0;
  for (const id of of) if (set.has(id)) n++;
  return n;
}
