/**
 * The MAC trailer of a signed datagram. A keyed peer appends three tags to every line it sends,
 * last, after every other tag:
 *
 *   E26CB171 7 BEAT * Beep state=asimov prior=3 ts=1763900000123 sid=Qm9iLXNpZDE mac=kq1Xb0Z8yP3wR2mT5nVj9A
 *
 * - `ts`  the sender's wall clock when it sent the line, milliseconds since 1970 (decimal);
 * - `sid` the sender's session: 8 random bytes drawn at start (base64url, 11 characters), never
 *   from -seed, so a restarted program never reuses one;
 * - `mac` HMAC-SHA256, with the ring's signing key, over the UTF-8 bytes of everything before
 *   ` mac=` (SENDER SEQ OPCODE DEST ARGS, every tag, ts and sid), truncated to its first 16 bytes
 *   (128 bits), base64url without padding (22 characters).
 *
 * A peer without the key sees three more tags, which the original's programs ignore or print.
 * Pure: no I/O, no clock (the caller gives ts and sid).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { TAG } from "../protocol.js";

export const MAC_BYTES = 16;
export const SID_BYTES = 8;
export const TS_TAG = TAG.ts;
export const SID_TAG = TAG.sid;
export const MAC_TAG = TAG.mac;
const MAC_CHARS = 22;
const SID_CHARS = 11;
/** Most bytes the trailer adds to a line: ` ts=` + 13 digits (until the year 2286),
 *  ` sid=` + 11, ` mac=` + 22. */
export const AUTH_OVERHEAD = 4 + 13 + 5 + SID_CHARS + 5 + MAC_CHARS;

/** A fresh session id (random, never seeded). */
export function newSessionId(): string {
  return randomBytes(SID_BYTES).toString("base64url");
}

export function isSessionId(s: string): boolean {
  return /^[A-Za-z0-9_-]{11}$/.test(s) && Buffer.from(s, "base64url").toString("base64url") === s;
}

function hmac(key: Buffer, signed: string): Buffer {
  return createHmac("sha256", key).update(signed, "utf8").digest().subarray(0, MAC_BYTES);
}

/** The line with its trailer: `LINE ts=TS sid=SID mac=MAC`. */
export function signLine(line: string, key: Buffer, ts: number, sid: string): string {
  const signed = `${line} ${TS_TAG}=${Math.floor(ts)} ${SID_TAG}=${sid}`;
  return `${signed} ${MAC_TAG}=${hmac(key, signed).toString("base64url")}`;
}

export type Trailer =
  /** No trailer: the last token is not `mac=…`. */
  | { kind: "none" }
  /** Something that looks like a trailer but is not a whole, well-formed one (truncated,
   *  altered, out of order). */
  | { kind: "malformed" }
  | {
      kind: "signed";
      /** The line without its trailer. */
      line: string;
      /** What the MAC covers: the line with ts and sid. */
      signed: string;
      /** `ts=… sid=… mac=…` as received (an RSND of this message carries it again). */
      trailer: string;
      ts: number;
      sid: string;
      mac: Buffer;
      /** The MAC as received (canonical base64url). */
      macText: string;
    };

const TRAILER = / ts=([0-9]{1,16}) sid=([A-Za-z0-9_-]{11}) mac=([A-Za-z0-9_-]{22})$/;

/** Split the trailer off a received line (already trimmed). Linear in the line's length. */
export function splitTrailer(text: string): Trailer {
  const at = text.lastIndexOf(" mac=");
  if (at < 0 || text.indexOf(" ", at + 1) >= 0) return { kind: "none" };
  // Only the tail is matched: ts (≤16) + sid (11) + mac (22) and separators fit in 80 chars.
  const from = Math.max(0, at - 40);
  const m = TRAILER.exec(text.slice(from));
  if (!m) return { kind: "malformed" };
  const [, tsText, sid, macText] = m as unknown as [string, string, string, string];
  const start = from + m.index + 1;
  const ts = Number(tsText);
  const mac = Buffer.from(macText, "base64url");
  // base64url of 16 bytes leaves 4 unused bits in the last character: refuse any spelling but
  // the canonical one, or a replayed datagram could pass as a new one with another spelling.
  if (mac.length !== MAC_BYTES || mac.toString("base64url") !== macText || !isSessionId(sid)) {
    return { kind: "malformed" };
  }
  if (!Number.isSafeInteger(ts)) return { kind: "malformed" };
  const line = text.slice(0, start - 1);
  return { kind: "signed", line, signed: text.slice(0, at), trailer: text.slice(start), ts, sid, mac, macText };
}

/** Which key of the ring made this MAC (its index), or -1. Every key is tried and compared in
 *  constant time, so the time taken tells nothing of which matched or how much. */
export function verifyMac(keys: readonly Buffer[], signed: string, mac: Buffer): number {
  if (mac.length !== MAC_BYTES) return -1;
  let found = -1;
  keys.forEach((key, i) => {
    if (timingSafeEqual(hmac(key, signed), mac) && found < 0) found = i;
  });
  return found;
}
