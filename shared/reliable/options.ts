/**
 * The reliability layer's options, their defaults, its counters, and the one thing it needs
 * from a logger. Shared by the parts (receiver.ts, answerer.ts, announcer.ts, held.ts) and the
 * fronts (endpoint.ts, channel.ts).
 */
import type { Clock } from "../clock.js";
import type { ChanMessage } from "../codec.js";
import type { Rng } from "../random.js";
import type { Source } from "../transport.js";
import { DEFAULT_LIMITS, type StreamLimits } from "./gaps.js";

/** All the layer ever logs: debug lines with fields (pino's logger fits, so does a test's). */
export interface DebugLog {
  debug(fields: Record<string, unknown>, msg: string): void;
  /** pino's: lets the layer skip building a line nobody will see (floods hit these paths). */
  isLevelEnabled?(level: string): boolean;
}

/** The log, if it takes debug lines (a missing isLevelEnabled means it takes everything). */
export function debugLog(log: DebugLog | undefined): DebugLog | undefined {
  return log && (log.isLevelEnabled?.("debug") ?? true) ? log : undefined;
}

export interface ReliableOptions {
  clock: Clock;
  rng: Rng;
  /** Upper bound of the random wait before a NACK; base of the retry backoff. Default 200 ms. */
  nackWaitMs?: number;
  /** NACK rounds (ours or others') before a lost message is given up. Default 10. */
  nackTries?: number;
  /** Upper bound of the random wait before answering a NACK. Default 100 ms. */
  rsndWaitMs?: number;
  /** Retransmission buffers (each local sender's, and copies of others'): most messages kept.
   *  Default 512. */
  holdCount?: number;
  /** ... and longest kept. Default 60 s. */
  holdTimeMs?: number;
  /** How many LAST announcements follow the last send. Default 4. */
  announceCount?: number;
  /** NACKs we send per second at most (bursts of twice that); 0: unlimited. Default 10. */
  nackRate?: number;
  /** RSND/SKIP answers we send per second at most (bursts of twice that); 0: unlimited. Default 20. */
  rsndRate?: number;
  /** On close(), after a recent message other than a superseded one (an EXIT, a last command),
   *  stay this long announcing it and answering NACKs for it before leaving. Default 0. */
  lingerMs?: number;
  /**
   * Opcodes superseded by the sender's next message (a heartbeat): never resent (a NACK for
   * one is answered with SKIP), no announcements after them alone, and a `prior=K` tag on each
   * (the sender's latest other message) so receivers close gaps between K and it without a
   * NACK. The layer knows no application opcode: the program says which (open.ts). Default none.
   */
  superseded?: Iterable<string>;
  limits?: StreamLimits;
  /** Most remote senders tracked; beyond it the least recently heard is forgotten (its next
   *  message starts its tracking anew). Default 32768. */
  maxSenders?: number;
  /** Most gaps awaited at once, over all senders; gaps beyond it are not NACKed. Default 4096. */
  maxGaps?: number;
  /** NACK rounds for a sender known only from its LAST (never heard directly), or that never
   *  spoke this protocol (no LAST, no prior= tag: the original's bots, forgers). Default 3. */
  unconfirmedTries?: number;
  /** Answers (RSND/SKIP) one requester (source address and port) may cause per second, and in
   *  a burst; all requesters together are held to rsndRate. Default 5/s, bursts of 10. */
  requesterRate?: number;
  /** Most requesters tracked for requesterRate (least recently heard forgotten). Default 1024. */
  maxRequesters?: number;
  logger?: DebugLog;
  /** Called for each message delivered through RSND (benchmarks, diagnostics). */
  onRepaired?: (msg: ChanMessage, source: Source) => void;
}

/** The options with every default filled in. */
export interface Settings {
  clock: Clock;
  rng: Rng;
  nackWaitMs: number;
  nackTries: number;
  rsndWaitMs: number;
  holdCount: number;
  holdTimeMs: number;
  announceCount: number;
  nackRate: number;
  rsndRate: number;
  lingerMs: number;
  superseded: ReadonlySet<string>;
  limits: StreamLimits;
  maxSenders: number;
  maxGaps: number;
  unconfirmedTries: number;
  requesterRate: number;
  maxRequesters: number;
  logger: DebugLog | undefined;
  onRepaired: ((msg: ChanMessage, source: Source) => void) | undefined;
}

export function settingsOf(o: ReliableOptions): Settings {
  return {
    clock: o.clock,
    rng: o.rng,
    nackWaitMs: o.nackWaitMs ?? 200,
    nackTries: o.nackTries ?? 10,
    rsndWaitMs: o.rsndWaitMs ?? 100,
    holdCount: o.holdCount ?? 512,
    holdTimeMs: o.holdTimeMs ?? 60_000,
    announceCount: o.announceCount ?? 4,
    nackRate: o.nackRate ?? 10,
    rsndRate: o.rsndRate ?? 20,
    lingerMs: o.lingerMs ?? 0,
    superseded: new Set(o.superseded ?? []),
    limits: o.limits ?? DEFAULT_LIMITS,
    maxSenders: o.maxSenders ?? 32_768,
    maxGaps: o.maxGaps ?? 4096,
    unconfirmedTries: o.unconfirmedTries ?? 3,
    requesterRate: o.requesterRate ?? 5,
    maxRequesters: o.maxRequesters ?? 1024,
    logger: o.logger,
    onRepaired: o.onRepaired,
  };
}

export interface ReliableStats {
  /** Sequenced messages passed to the application. */
  delivered: number;
  /** ... of which arrived through RSND. */
  repaired: number;
  duplicates: number;
  /** Below the tracking window (history from before we joined, or too old). */
  old: number;
  gaps: number;
  nacksSent: number;
  /** NACK rounds we did not send because another peer NACKed first. */
  nacksSuppressed: number;
  rsndSent: number;
  skipSent: number;
  /** Answers we did not send because another peer answered first. */
  answersSuppressed: number;
  /** Gaps closed by a SKIP. */
  skipped: number;
  /** Gaps closed without a NACK: a later message's prior= tag (or a LAST's nb=) showed they
   *  were superseded ones. */
  beatsInferred: number;
  /** NACK rounds and answers postponed because their token bucket was empty. */
  nacksDeferred: number;
  answersDeferred: number;
  /** Answers dropped after waiting a whole NACK round for a token (the requester asks again). */
  answersExpired: number;
  /** Gaps given up after nackTries rounds. */
  givenUp: number;
  /** NACK rounds that waited a whole round for a token: counted as tries, not sent. */
  nacksExpired: number;
  /** Gaps not awaited because maxGaps were awaited already. */
  gapsRefused: number;
  /** Numbers not awaited because our read budget dropped datagrams of their source (Link's
   *  sourceRate): we chose not to read them, so we do not ask for them again. */
  gapsDropped: number;
  /** Senders forgotten to stay within maxSenders (least recently heard first). */
  sendersEvicted: number;
  /** LASTs refused: they announced a number beyond the plausible window of what was seen. */
  lastRefused: number;
  /** RSNDs refused: a number beyond what we have seen of that sender (never asked for). */
  rsndRefused: number;
  /** NACKs not answered because their requester was over requesterRate. */
  answersRefused: number;
  /** Requesters forgotten to stay within maxRequesters. */
  requestersEvicted: number;
  /** Held copies dropped (holdCount reached, or older than holdTime). */
  copiesEvicted: number;
  lastSent: number;
  restarts: number;
  controlReceived: number;
  invalidControl: number;
}

export function emptyStats(): ReliableStats {
  return {
    delivered: 0,
    repaired: 0,
    duplicates: 0,
    old: 0,
    gaps: 0,
    nacksSent: 0,
    nacksSuppressed: 0,
    rsndSent: 0,
    skipSent: 0,
    answersSuppressed: 0,
    skipped: 0,
    beatsInferred: 0,
    nacksDeferred: 0,
    answersDeferred: 0,
    answersExpired: 0,
    givenUp: 0,
    nacksExpired: 0,
    gapsRefused: 0,
    gapsDropped: 0,
    sendersEvicted: 0,
    lastRefused: 0,
    rsndRefused: 0,
    answersRefused: 0,
    requestersEvicted: 0,
    copiesEvicted: 0,
    lastSent: 0,
    restarts: 0,
    controlReceived: 0,
    invalidControl: 0,
  };
}
