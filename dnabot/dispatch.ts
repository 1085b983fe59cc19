/**
 * Which local bots of a bot host a received message concerns. Pure: no I/O, no clock.
 *
 * A standalone bot reads every datagram of the group and ignores almost all of them; a host
 * with thousands of bots must not hand every message to every bot (N bots × M messages). The
 * rules below give each bot exactly the messages that change what it does:
 *
 * - its own id as destination (any opcode: a command, or something it logs and ignores);
 * - `*` with a command bots obey (PING, UPLD, KILL, RSET): every bot;
 * - any KILL, to anyone: every bot (each raises its Frankenstein probability by killBoost);
 * - a message whose SENDER is a local bot's id, from another peer: that bot (a name collision).
 *
 * Everything else (other peers' BEAT/NEWS/EXIT to `*`, repair traffic) a standalone bot would
 * only count and drop, so it reaches no bot. Lookups go through an index by id, so a message to
 * one bot costs the same with 10 bots or 10,000.
 *
 * Ids are unique among the local bots by construction (allocate() and rename() refuse a local
 * id), and new ids avoid the ids recently heard on the group, so a host rarely picks an id that
 * another host's bot already uses. The table of heard ids is bounded (cap, oldest evicted,
 * evictions counted).
 */
import { BOT_ID, isCommandOpcode, KILL, WILDCARD } from "../shared/protocol.js";

/** The opcode every bot must see, whoever it is addressed to. */
export const SEEN_BY_ALL = KILL;

/** Heard bot ids remembered by default: the whole id space of the original's naming (65,535). */
export const DEFAULT_HEARD_CAP = 65_536;

export interface DispatchStats {
  /** Messages routed (every message the host received). */
  messages: number;
  /** Deliveries to bots (a `*` command counts once per bot). */
  deliveries: number;
  /** Messages that concerned no local bot. */
  unrouted: number;
  /** Messages from another peer carrying a local bot's id. */
  collisions: number;
  /** Heard ids forgotten because the table was full. */
  heardEvicted: number;
}

/** What the dispatcher needs of a message. */
export interface Routable {
  sender: string;
  opcode: string;
  dest: string;
}

export class Dispatcher<T> {
  private readonly byId = new Map<string, T>();
  /** Every local bot, in the order they were added (for `*` commands). */
  private readonly all = new Set<T>();
  /** Ids held by bots that are leaving (still lingering on the wire): not to be reused yet. */
  private readonly reserved = new Set<string>();
  /** Recently heard remote bot ids, oldest first. */
  private readonly heard = new Map<string, true>();
  readonly stats: DispatchStats = { messages: 0, deliveries: 0, unrouted: 0, collisions: 0, heardEvicted: 0 };

  constructor(private readonly heardCap = DEFAULT_HEARD_CAP) {}

  get size(): number {
    return this.all.size;
  }

  /** Is this id in use by a local bot, or reserved by one that is leaving? */
  isLocal(id: string): boolean {
    return this.byId.has(id) || this.reserved.has(id);
  }

  /** Has this id been heard on the group lately (from another peer)? */
  wasHeard(id: string): boolean {
    return this.heard.has(id);
  }

  get(id: string): T | undefined {
    return this.byId.get(id);
  }

  /**
   * A fresh id for a local bot: drawn by `draw` until it is neither local nor recently heard.
   * After `tries` draws that were all heard (a crowded group) an id heard elsewhere is accepted
   * (the collision then renames it, as for a standalone bot); a local id never is.
   */
  allocate(draw: () => string, tries = 256): string {
    let fallback: string | undefined;
    for (let i = 0; i < tries * 64; i++) {
      const id = draw();
      if (this.isLocal(id)) continue;
      if (!this.heard.has(id)) return id;
      fallback ??= id;
      if (i >= tries) return fallback;
    }
    if (fallback !== undefined) return fallback;
    throw new Error("no free bot id: every id drawn is in use by this host");
  }

  /** Add a bot under its id (which must not be local already). */
  add(id: string, bot: T): void {
    if (this.isLocal(id)) throw new Error(`bot id ${id} is already in use in this host`);
    this.byId.set(id, bot);
    this.all.add(bot);
  }

  /** The bot now goes by `to` (a collision); `to` must not be local already. */
  rename(from: string, to: string, bot: T): void {
    if (this.isLocal(to)) throw new Error(`bot id ${to} is already in use in this host`);
    if (this.byId.get(from) === bot) this.byId.delete(from);
    this.byId.set(to, bot);
  }

  /** The bot stops receiving; its id stays reserved until release(). */
  remove(id: string, bot: T): void {
    if (this.byId.get(id) === bot) {
      this.byId.delete(id);
      this.reserved.add(id);
    }
    this.all.delete(bot);
  }

  /** The bot's id may be used again (its sender has left the wire). */
  release(id: string): void {
    this.reserved.delete(id);
  }

  /** Call `deliver` once for every local bot the message concerns. */
  route(msg: Routable, deliver: (bot: T) => void): void {
    this.stats.messages++;
    const before = this.stats.deliveries;
    const own = this.byId.get(msg.sender);
    if (own !== undefined) this.stats.collisions++;
    else this.noteHeard(msg.sender);
    if (msg.opcode === SEEN_BY_ALL || (msg.dest === WILDCARD && isCommandOpcode(msg.opcode))) {
      for (const bot of this.all) {
        this.stats.deliveries++;
        deliver(bot);
      }
    } else {
      const target = msg.dest === WILDCARD ? undefined : this.byId.get(msg.dest);
      if (target !== undefined) {
        this.stats.deliveries++;
        deliver(target);
      }
      if (own !== undefined && own !== target) {
        this.stats.deliveries++;
        deliver(own);
      }
    }
    if (this.stats.deliveries === before) this.stats.unrouted++;
  }

  private noteHeard(sender: string): void {
    if (!BOT_ID.test(sender)) return;
    // Refresh: a Map keeps insertion order, so the first key is the least recently heard.
    if (this.heard.delete(sender)) {
      this.heard.set(sender, true);
      return;
    }
    this.heard.set(sender, true);
    if (this.heard.size > this.heardCap) {
      const oldest = this.heard.keys().next();
      if (!oldest.done) this.heard.delete(oldest.value);
      this.stats.heardEvicted++;
    }
  }
}
