/**
 * Reliability benchmark: one sender and 20 receivers on the in-memory network, 1000 NEWS
 * messages 10 ms apart, at 0%, 10% and 30% simulated loss (independent, on every peer's
 * receive side, so NACKs and repairs are lost too), with the reliability layer on and off.
 * Time is simulated (ManualClock, 1 ms steps): latencies are what the protocol's waits and
 * backoffs cost, not this machine's speed, and every run is repeatable from its seed.
 *
 * Prints a markdown table: delivery ratio (all receivers, and the worst one), repair latency
 * p50/p99 (from the original send to delivery through RSND), repair datagrams (NACK + RSND +
 * SKIP) per data datagram, LAST announcements, and gaps given up.
 *
 *   npm run build && node dist/tools/bench/reliability.js [messages] [receivers] [seed]
 */
import { Channel, type GroupChannel, Link } from "../../shared/channel.js";
import { ManualClock } from "../../shared/clock.js";
import { parseDatagram } from "../../shared/codec.js";
import { LossSimulator } from "../../shared/loss.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { SUPERSEDED_OPCODES } from "../../shared/open.js";
import { LAST, NACK, NEWS, RSND, SKIP, WILDCARD } from "../../shared/protocol.js";
import { seededRng } from "../../shared/random.js";
import { ReliableChannel } from "../../shared/reliable/channel.js";

interface Result {
  loss: number;
  reliable: boolean;
  delivered: number;
  worst: number;
  latencies: number[];
  repairDatagrams: number;
  lasts: number;
  givenUp: number;
  simSeconds: number;
}

const INTERVAL_MS = 10;
/** After the last message: long enough for every backoff to run out (nackTries rounds). */
const TAIL_MS = 60_000;

function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function run(
  loss: number,
  reliable: boolean,
  messages: number,
  receivers: number,
  seed0: number,
): Promise<Result> {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  let seed = seed0 * 1000 + Math.round(loss * 100);
  const peer = (id: string): GroupChannel => {
    const s = seed++;
    const t = new LossSimulator(net.endpoint(), {
      lossRate: loss,
      lossBurst: 1,
      lossDir: "recv",
      dupRate: 0,
      reorderRate: 0,
      rng: seededRng(s * 7919),
      clock,
    });
    return reliable
      ? new ReliableChannel(new Link(t), { id, clock, rng: seededRng(s), onRepaired, superseded: SUPERSEDED_OPCODES })
      : new Channel(t, { id });
  };
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  function onRepaired(msg: { seq: number }): void {
    latencies.push(clock.now() - (sentAt.get(msg.seq) ?? 0));
  }

  const sender = peer("5E4D0001");
  const got: Set<number>[] = [];
  const rx: GroupChannel[] = [];
  for (let i = 0; i < receivers; i++) {
    const c = peer(`ACCE${String(i).padStart(4, "0")}`);
    const seen = new Set<number>();
    c.on("message", (m) => {
      if (m.sender === "5E4D0001") seen.add(m.seq);
    });
    got.push(seen);
    rx.push(c);
  }

  const step = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.advance(1);
      await drain();
    }
  };
  for (let i = 1; i <= messages; i++) {
    const seq = sender.send(NEWS, WILDCARD, [`discovery-${i}`]);
    if (seq !== undefined) sentAt.set(seq, clock.now());
    await step(INTERVAL_MS);
  }
  // Run the tail until every gap is repaired or given up (or TAIL_MS has gone by).
  const pending = () => rx.reduce((n, c) => n + (c instanceof ReliableChannel ? c.pendingGaps : 0), 0);
  for (let t = 0; t < TAIL_MS && (t < 5_000 || pending() > 0); t += 100) await step(100);

  let repairDatagrams = 0;
  let lasts = 0;
  for (const d of net.sent) {
    const r = parseDatagram(d.bytes);
    if (!r.ok || r.msg.seq !== 0) continue;
    if (r.msg.opcode === NACK || r.msg.opcode === RSND || r.msg.opcode === SKIP) repairDatagrams++;
    if (r.msg.opcode === LAST) lasts++;
  }
  const givenUp = rx.reduce((n, c) => n + (c instanceof ReliableChannel ? c.reliability.givenUp : 0), 0);
  const counts = got.map((s) => s.size);
  const result: Result = {
    loss,
    reliable,
    delivered: counts.reduce((a, b) => a + b, 0) / (messages * receivers),
    worst: Math.min(...counts) / messages,
    latencies,
    repairDatagrams,
    lasts,
    givenUp,
    simSeconds: clock.now() / 1000,
  };
  await Promise.all([sender, ...rx].map((c) => c.close()));
  return result;
}

function percentile(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number | undefined) => (x === undefined ? "–" : `${x} ms`);

async function main(): Promise<void> {
  const messages = Number(process.argv[2] ?? 1000);
  const receivers = Number(process.argv[3] ?? 20);
  const seed = Number(process.argv[4] ?? 1);
  const started = performance.now();
  const results: Result[] = [];
  for (const loss of [0, 0.1, 0.3]) {
    for (const reliable of [false, true]) results.push(await run(loss, reliable, messages, receivers, seed));
  }
  const lines = [
    `Reliability: ${receivers} receivers, ${messages} NEWS messages ${INTERVAL_MS} ms apart, independent loss on every`,
    "peer's receive side (NACK/RSND/SKIP are lost too); default settings (nackWait 0.2 s, rsndWait 0.1 s,",
    "nackTries 10, holdCount 512, holdTime 60 s). Simulated time (ManualClock, 1 ms steps).",
    "",
    "| loss | layer | delivered | worst receiver | repair latency p50 | p99 | repair datagrams per data datagram | LAST sent | given up |",
    "|---:|:---:|---:|---:|---:|---:|---:|---:|---:|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.loss * 100}% | ${r.reliable ? "on" : "off"} | ${pct(r.delivered)} | ${pct(r.worst)} | ` +
        `${ms(percentile(r.latencies, 50))} | ${ms(percentile(r.latencies, 99))} | ` +
        `${(r.repairDatagrams / messages).toFixed(2)} | ${r.lasts} | ${r.givenUp} |`,
    );
  }
  lines.push("", `(${((performance.now() - started) / 1000).toFixed(1)} s of real time for all runs)`);
  process.stdout.write(`${lines.join("\n")}\n`);
  const full = results.find((r) => r.loss === 0.3 && r.reliable);
  if (full && full.worst < 1) {
    process.stderr.write("reliability bench: at 30% loss with the layer on, some receiver missed messages\n");
    process.exitCode = 1;
  }
}

await main();
