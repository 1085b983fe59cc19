/**
 * The reliability layer's control messages. All are sent with SEQ 0 (unsequenced: not part of
 * the sender's stream) and keep the original's four-field header, so the original's programs
 * parse them, print them or ignore them:
 *
 *   ID 0 NACK SENDER SEQ                    "I miss SENDER's message SEQ"
 *   ID 0 RSND SENDER SEQ OPCODE DEST ARGS…  a copy of SENDER's message SEQ, from ID (any holder)
 *   ID 0 SKIP SENDER SEQ                    "don't wait for it": a BEAT, or no longer held
 *   ID 0 LAST * SEQ age=MS first=F since=MS nb=K1.K2…
 *                                           "my latest message is SEQ, sent MS ago; my stream
 *                                            under this id began at F, MS ago" (tail loss); nb=
 *                                            lists my latest non-BEATs, newest first (at most
 *                                            NB_MAX; fewer: all since F): the rest were BEATs
 *
 * Pure: parse and format, no I/O.
 */
import { afterFields, type ChanMessage, parseLine, withoutTag } from "../codec.js";
import { isControlOpcode, LAST, NACK, RSND, SKIP, TAG, WILDCARD } from "../protocol.js";

// The opcodes live in protocol.ts with the others; re-exported for the layer's own modules.
export { bodyOf } from "../codec.js";
export { isControlOpcode, LAST, NACK, RSND, SKIP } from "../protocol.js";

export type Control =
  | { kind: typeof NACK; sender: string; seq: number }
  | { kind: typeof SKIP; sender: string; seq: number }
  | { kind: typeof RSND; sender: string; seq: number; body: string; message: ChanMessage }
  | { kind: typeof LAST; seq: number; age?: number; first?: number; since?: number; nb?: number[] };

export type LastControl = Extract<Control, { kind: typeof LAST }>;

export type ControlResult = { ok: true; control: Control } | { ok: false; reason: string };

/** True if the layer consumes this message rather than the application. */
export function isControl(msg: ChanMessage): boolean {
  return msg.seq === 0 && isControlOpcode(msg.opcode);
}

const UINT = /^[0-9]{1,15}$/;

function seqOf(s: string | undefined): number | undefined {
  if (s === undefined || !UINT.test(s)) return undefined;
  const n = Number(s);
  return n >= 1 ? n : undefined;
}

function msOf(s: string | undefined): number | undefined {
  return s !== undefined && UINT.test(s) ? Number(s) : undefined;
}

/** Parse a control message (isControl(msg) must hold). Never throws. */
export function parseControl(msg: ChanMessage): ControlResult {
  const seq = seqOf(msg.words[0]);
  if (seq === undefined) return { ok: false, reason: "bad-seq" };
  switch (msg.opcode) {
    case NACK:
    case SKIP:
      if (msg.dest === WILDCARD) return { ok: false, reason: "no-sender" };
      return { ok: true, control: { kind: msg.opcode, sender: msg.dest, seq } };
    case RSND: {
      if (msg.dest === WILDCARD) return { ok: false, reason: "no-sender" };
      // ID 0 RSND SENDER SEQ BODY: the body verbatim, as its sender sent it.
      const body = afterFields(msg.text, 5) ?? "";
      const inner = parseLine(`${msg.dest} ${seq} ${body}`);
      if (!inner.ok) return { ok: false, reason: `bad-body:${inner.reason}` };
      return { ok: true, control: { kind: RSND, sender: msg.dest, seq, body, message: inner.msg } };
    }
    case LAST: {
      const tags = msg.tags;
      return {
        ok: true,
        control: {
          kind: LAST,
          seq,
          age: msOf(tags[TAG.age]),
          first: seqOf(tags[TAG.first]),
          since: msOf(tags[TAG.since]),
          nb: nbOf(tags[TAG.nb]),
        },
      };
    }
    default:
      return { ok: false, reason: "not-control" };
  }
}

/** Arguments (after OPCODE DEST) of each control message, for MessageLink.sendAs(id, 0, ...). */
export function nackArgs(seq: number): string[] {
  return [String(seq)];
}

export function rsndArgs(seq: number, body: string): string[] {
  return [String(seq), body];
}

/** Most non-BEAT numbers a LAST lists. */
export const NB_MAX = 8;

export function lastArgs(seq: number, ageMs: number, first: number, sinceMs: number, nb?: readonly number[]): string[] {
  const args = [
    String(seq),
    `${TAG.age}=${Math.round(ageMs)}`,
    `${TAG.first}=${first}`,
    `${TAG.since}=${Math.round(sinceMs)}`,
  ];
  if (nb !== undefined) args.push(`${TAG.nb}=${nb.length === 0 ? "0" : nb.join(".")}`);
  return args;
}

/** `nb=K1.K2…` (or `nb=0`: none), newest first; undefined if absent or malformed. */
function nbOf(s: string | undefined): number[] | undefined {
  if (s === undefined) return undefined;
  if (s === "0") return [];
  const parts = s.split(".");
  if (parts.length > NB_MAX) return undefined;
  const out: number[] = [];
  for (const p of parts) {
    const n = seqOf(p);
    if (n === undefined || (out.length > 0 && n >= (out[out.length - 1] as number))) return undefined;
    out.push(n);
  }
  return out;
}

/**
 * Tag on every BEAT a reliable sender sends: `prior=K`, the sequence number of its latest message
 * that is not a BEAT (0: none under this id). A receiver missing numbers between K and the BEAT
 * knows they were BEATs, which are never resent, and does not NACK them.
 */
export function priorTag(seq: number): string {
  return `${TAG.prior}=${seq}`;
}

/** K of a `prior=K` tag in last position (where the layer puts it), or undefined (the
 *  original's bots, other messages). Tags keep their wire order. */
export function priorOf(msg: ChanMessage): number | undefined {
  if (Object.keys(msg.tags).at(-1) !== TAG.prior) return undefined;
  const k = msg.tags[TAG.prior];
  return k !== undefined && UINT.test(k) ? Number(k) : undefined;
}

/** The message without its prior= tag (the layer consumes it; applications never see it). */
export function withoutPrior(msg: ChanMessage): ChanMessage {
  return withoutTag(msg, TAG.prior);
}
