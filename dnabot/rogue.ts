/**
 * Adversarial mode (issue 11, the digit-gossip seed's idea): a bot started with `-rogue=MODE`
 * is a rogue peer for testing. It does not research or beat; it sends one kind of hostile
 * traffic at `-rogueRate` datagrams per second (0: as fast as it can) for its lifespan, so
 * anyone can rehearse an attack (with spawnBots, or `npm run attack`) and see the group hold.
 *
 * This module is the pure part: which datagram comes next, from an injected RNG and what the
 * rogue has heard (victims: real bots' ids and their latest sequence numbers). rogue_main.ts
 * wires it to a socket and a clock.
 *
 *   ids        a BEAT from a new random sender id every datagram (per-sender state)
 *   last       forged `LAST * 999999999999999` from a new id every datagram (gap creation)
 *   rsnd       RSNDs of a victim's message with a huge sequence number (stream jumps)
 *   nack       NACKs for a victim's messages, from new ids (answer storms)
 *   beats      valid BEATs from one rogue id, numbered in order (floods)
 *   ping       `PING *` from one forged supervisor (reflection: every bot answers)
 *   upld       `UPLD * results.data port=22` from forged supervisors (connect-back abuse)
 *   malformed  fuzzed datagrams: every kind of invalid line, bad UTF-8, oversize, controls
 */
import { formatBody, formatLine } from "../shared/codec.js";
import { ASIMOV, BEAT, LAST, NACK, PING, RSND, supervisorId, TAG, UPLD, WILDCARD } from "../shared/protocol.js";
import { choice, type Rng, randInt } from "../shared/random.js";

export const ROGUE_MODES = ["ids", "last", "rsnd", "nack", "beats", "ping", "upld", "malformed"] as const;
export type RogueMode = (typeof ROGUE_MODES)[number];

export function isRogueMode(s: string): s is RogueMode {
  return (ROGUE_MODES as readonly string[]).includes(s);
}

/** A real peer the rogue has heard: its id and the highest sequence number seen from it. */
export interface Victim {
  id: string;
  seq: number;
}

/** The number a forged LAST claims (the largest the layer accepts: 15 digits). */
export const HUGE_SEQ = 999_999_999_999_999;
/** How far beyond a victim's real number a forged RSND claims to be. */
export const RSND_JUMP = 1_000_000_000_000;

/** 8 upper-case hex digits: a bot-shaped id nobody has used. */
export function randomBotId(rng: Rng): string {
  return randInt(rng, 0, 0xffffffff).toString(16).toUpperCase().padStart(8, "0");
}

function beatArgs(): string[] {
  return ["Beep", `${TAG.state}=${ASIMOV}`];
}

/** The next hostile datagram of one mode. Pure: everything comes from the RNG and the victims. */
export class RogueGenerator {
  private seq = 0;
  /** The rogue's own (forged) ids for the modes that keep one. */
  readonly selfId: string;
  private readonly supervisor: string;

  constructor(
    readonly mode: RogueMode,
    private readonly rng: Rng,
    private readonly pktSize: number,
  ) {
    this.selfId = randomBotId(rng);
    this.supervisor = supervisorId(randInt(rng, 0, 0xffff));
  }

  /** Bytes of the next datagram, given the victims heard so far (may be empty). */
  next(victims: readonly Victim[]): Buffer {
    return this.mode === "malformed" ? this.malformed() : Buffer.from(this.line(victims), "utf8");
  }

  /** The next line of the modes that send well-formed text. */
  line(victims: readonly Victim[]): string {
    const rng = this.rng;
    const victim = (): Victim =>
      victims.length > 0 ? (choice(rng, victims) as Victim) : { id: randomBotId(rng), seq: randInt(rng, 1, 100) };
    switch (this.mode) {
      case "ids":
        return formatLine(randomBotId(rng), randInt(rng, 1, 1000), formatBody(BEAT, WILDCARD, beatArgs()));
      case "last":
        return formatLine(
          randomBotId(rng),
          0,
          formatBody(LAST, WILDCARD, [String(HUGE_SEQ), `${TAG.age}=0`, `${TAG.first}=1`, `${TAG.since}=0`]),
        );
      case "rsnd": {
        const v = victim();
        const body = formatBody(BEAT, WILDCARD, beatArgs());
        return formatLine(this.selfId, 0, formatBody(RSND, v.id, [String(v.seq + RSND_JUMP), body]));
      }
      case "nack": {
        const v = victim();
        return formatLine(randomBotId(rng), 0, formatBody(NACK, v.id, [String(randInt(rng, 1, Math.max(1, v.seq)))]));
      }
      case "beats":
        return formatLine(this.selfId, ++this.seq, formatBody(BEAT, WILDCARD, beatArgs()));
      case "ping":
        return formatLine(this.supervisor, ++this.seq, formatBody(PING, WILDCARD));
      case "upld":
        return formatLine(
          supervisorId(randInt(rng, 0, 0xffff)),
          randInt(rng, 1, 1000),
          formatBody(UPLD, WILDCARD, ["results.data", `${TAG.port}=22`]),
        );
      case "malformed":
        return this.malformed().toString("latin1");
    }
  }

  /** One invalid (or borderline) datagram, of a randomly chosen kind. */
  malformed(): Buffer {
    const rng = this.rng;
    const valid = formatLine(this.selfId, randInt(rng, 1, 1000), formatBody(BEAT, WILDCARD, beatArgs()));
    const kinds: (() => Buffer)[] = [
      // Random bytes, any length up to a little over the packet size.
      () => randomBytes(rng, randInt(rng, 0, this.pktSize + 16)),
      // A valid line cut short anywhere.
      () => Buffer.from(valid.slice(0, randInt(rng, 0, valid.length - 1)), "utf8"),
      // One byte of a valid line replaced by a random one (often invalid UTF-8 or a control).
      () => {
        const b = Buffer.from(valid, "utf8");
        b[randInt(rng, 0, b.length - 1)] = randInt(rng, 0, 255);
        return b;
      },
      // Over the packet size.
      () => Buffer.from(`${valid} ${"x".repeat(this.pktSize)}`, "utf8"),
      // Fields out of range: negative, huge or fractional SEQ, lower-case or long opcode, bad DEST.
      () =>
        Buffer.from(
          choice(rng, [
            `${this.selfId} -1 BEAT * Beep`,
            `${this.selfId} 99999999999999999999 BEAT * Beep`,
            `${this.selfId} 1.5 BEAT * Beep`,
            `${this.selfId} 1 beat * Beep`,
            `${this.selfId} 1 BEATS * Beep`,
            `${this.selfId} 1 PING **`,
            `-${this.selfId} 1 BEAT * Beep`,
            `${"A".repeat(40)} 1 BEAT * Beep`,
            `${this.selfId} 0 RSND ${this.selfId} 1`,
            `${this.selfId} 0 LAST * x age=-1 first=0 nb=9.8.7.6.5.4.3.2.1`,
            `${this.selfId} 0 NACK * 1`,
          ]) as string,
          "utf8",
        ),
      // Terminal controls and bidi overrides in the text.
      () =>
        Buffer.from(`${this.selfId} ${randInt(rng, 1, 1000)} NEWS * \x1b[2J\x1b]0;pwned\x07\r- X left \u202e`, "utf8"),
      // Invalid UTF-8 in the sender.
      () => Buffer.concat([Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(" 1 BEAT * Beep", "utf8")]),
    ];
    return (choice(rng, kinds) as () => Buffer)();
  }
}

function randomBytes(rng: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = randInt(rng, 0, 255);
  return b;
}

/**
 * The victims a rogue remembers: real bots heard on the group (bot-shaped ids, sequenced
 * messages), with the highest number seen from each. Bounded: beyond `max` ids the least
 * recently heard is forgotten (counted).
 */
export class VictimTable {
  private readonly byId = new Map<string, number>();
  private list: Victim[] | undefined;
  evicted = 0;

  constructor(private readonly max = 1024) {}

  heard(id: string, seq: number): void {
    const prev = this.byId.get(id);
    if (prev !== undefined) this.byId.delete(id);
    else if (this.byId.size >= this.max) {
      const oldest = this.byId.keys().next();
      if (!oldest.done) this.byId.delete(oldest.value);
      this.evicted++;
    }
    this.byId.set(id, Math.max(prev ?? 0, seq));
    this.list = undefined;
  }

  /** The victims now (the same array until the table changes). */
  victims(): readonly Victim[] {
    this.list ??= [...this.byId].map(([id, seq]) => ({ id, seq }));
    return this.list;
  }

  get size(): number {
    return this.byId.size;
  }
}

/**
 * How many datagrams are due at `elapsedMs` after the start at `rate` per second, given `sent`
 * so far, at most `maxBatch` at once. Rate 0: as fast as possible (always maxBatch).
 */
export function dueCount(rate: number, elapsedMs: number, sent: number, maxBatch: number): number {
  if (rate <= 0) return maxBatch;
  const due = Math.floor((elapsedMs * rate) / 1000) + 1 - sent;
  return Math.max(0, Math.min(maxBatch, due));
}
