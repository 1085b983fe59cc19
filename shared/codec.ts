/**
 * Wire codec: one datagram = one line of UTF-8 text,
 *   SENDER SEQ OPCODE DEST [ARGS...]
 * Pure functions, no I/O. Parsing never throws: it returns a message or a reason.
 * See protocol.md for the field rules.
 */

/** Default maximum datagram size, as in the original (PKT_SIZE). */
export const DEFAULT_PKT_SIZE = 1024;

import { WILDCARD } from "./protocol.js";

/** A peer id: bots use 8 hex digits, the original supervisor HUMAN, ours HUMAN-xxxx (the
 *  conventions are in protocol.ts); the codec accepts any id of this shape. */
const PEER_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const SEQ = /^[0-9]{1,16}$/;
const OPCODE = /^[A-Z]{4}$/;

/** Trailing `key=value` tags by name. A null-prototype object: any name (even toString) is a
 *  plain key, and a name not present reads as undefined. */
export type Tags = Readonly<Record<string, string>>;

/**
 * A parsed message. The fields after DEST are parsed once, here: `words` then `tags`. `text` is
 * the line as received, for printing and logging only (never parse it again).
 */
export interface ChanMessage {
  sender: string;
  seq: number;
  opcode: string;
  dest: string;
  /** The whitespace-separated words after DEST, before the trailing tags: the human text
   *  ("All meatbags must die"), a file name, a control message's numbers. May be empty. */
  words: readonly string[];
  /** The trailing `key=value` tags (names in protocol.ts TAG), e.g. { state: "asimov" }. */
  tags: Tags;
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
  const { words, tags } = splitTags(rest === "" ? [] : rest.split(/\s+/));
  return { ok: true, msg: { sender, seq, opcode, dest, words, tags, text } };
}

/**
 * The text of `line` after its first `n` whitespace-separated fields, verbatim (trimmed), or
 * undefined if it has fewer than n + 1 fields. Linear in the length of the line.
 */
export function afterFields(line: string, n: number): string | undefined {
  let i = 0;
  const len = line.length;
  const space = (c: string | undefined): boolean => c !== undefined && /\s/.test(c);
  while (i < len && space(line[i])) i++;
  for (let k = 0; k < n; k++) {
    while (i < len && !space(line[i])) i++;
    while (i < len && space(line[i])) i++;
  }
  if (i >= len) return undefined;
  return line.slice(i).trimEnd();
}

/** The body of a received message (`OPCODE DEST WORDS... TAGS...`) as it came, which is what
 *  an RSND carries. */
export function bodyOf(msg: ChanMessage): string {
  return afterFields(msg.text, 2) ?? formatBody(msg.opcode, msg.dest);
}

/** The arguments after DEST as they would be sent again: words, then tags. */
export function argsOf(msg: Pick<ChanMessage, "words" | "tags">): string[] {
  return withTags(msg.words, msg.tags);
}

/**
 * The message without the tag `key` (a layer that consumes a tag, such as the reliability
 * layer's prior=, hides it from the application): gone from `tags` and from `text`.
 */
export function withoutTag(msg: ChanMessage, key: string): ChanMessage {
  const value = msg.tags[key];
  if (value === undefined) return msg;
  const tags: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(msg.tags)) if (k !== key) tags[k] = v;
  // The tag is the last whole token `key=value` of the line (the trailing run holds it, and
  // when a key repeats the one closest to the end is the one parsed).
  const token = `${key}=${value}`;
  const line = msg.text;
  const space = (c: string | undefined): boolean => c === undefined || /\s/.test(c);
  let text = line;
  for (let at = line.lastIndexOf(token); at > 0; at = line.lastIndexOf(token, at - 1)) {
    if (space(line[at - 1]) && space(line[at + token.length])) {
      text = `${line.slice(0, at).trimEnd()}${line.slice(at + token.length)}`.trimEnd();
      break;
    }
  }
  return { ...msg, tags, text };
}

/** The body of a message: everything after SENDER SEQ. */
export function formatBody(opcode: string, dest: string, args: readonly string[] = []): string {
  return args.length === 0 ? `${opcode} ${dest}` : `${opcode} ${dest} ${args.join(" ")}`;
}

/** A whole line, byte-for-byte as the original sends it: `E26CB171 7 BEAT * Beep`. */
export function formatLine(sender: string, seq: number, body: string): string {
  return `${sender} ${seq} ${body}`;
}

/** A parsed message formatted again (single spaces; tags after words, in wire order). */
export function formatMessage(m: Pick<ChanMessage, "sender" | "seq" | "opcode" | "dest" | "words" | "tags">): string {
  return formatLine(m.sender, m.seq, formatBody(m.opcode, m.dest, argsOf(m)));
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
  tags: Tags;
}

/** True if this word would be read as a tag in trailing position. */
export function isTag(word: string): boolean {
  return TAG.test(word);
}

/** Split trailing `key=value` tags off a message's arguments (parseLine does this for every
 *  message; this is the one tag parser). Tags keep their wire order; when a key repeats, the
 *  occurrence closest to the end wins. */
export function splitTags(args: readonly string[]): Tagged {
  let end = args.length;
  while (end > 0 && TAG.test(args[end - 1] as string)) end--;
  const tags: Record<string, string> = Object.create(null);
  for (let i = end; i < args.length; i++) {
    const m = TAG.exec(args[i] as string) as RegExpExecArray;
    const key = m[1] as string;
    // Re-inserting a repeated key moves it to its last position.
    delete tags[key];
    tags[key] = m[2] as string;
  }
  return { words: args.slice(0, end), tags };
}

/** Append tags (in the given order) to arguments. */
export function withTags(
  words: readonly string[],
  tags: Readonly<Record<string, string | number | undefined>>,
): string[] {
  const out = [...words];
  for (const [k, v] of Object.entries(tags)) if (v !== undefined && v !== "") out.push(`${k}=${v}`);
  return out;
}
