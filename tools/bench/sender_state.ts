/**
 * Memory per tracked sender in the reliability layer: how many bytes of heap one remote sender
 * costs a peer (its stream in receiver.ts, gaps.ts), measured by feeding one endpoint N senders
 * and comparing the heap after a full GC. Three cases: senders heard in order (the usual: a bot
 * beating), senders with one gap each awaiting repair (its NACK timer included), and senders
 * first heard through a forged LAST from a fresh id (the flood of issue 11; the default maxGaps
 * of 4096 in all bounds the gaps those open). The copies of messages kept for repair
 * are not per sender (holdCount in all) and are excluded: the peer buffer holds BEATs as a fact.
 *
 *   npm run build && node --expose-gc dist/tools/bench/sender_state.js [senders]
 *
 * Prints a markdown table: case, senders, bytes per sender, and the cap (maxSenders) with the
 * heap that cap implies.
 */
import { EventEmitter } from "node:events";
import { Link } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { seededRng } from "../../shared/random.js";
import { ReliableEndpoint } from "../../shared/reliable/endpoint.js";
import { settingsOf } from "../../shared/reliable/options.js";
import type { Source, Transport, TransportEvents } from "../../shared/transport.js";

/** A transport we feed by hand: datagrams in, nothing out. */
class FeedTransport extends EventEmitter<TransportEvents> implements Transport {
  send(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  localSource(): Source {
    return { address: "127.0.0.1", port: 1 };
  }
  ready(): Promise<void> {
    return Promise.resolve();
  }
  feed(line: string, source: Source): void {
    this.emit("datagram", Buffer.from(line), source);
  }
}

const gc = (globalThis as { gc?: () => void }).gc;
function heap(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

type Case = "in order" | "one gap each" | "forged LAST";

function measure(kind: Case, n: number): number {
  const clock = new ManualClock();
  const t = new FeedTransport();
  // Nothing held for repair, so only the per-sender tracking is measured.
  const ep = new ReliableEndpoint(new Link(t, { sourceRate: 0 }), {
    clock,
    rng: seededRng(1),
    superseded: ["BEAT"],
    holdCount: 0,
    maxSenders: n,
    // The default total of gaps awaited (4096) for the flood; enough for one each otherwise.
    maxGaps: kind === "forged LAST" ? undefined : n,
  });
  ep.openSender("MEASURE0");
  const before = heap();
  for (let i = 0; i < n; i++) {
    const id = (0x10000000 + i).toString(16).toUpperCase();
    const source = { address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 40000 + (i % 20000) };
    if (kind === "forged LAST") {
      t.feed(`${id} 0 LAST * 999999999999999 age=0 first=1 since=0`, source);
      continue;
    }
    t.feed(`${id} 1 BEAT * Beep state=asimov prior=0`, source);
    t.feed(`${id} ${kind === "one gap each" ? 3 : 2} BEAT * Beep state=asimov prior=0`, source);
  }
  const after = heap();
  if (ep.trackedSenders !== n) throw new Error(`tracked ${ep.trackedSenders} of ${n}`);
  return (after - before) / n;
}

const n = Number(process.argv[2] ?? 20_000);
if (!gc) process.stderr.write("sender_state: run with node --expose-gc for exact figures\n");
const cap = settingsOf({ clock: new ManualClock(), rng: seededRng(1) }).maxSenders;
const rows: string[] = [];
for (const kind of ["in order", "one gap each", "forged LAST"] as Case[]) {
  const bytes = measure(kind, n);
  rows.push(`| ${kind} | ${n} | ${Math.round(bytes)} | ${cap} | ${((bytes * cap) / 2 ** 20).toFixed(1)} MiB |`);
}
process.stdout.write(
  ["| case | senders | bytes per sender | maxSenders | at the cap |", "|---|---|---|---|---|", ...rows, ""].join("\n"),
);
