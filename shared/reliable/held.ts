/**
 * Held copies: what we can resend. Each local sender keeps its own messages (its own bounded
 * buffer, so one busy bot of a host cannot push out another's), and one shared buffer keeps
 * copies of everyone else's. A NACK is answered from here: by the original sender ("own": it
 * answers first), or by any holder. Superseded messages (heartbeats) are kept as a fact only,
 * to be answered with SKIP.
 *
 * After a rename, the copies a sender made under its former ids stay findable until it closes
 * (answered as any holder would, not as their sender): at most MAX_ALIASES former ids each.
 * Pure apart from the `now` the caller passes.
 */
import { type BufferLimits, type Held, RetransmitBuffer } from "./buffer.js";

export interface Found {
  held: Held;
  /** The message is one of a local sender's, under its current id. */
  own: boolean;
}

/** Former ids a sender's copies stay findable under. */
export const MAX_ALIASES = 4;

interface Slot {
  buf: RetransmitBuffer;
  /** The sender's current id. */
  id: string;
  /** Its former ids, oldest first. */
  former: string[];
}

export class HeldCopies {
  private readonly peers: RetransmitBuffer;
  private readonly local = new Map<string, Slot>();
  /** Evictions from the buffers of senders already closed. */
  private closedEvicted = 0;

  constructor(readonly limits: BufferLimits) {
    this.peers = new RetransmitBuffer(limits);
  }

  /** Copies of other peers' messages held now. */
  get peerCount(): number {
    return this.peers.size;
  }

  /** Messages evicted (by count or age) from every buffer. */
  get evicted(): number {
    let n = this.peers.evicted + this.closedEvicted;
    for (const slot of new Set(this.local.values())) n += slot.buf.evicted;
    return n;
  }

  /** A local sender starts under `id` (its buffer is empty). */
  openLocal(id: string): void {
    this.local.set(id, { buf: new RetransmitBuffer(this.limits), id, former: [] });
  }

  /** A local sender takes a new id; its earlier copies stay findable under the old one. */
  renameLocal(from: string, to: string): void {
    const slot = this.local.get(from);
    if (!slot || slot.id !== from) return;
    slot.former.push(from);
    if (slot.former.length > MAX_ALIASES) this.local.delete(slot.former.shift() as string);
    slot.id = to;
    this.local.set(to, slot);
    // Copies of another peer's messages under the id we take are a different stream now.
    this.peers.dropSender(to);
  }

  /** A local sender is gone: its copies go with it. */
  closeLocal(id: string): void {
    const slot = this.local.get(id);
    if (!slot || slot.id !== id) return;
    this.local.delete(id);
    this.closedEvicted += slot.buf.evicted;
    for (const f of slot.former) if (this.local.get(f) === slot) this.local.delete(f);
  }

  /** Count of local buffers open (tests). */
  get localCount(): number {
    let n = 0;
    for (const [id, slot] of this.local) if (slot.id === id) n++;
    return n;
  }

  /** `id` is a local sender's current id: a NACK for its messages is answered by their sender. */
  isOwn(id: string): boolean {
    return this.local.get(id)?.id === id;
  }

  keepOwn(id: string, seq: number, body: string, superseded: boolean, now: number): void {
    const slot = this.local.get(id);
    if (slot && slot.id === id) slot.buf.put(id, seq, body, superseded, now);
  }

  keepPeer(sender: string, seq: number, body: string, superseded: boolean, now: number): void {
    this.peers.put(sender, seq, body, superseded, now);
  }

  find(sender: string, seq: number, now: number): Found | undefined {
    const slot = this.local.get(sender);
    if (slot) {
      const held = slot.buf.get(sender, seq, now);
      return held && { held, own: slot.id === sender };
    }
    const held = this.peers.get(sender, seq, now);
    return held && { held, own: false };
  }

  /** Forget another peer's copies (it restarted: its old numbers mean other messages now). */
  dropPeer(sender: string): void {
    this.peers.dropSender(sender);
  }
}
