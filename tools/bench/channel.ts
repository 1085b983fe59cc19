/**
 * Channel benchmark: what our message layer costs over raw sockets, measured side by side in one
 * run on a 127.0.0.1 multicast group (239.1.2.4, a free port per run, TTL 1: nothing leaves the
 * host).
 *
 *   raw      node:dgram: a receive socket joined to the group, a send socket on an ephemeral
 *            port (and the sender's own receive socket, as every peer has); N prebuilt
 *            datagrams sent, counted on arrival.
 *   channel  UdpTransport + Channel: send() formats each message with our id and the next SEQ,
 *            the receiver parses every datagram and emits it as a message.
 *   signed   the same with a group key (shared/keys/): each line signed (HMAC-SHA256 trailer),
 *            each received one verified and checked for replay.
 *
 * Both keep at most WINDOW datagrams in flight (sent, not yet received): sender and receiver share
 * this process, libuv reads a few dozen datagrams per socket per loop turn, and the kernel drops
 * what overflows a socket buffer, so an unpaced sender would measure drops, not throughput.
 * Rounds alternate raw/channel/signed so all see the same machine load; the table shows the median.
 * Then parseDatagram's throughput alone, against a naive split(" ") of the same datagrams (what
 * the original does). Every loop is bounded; the run stops by itself.
 *
 *   npm run build && node dist/tools/bench/channel.js [messages=20000] [rounds=5]
 */
import { createSocket } from "node:dgram";
import { Channel } from "../../shared/channel.js";
import { encodeLine, parseDatagram } from "../../shared/codec.js";
import { GroupAuth } from "../../shared/keys/auth.js";
import { Keyring } from "../../shared/keys/keyring.js";
import { ASIMOV, BEAT, TAG, WILDCARD } from "../../shared/protocol.js";
import { bind, closeSock, UdpTransport } from "../../shared/udp_transport.js";
import { freeUdpPort } from "../ports.js";

const GROUP = "239.1.2.4";
const IFACE = "127.0.0.1";
/** Datagrams in flight; well under what a default 208 KiB receive buffer holds (~800). */
const WINDOW = 200;
/** A run ends when everything arrived, or when nothing arrived for this long (losses). */
const IDLE_MS = 500;

interface RunResult {
  sent: number;
  received: number;
  seconds: number;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Flow control shared by both paths: wait while `inFlight()` is at least `limit`. False when
 * arrivals stopped for IDLE_MS (datagrams lost): the run then stops sending.
 */
async function window(inFlight: () => number, limit: number, lastAt: () => number): Promise<boolean> {
  while (inFlight() >= limit) {
    if (performance.now() - lastAt() > IDLE_MS) return false;
    await tick();
  }
  return true;
}

/** Wait until `count()` reaches n, or stops moving for IDLE_MS. Returns when the last one came. */
async function awaitArrivals(count: () => number, n: number, lastAt: () => number): Promise<number> {
  while (count() < n) {
    if (performance.now() - lastAt() > IDLE_MS) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return lastAt();
}

/** Arrivals seen by a receiver: how many, and when the latest came. */
interface Arrivals {
  received: number;
  lastAt: number;
}

/** The same send loop for both paths: n sends through `sendOne`, at most WINDOW in flight; the
 *  seconds from the first send to the last arrival. */
async function pump(n: number, sendOne: (i: number) => void, got: Arrivals): Promise<number> {
  const start = performance.now();
  let sent = 0;
  while (sent < n) {
    if (
      !(await window(
        () => sent - got.received,
        WINDOW,
        () => got.lastAt,
      ))
    )
      break;
    sendOne(sent++);
  }
  got.lastAt = Math.max(got.lastAt, performance.now());
  const end = await awaitArrivals(
    () => got.received,
    n,
    () => got.lastAt,
  );
  return (end - start) / 1000;
}

async function runRaw(n: number): Promise<RunResult> {
  const port = await freeUdpPort();
  const recv = createSocket({ type: "udp4", reuseAddr: true });
  await bind(recv, port, GROUP);
  recv.addMembership(GROUP, IFACE);
  // Every peer also receives its own datagrams back (and drops them): so does the channel's
  // sender, so the raw run has that second receive socket too.
  const echo = createSocket({ type: "udp4", reuseAddr: true });
  await bind(echo, port, GROUP);
  echo.addMembership(GROUP, IFACE);
  echo.on("message", () => {});
  const send = createSocket("udp4");
  await bind(send, 0, IFACE);
  send.setMulticastInterface(IFACE);
  send.setMulticastTTL(1);
  send.setMulticastLoopback(true);
  const own = send.address().port;
  const got: Arrivals = { received: 0, lastAt: performance.now() };
  recv.on("message", (_buf, rinfo) => {
    if (rinfo.port === own) {
      got.received++;
      got.lastAt = performance.now();
    }
  });
  // The same bytes our channel would send, built up front: raw pays for no formatting.
  const datagrams = Array.from({ length: n }, (_, i) => encodeLine(`5E4D0001 ${i + 1} BEAT * Beep state=asimov`));
  const seconds = await pump(n, (i) => send.send(datagrams[i] as Buffer, port, GROUP), got);
  await Promise.all([closeSock(send), closeSock(recv), closeSock(echo)]);
  return { sent: n, received: got.received, seconds };
}

async function runChannel(n: number, signed = false): Promise<RunResult> {
  const port = await freeUdpPort();
  const opts = { group: GROUP, port, iface: IFACE, ttl: 1, loopback: true };
  const rxT = new UdpTransport(opts);
  const txT = new UdpTransport(opts);
  await Promise.all([rxT.ready(), txT.ready()]);
  const ring = Keyring.of(Buffer.alloc(32, 0x5e));
  const auth = () => (signed ? new GroupAuth({ ring }) : undefined);
  // One source sending as fast as it can is what the per-source read budget stops (channel.ts);
  // this measures the channel's own cost, so the receiver has no budget.
  const rx = new Channel(rxT, { id: "ACCE0001", auth: auth(), sourceRate: 0 });
  const tx = new Channel(txT, { id: "5E4D0001", auth: auth() });
  const got: Arrivals = { received: 0, lastAt: performance.now() };
  rx.on("message", (m) => {
    if (m.sender === "5E4D0001") {
      got.received++;
      got.lastAt = performance.now();
    }
  });
  const seconds = await pump(n, () => tx.send(BEAT, WILDCARD, ["Beep", `${TAG.state}=${ASIMOV}`]), got);
  await Promise.all([tx.close(), rx.close()]);
  return { sent: n, received: got.received, seconds };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Datagrams as they come off a busy group: mostly valid, some of every invalid kind. */
function sampleDatagrams(): Buffer[] {
  const lines = [
    "E26CB171 7 BEAT * Beep state=asimov",
    "E26CB171 8 NEWS * Découverte state=asimov",
    "HUMAN-3fa2 4 UPLD * results.data port=8001",
    "HUMAN 2 KILL E26CB171",
    "0A1B2C3D 0 NACK * E26CB171 7",
    "0A1B2C3D 0 RSND * E26CB171 7 BEAT * Beep state=asimov",
    "9F00AA11 12 EXIT * Offline state=frankenstein reason=lifespan",
    "E26CB171 x BEAT * Beep",
    "garbage",
    "E26CB171 9 beep * lower-case opcode",
  ];
  return lines.map(encodeLine);
}

/** Time `fn` over the samples for at least minMs (bounded by maxOps). */
function timeParse(name: string, samples: Buffer[], fn: (b: Buffer) => unknown, minMs = 400, maxOps = 5e7) {
  let sink = 0;
  for (let i = 0; i < 20_000; i++) if (fn(samples[i % samples.length] as Buffer)) sink++; // warm-up
  let ops = 0;
  const start = performance.now();
  let now = start;
  while (now - start < minMs && ops < maxOps) {
    for (let i = 0; i < 10_000; i++) if (fn(samples[(ops + i) % samples.length] as Buffer)) sink++;
    ops += 10_000;
    now = performance.now();
  }
  if (sink < 0) console.log(sink); // keep the work observable
  return { name, ops, seconds: (now - start) / 1000 };
}

const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits });

async function main(): Promise<void> {
  const n = Math.max(1000, Math.min(1_000_000, Number(process.argv[2] ?? 20_000) || 20_000));
  const rounds = Math.max(1, Math.min(20, Number(process.argv[3] ?? 5) || 5));

  const raw: RunResult[] = [];
  const chan: RunResult[] = [];
  const signed: RunResult[] = [];
  for (let r = 0; r < rounds; r++) {
    raw.push(await runRaw(n));
    chan.push(await runChannel(n));
    signed.push(await runChannel(n, true));
  }
  const rate = (x: RunResult) => x.received / x.seconds;
  const rawRate = median(raw.map(rate));
  const chanRate = median(chan.map(rate));
  const signedRate = median(signed.map(rate));

  console.log(`\n## Channel over UDP multicast (${GROUP} on ${IFACE}, ${n} messages, median of ${rounds} rounds)\n`);
  console.log("| path | received (median) | lost (all rounds) | messages/s (median) | vs raw |");
  console.log("|---|---:|---:|---:|---:|");
  const row = (name: string, rs: RunResult[], r: number) =>
    console.log(
      `| ${name} | ${fmt(median(rs.map((x) => x.received)))} | ${fmt(rs.reduce((a, x) => a + x.sent - x.received, 0))} | ${fmt(r)} | ${(r / rawRate).toFixed(2)} |`,
    );
  row("raw node:dgram", raw, rawRate);
  row("UdpTransport + Channel", chan, chanRate);
  row("UdpTransport + Channel, group key (signed, verified)", signed, signedRate);
  console.log(`\nSigning and verifying: ${(signedRate / chanRate).toFixed(2)} of the unsigned channel's rate.`);

  const samples = sampleDatagrams();
  const ours = timeParse("parseDatagram", samples, (b) => parseDatagram(b).ok);
  const naive = timeParse(
    'toString().split(" ") (the original\'s way)',
    samples,
    (b) => b.toString().split(" ").length >= 4,
  );
  console.log(`\n## Parsing (${samples.length} sample datagrams, 7 valid and 3 invalid, cycled)\n`);
  console.log("| parser | datagrams/s | ns per datagram | vs naive split |");
  console.log("|---|---:|---:|---:|");
  const naiveRate = naive.ops / naive.seconds;
  for (const p of [ours, naive]) {
    const r = p.ops / p.seconds;
    console.log(`| ${p.name} | ${fmt(r)} | ${fmt(1e9 / r, 1)} | ${(r / naiveRate).toFixed(2)} |`);
  }
  console.log("");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
