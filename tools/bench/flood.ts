/**
 * Flood fairness: one rogue sender floods the group with valid BEATs as fast as one thread can
 * send, while a real peer beats 200 times a second; a receiver (a Link over the real UDP
 * transport on 127.0.0.1, as every program has) counts what it reads from each. Run twice, side
 * by side: without the per-source read budget (sourceRate=0), with the default budget
 * (DEFAULT_SOURCE_RATE per source, bursts of twice that) and with a tight one (1,000/s), where
 * the rogue's excess is dropped before parsing. Prints a markdown table: rogue datagrams sent and parsed, real heartbeats
 * delivered, the receiver's event-loop utilisation, and the ratio of delivered real heartbeats.
 *
 *   npm run build && node dist/tools/bench/flood.js [seconds]
 *
 * Both senders run in worker threads (own event loops, own sockets); the numbers depend on
 * the machine and on whatever else runs on it: compare the two rows of one run, not runs.
 */
import { createSocket } from "node:dgram";
import { performance } from "node:perf_hooks";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { DEFAULT_SOURCE_RATE, Link } from "../../shared/channel.js";
import { encodeLine } from "../../shared/codec.js";
import { bind, closeSock, UdpTransport } from "../../shared/udp_transport.js";
import { freeUdpPort } from "../ports.js";

const GROUP = "239.1.2.4";
const IFACE = "127.0.0.1";
const REAL_RATE = 200;

interface SenderJob {
  port: number;
  ms: number;
  /** "rogue": as fast as the socket takes them; "real": REAL_RATE a second. */
  kind: "rogue" | "real";
}

/** A sender in its own thread: the rogue sends as fast as the socket takes datagrams, in
 *  batches; the real peer beats REAL_RATE times a second. Returns how many it sent. */
async function sender(job: SenderJob): Promise<number> {
  const sock = createSocket("udp4");
  await bind(sock, 0, IFACE);
  sock.setMulticastInterface(IFACE);
  sock.setMulticastTTL(1);
  let sent = 0;
  let inFlight = 0;
  const start = performance.now();
  const end = start + job.ms;
  const id = job.kind === "rogue" ? "ROGUE001" : "REAL0001";
  while (performance.now() < end) {
    const due = job.kind === "rogue" ? sent + 64 : Math.floor(((performance.now() - start) * REAL_RATE) / 1000);
    while (sent < due && inFlight < 256) {
      inFlight++;
      sent++;
      sock.send(encodeLine(`${id} ${sent} BEAT * Beep state=asimov`), job.port, GROUP, () => inFlight--);
    }
    await new Promise((r) => (job.kind === "rogue" ? setImmediate(r) : setTimeout(r, 1)));
  }
  await closeSock(sock);
  return sent;
}

function inThread(job: SenderJob): Promise<number> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  return new Promise<number>((resolve, reject) => {
    worker.once("message", (n: number) => {
      resolve(n);
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

interface Row {
  budget: string;
  rogueSent: number;
  rogueParsed: number;
  realSent: number;
  realGot: number;
  elu: number;
}

async function once(seconds: number, sourceRate: number): Promise<Row> {
  const port = await freeUdpPort();
  const transport = new UdpTransport({ group: GROUP, port, iface: IFACE, ttl: 1, loopback: true });
  await transport.ready();
  const link = new Link(transport, { sourceRate });
  let rogueParsed = 0;
  let realGot = 0;
  link.on("message", (m) => {
    if (m.sender === "ROGUE001") rogueParsed++;
    else realGot++;
  });
  const ms = seconds * 1000;
  const elu0 = performance.eventLoopUtilization();
  const [sent, realSent] = await Promise.all([
    inThread({ port, ms, kind: "rogue" }),
    inThread({ port, ms, kind: "real" }),
  ]);
  await new Promise((r) => setTimeout(r, 300));
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await transport.close();
  return {
    budget: sourceRate > 0 ? `${sourceRate}/s per source` : "none",
    rogueSent: sent,
    rogueParsed,
    realSent,
    realGot,
    elu,
  };
}

async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const rows = [await once(seconds, 0), await once(seconds, DEFAULT_SOURCE_RATE), await once(seconds, 1000)];
  const pct = (a: number, b: number): string => `${((100 * a) / Math.max(1, b)).toFixed(1)} %`;
  const lines = [
    `Flood fairness, ${seconds} s per row: one rogue flooding valid BEATs, one real peer at ${REAL_RATE}/s`,
    "",
    "| read budget | rogue sent | rogue parsed | real delivered | receiver busy |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.budget} | ${r.rogueSent} | ${r.rogueParsed} | ${r.realGot}/${r.realSent} (${pct(r.realGot, r.realSent)}) | ${pct(r.elu, 1)} |`,
    ),
    "",
    `real heartbeats delivered, with the default budget / without: ${((rows[1]?.realGot ?? 0) / Math.max(1, rows[0]?.realGot ?? 0)).toFixed(2)}`,
    "",
  ];
  process.stdout.write(lines.join("\n"));
}

if (isMainThread) {
  await main();
} else {
  parentPort?.postMessage(await sender(workerData as SenderJob));
}
