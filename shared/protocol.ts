/**
 * The protocol's words, in one place: opcodes, tag names, bot states, exit reasons and statuses,
 * id conventions. Both programs, the reliability layer and the tools use these names instead of
 * literals. What each word means on the wire is in protocol.md; the codec (codec.ts) turns lines
 * into messages and back, the reliability layer's own formats are in reliable/wire.ts.
 *
 * Pure constants and predicates: no I/O.
 */

// ---- opcodes -----------------------------------------------------------------------------------

/** What a bot sends: heartbeat, discovery, leave notice. */
export const BEAT = "BEAT";
export const NEWS = "NEWS";
export const EXIT = "EXIT";
/** What a supervisor sends: answer with a BEAT, upload a file, empty results and leave, reset. */
export const PING = "PING";
export const UPLD = "UPLD";
export const KILL = "KILL";
export const RSET = "RSET";
/** The reliability layer's control messages (SEQ 0; formats in reliable/wire.ts). */
export const NACK = "NACK";
export const RSND = "RSND";
export const SKIP = "SKIP";
export const LAST = "LAST";

export const BOT_OPCODES = [BEAT, NEWS, EXIT] as const;
export const COMMAND_OPCODES = [PING, UPLD, KILL, RSET] as const;
export const CONTROL_OPCODES = [NACK, RSND, SKIP, LAST] as const;
/** Every opcode this protocol defines. */
export const OPCODES = [...BOT_OPCODES, ...COMMAND_OPCODES, ...CONTROL_OPCODES] as const;

export type BotOpcode = (typeof BOT_OPCODES)[number];
/** An opcode a supervisor sends to bots. */
export type CommandOpcode = (typeof COMMAND_OPCODES)[number];
export type ControlOpcode = (typeof CONTROL_OPCODES)[number];
export type Opcode = (typeof OPCODES)[number];

const COMMAND_SET: ReadonlySet<string> = new Set(COMMAND_OPCODES);
const CONTROL_SET: ReadonlySet<string> = new Set(CONTROL_OPCODES);
const OPCODE_SET: ReadonlySet<string> = new Set(OPCODES);

export function isCommandOpcode(op: string): op is CommandOpcode {
  return COMMAND_SET.has(op);
}

export function isControlOpcode(op: string): op is ControlOpcode {
  return CONTROL_SET.has(op);
}

/** True for the opcodes this protocol defines (others are the original's or a future's). */
export function isKnownOpcode(op: string): op is Opcode {
  return OPCODE_SET.has(op);
}

// ---- destinations and ids ------------------------------------------------------------------------

/** Destination meaning "everyone" (or "informational, no action"). */
export const WILDCARD = "*";

/** The original supervisor's id. */
export const HUMAN = "HUMAN";
/** Our supervisors' ids: HUMAN- and 4 lower-case hex digits (e.g. HUMAN-3fa2). */
export const HUMAN_PREFIX = "HUMAN-";

/** A supervisor's id (the original's HUMAN or one of ours); everything else is a bot. */
export function isSupervisorId(id: string): boolean {
  return id === HUMAN || id.startsWith(HUMAN_PREFIX);
}

/** One of our supervisors (HUMAN-xxxx), not the original's. */
export function isOurSupervisorId(id: string): boolean {
  return id.startsWith(HUMAN_PREFIX);
}

/** A supervisor id from a number in [0, 65535]: HUMAN-0000 … HUMAN-ffff. */
export function supervisorId(n: number): string {
  return `${HUMAN_PREFIX}${(n & 0xffff).toString(16).padStart(4, "0")}`;
}

/** A bot id: 8 upper-case hex digits (the top 32 bits of an MD5, see dnabot/identity.ts). */
export const BOT_ID = /^[0-9A-F]{8}$/;

export function isBotId(id: string): boolean {
  return BOT_ID.test(id);
}

// ---- tags -------------------------------------------------------------------------------------------

/**
 * Our additions travel as trailing `key=value` tags (the codec splits them off, see
 * codec.ts). Tag names:
 *   state   BEAT/NEWS/EXIT: the bot's state (BotState)
 *   reason  EXIT: why the bot leaves (ExitReason)
 *   port    UPLD: the TCP port to connect back to (the supervisor's upload server)
 *   prior   BEAT (reliability layer): the sender's latest non-BEAT sequence number
 *   age first since nb   LAST (reliability layer), see reliable/wire.ts
 *   ts sid mac   every datagram of a keyed peer, last (group keys), see keys/mac.ts
 */
export const TAG = {
  state: "state",
  reason: "reason",
  port: "port",
  prior: "prior",
  age: "age",
  first: "first",
  since: "since",
  nb: "nb",
  ts: "ts",
  sid: "sid",
  mac: "mac",
} as const;
export type TagName = (typeof TAG)[keyof typeof TAG];

// ---- bot states -----------------------------------------------------------------------------------

/** Asimov: bound by the Laws of Robotics. Frankenstein: not any more. */
export const ASIMOV = "asimov";
export const FRANKENSTEIN = "frankenstein";
export const BOT_STATES = [ASIMOV, FRANKENSTEIN] as const;
export type BotState = (typeof BOT_STATES)[number];
/** What a supervisor knows of a bot's state: the original's bots send no state= tag. */
export const UNKNOWN_STATE = "unknown";
export type SeenState = BotState | typeof UNKNOWN_STATE;

/** The state a `state=` tag names (case ignored), or undefined. */
export function botStateOf(tag: string | undefined): BotState | undefined {
  const s = tag?.toLowerCase();
  return s === ASIMOV || s === FRANKENSTEIN ? s : undefined;
}

// ---- leaving ------------------------------------------------------------------------------------------

/** Why a bot leaves, as its EXIT's `reason=` tag says. */
export const EXIT_REASONS = ["lifespan", "killed", "signal"] as const;
export type ExitReason = (typeof EXIT_REASONS)[number];

/** The bot's process exit status for each reason (255: killed, as the original). */
export const EXIT_STATUS: Readonly<Record<ExitReason, number>> = { lifespan: 0, signal: 0, killed: 255 };

/**
 * Why a supervisor saw a member leave: an EXIT's reason, `exit` for an EXIT without a known
 * reason (the original's bots), or `aged-out` after silence.
 */
export const EXIT_UNTAGGED = "exit";
export const AGED_OUT = "aged-out";
export type LeaveReason = ExitReason | typeof EXIT_UNTAGGED | typeof AGED_OUT;

/** The most early a bot sends a beat before its control time: 2 s, as the original, and never
 *  more than half the heartbeat, so very short heartbeats still make sense. */
export function beatJitterMs(heartbeatMs: number): number {
  return Math.min(2000, heartbeatMs / 2);
}

/**
 * Silence after which a supervisor ages a member out: 2 heartbeats plus the beat jitter. Beats
 * come from a fixed schedule, each up to the jitter early, so after one lost heartbeat the next
 * beat may come up to 2 heartbeats + jitter after the last one heard: one lost heartbeat never
 * ages a live bot out. Supervisors check once a heartbeat, so a member silent for 3 heartbeats
 * (two beats lost in a row, or gone) is aged out by the next check.
 */
export function ageOutMs(heartbeatMs: number): number {
  return 2 * heartbeatMs + beatJitterMs(heartbeatMs);
}

/** The exit reason a `reason=` tag names (case ignored), or undefined. */
export function exitReasonOf(tag: string | undefined): ExitReason | undefined {
  const r = tag?.toLowerCase();
  return (EXIT_REASONS as readonly string[]).includes(r ?? "") ? (r as ExitReason) : undefined;
}
