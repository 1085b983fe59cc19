/**
 * Wire codec: one datagram = one line of UTF-8 text,
 *   SENDER SEQ OPCODE DEST [ARGS...]
 * Pure functions, no I/O. Parsing never throws: it returns a message or a reason.
 * See protocol.md for the field rules.
 */

/** Default maximum datagram size, as in the original (PKT_SIZE). */
export const DEFAULT_PKT_SIZE = 1024;

/** Destination meaning "everyone" (or "informational, no action"). */
export const WILDCARD = "*";

/** A peer id: bots use 8 hex digits, the original supervisor HUMAN, ours HUMAN-xxxx. */
const PEER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const SEQ = /^[0-9]{1,16}$/;
const OPCODE = /^[A-Z]{4}$/;

export interface ChanMessage {
  sender: string;
  seq: number;
  opcode: string;
  dest: string;
  /** Whitespace-separated arguments after DEST (may be empty). */
  args: string[];
  /** The text after DEST exactly as received (trimmed), e.g. "All meatbags must die". */
  rest: string;
  /** The whole line as received (trimmed). */
  text: string;
  /** With a group key (shared/keys/): true when the MAC verified, false for an unsigned message
   *  let through by acceptUnsigned. Absent when we hold no key. */
  verified?: boolean;
  /** The MAC trailer as received (`ts=… sid=… mac=…`), taken off the message; an RSND of the
   *  message carries it again so receivers verify the original. */
  auth?: string;
}

/** Why a datagram was rejected. Stable identifiers: they are counter names and log fields. */
export type InvalidReason = "oversize" | "too-few-fields" | "bad-sender" | "bad-seq" | "bad-opcode" | "bad-dest";

export type ParseResult = { ok: true; msg: ChanMessage } | { ok: false; reason: InvalidReason; text: string };

const decoder = new TextDecoder("utf-8", { fatal: false });

export function isPeerId(s: string): boolean {
  return PEER_ID.test(s);
}

/** Decode bytes as UTF-8; invalid sequences become U+FFFD instead of failing. */
export function decodeDatagram(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** Parse a received datagram. Never throws. */
export function parseDatagram(bytes: Uint8Array, pktSize: number = DEFAULT_PKT_SIZE): ParseResult {
  const text = decodeDatagram(bytes.length > pktSize ? bytes.subarray(0, pktSize) : bytes).trim();
  if (bytes.length > pktSize) return { ok: false, reason: "oversize", text };
  return parseLine(text);
}

/** The four header fields, then the rest verbatim (RSND embeds a whole message). \s and \S are
 *  disjoint, so matching is linear in the length of the line. */
const HEADER = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+([\s\S]*))?$/;

/** Parse one line of text (already decoded). Never throws. */
export function parseLine(line: string): ParseResult {
  const text = line.trim();
  const head = HEADER.exec(text);
  if (!head) return { ok: false, reason: "too-few-fields", text };
  const [, sender, seqText, opcode, dest] = head as unknown as [string, string, string, string, string];
  if (!PEER_ID.test(sender)) return { ok: false, reason: "bad-sender", text };
  if (!SEQ.test(seqText)) return { ok: false, reason: "bad-seq", text };
  const seq = Number(seqText);
  if (!Number.isSafeInteger(seq)) return { ok: false, reason: "bad-seq", text };
  if (!OPCODE.test(opcode)) return { ok: false, reason: "bad-opcode", text };
  if (dest !== WILDCARD && !PEER_ID.test(dest)) return { ok: false, reason: "bad-dest", text };
  const rest = head[5] ?? "";
  const args = rest === "" ? [] : rest.split(/\s+/);
  return { ok: true, msg: { sender, seq, opcode, dest, args, rest, text } };
}

/** The body of a message: everything after SENDER SEQ. */
export function formatBody(opcode: string, dest: string, args: readonly string[] = []): string {
  return args.length === 0 ? `${opcode} ${dest}` : `${opcode} ${dest} ${args.join(" ")}`;
}

/** A whole line, byte-for-byte as the original sends it: `E26CB171 7 BEAT * Beep`. */
export function formatLine(sender: string, seq: number, body: string): string {
  return `${sender} ${seq} ${body}`;
}

export function formatMessage(m: Pick<ChanMessage, "sender" | "seq" | "opcode" | "dest" | "args">): string {
  return formatLine(m.sender, m.seq, formatBody(m.opcode, m.dest, m.args));
}

export function encodeLine(line: string): Buffer {
  return Buffer.from(line, "utf8");
}

/**
 * Our additions travel as trailing `key=value` tokens after the human text, e.g.
 * `E26CB171 7 BEAT * Beep state=asimov`, `HUMAN-3fa2 4 UPLD * results.data port=8001`.
 * The original's peers print them or ignore them (they read only args[0]).
 */
const TAG = /^([a-z][a-zA-Z]*)=(\S+)$/;

export interface Tagged {
  /** The arguments before the tags (the human text, or a file name). */
  words: string[];
  tags: Record<string, string>;
}

/** Split trailing `key=value` tags off a message's arguments. */
export function splitTags(args: readonly string[]): Tagged {
  let end = args.length;
  const tags: Record<string, string> = {};
  while (end > 0) {
    const m = TAG.exec(args[end - 1] as string);
    if (!m) break;
    const key = m[1] as string;
    // hasOwn, not `in`: a tag named toString or valueOf is a tag like any other.
    if (!Object.hasOwn(tags, key)) tags[key] = m[2] as string;
    end--;
  }
  return { words: args.slice(0, end), tags };
}

/** Append tags (in the given order) to arguments. */
export function withTags(words: readonly string[], tags: Record<string, string | number | undefined>): string[] {
  const out = [...words];
  for (const [k, v] of Object.entries(tags)) if (v !== undefined && v !== "") out.push(`${k}=${v}`);
  return out;
}
