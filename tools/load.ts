/**
 * The load report: `npm run load -- N [seconds] [-python=DIR] [bot options]`. Runs N bots on the
 * loopback group, on a free port so nothing else is disturbed, with a recording listener for the
 * given time (default 30 s), then stops them and prints: bots started and seen, heartbeats
 * expected vs received, sequence gaps, messages per second, peak memory and CPU of the bots.
 * Exits 1 if any bot crashed (or had to be killed).
 *
 * -python=DIR runs the original Python bots from a checkout of laranzu/MCastBots instead. Their
 * default interface is the default route's, so this is refused unless every network interface is
 * a loopback one, i.e. inside a private network namespace (`unshare -n`).
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { Channel } from "../shared/channel.js";
import { t } from "../shared/i18n.js";
import { udpTransportFor } from "../shared/open.js";
import { isSupervisorId } from "../shared/protocol.js";
import { BotFleet, FleetError, makeRunDir, nodeBotCommand, repoRoot } from "./botfleet.js";
import { fleetErrorText, tallyLine } from "./fleet_text.js";
import { ProcTracker, TrafficRecorder } from "./load_stats.js";
import { freeTcpPort, freeUdpPort } from "./ports.js";
import { type ProcSample, sampleProcess } from "./procstats.js";
import { checkBotArgs, initToolLanguage, sleep, splitToolArgs } from "./toolargs.js";

const PROG = "load";
const MAX_BOTS = 2000;
/** Whole seconds, so the original's bots (which read integers) accept them too. */
const LOAD_DEFAULTS = ["-heartbeat=1", "-backoff=1"];

function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

const args = splitToolArgs(process.argv.slice(2), ["help", "h"], ["python"]);
initToolLanguage(args.botArgs);
if (args.flags.has("help") || args.flags.has("h")) {
  process.stdout.write(
    `${[
      t("Usage: npm run load -- N [seconds] [-python=DIR] [bot options]"),
      t("Runs N bots on a free port of the loopback group for the given time (default 30 s) and reports"),
      t("heartbeats received, messages per second, memory and CPU. Bots default to -heartbeat=1 -backoff=1."),
      t("-python=DIR runs the original Python bots from DIR instead, only inside a private network namespace."),
    ].join("\n")}\n`,
  );
  process.exit(0);
}
const [nText, secondsText = "30"] = args.positional;
const count = Number(nText);
const seconds = Number(secondsText);
if (nText === undefined || !/^\d+$/.test(nText) || count < 1 || count > MAX_BOTS) {
  fail(t("{{prog}}: give the number of bots, a whole number from 1 to {{max}}", { prog: PROG, max: MAX_BOTS }), 2);
}
if (!Number.isFinite(seconds) || seconds <= 0 || args.positional.length > 2) {
  fail(
    t("{{prog}}: the duration must be a number of seconds above 0, not {{value}}", { prog: PROG, value: secondsText }),
    2,
  );
}
const pythonDir = args.values.get("python");
if (pythonDir !== undefined) {
  const outside = Object.entries(networkInterfaces()).filter(([, addrs]) => addrs?.some((a) => !a.internal));
  if (outside.length > 0) {
    fail(
      t(
        "{{prog}}: the original's bots would multicast on {{iface}}; run this only inside a private network namespace: unshare -n sh -c 'ip link set lo up; ip route add 224.0.0.0/4 dev lo; npm run load -- ...'",
        { prog: PROG, iface: outside.map(([name]) => name).join(", ") },
      ),
      2,
    );
  }
}

const chanPort = await freeUdpPort();
const filePort = await freeTcpPort();
/** Longest wait for every bot to be heard before the measured window starts anyway. */
const joinTimeout = Math.max(20, count * 0.5);
const lifespan = Math.ceil(joinTimeout + seconds) + 60;
const botArgs = [
  "-fg",
  ...LOAD_DEFAULTS,
  `-lifespan=${lifespan}`,
  `-chanPort=${chanPort}`,
  `-filePort=${filePort}`,
  "-chanIface=127.0.0.1",
  ...args.botArgs,
];
const config = checkBotArgs(PROG, botArgs);

const repo = repoRoot();
// This run's own directory: the bots' directories, removed at the end unless a bot crashed.
const runDir = makeRunDir(PROG);
let keepRunDir = false;
let protoDir = join(repo, "proto");
if (pythonDir !== undefined) {
  // The original's dnabot.ini: bound to loopback whatever else happens.
  protoDir = join(runDir, "proto");
  mkdirSync(protoDir);
  writeFileSync(
    join(protoDir, "dnabot.ini"),
    `[DNABot]\nchanIface = 127.0.0.1\nchanAddr = ${config.chanAddr}\nchanPort = ${config.chanPort}\nfilePort = ${config.filePort}\n`,
  );
}

const fleet = new BotFleet({
  count,
  runDir,
  prefix: pythonDir !== undefined ? "PyLoadBot" : "LoadBot",
  protoDir,
  command: () =>
    pythonDir !== undefined
      ? {
          file: "python3",
          args: ["-m", "DNABot", ...botArgs.filter((a) => a !== "-chanIface=127.0.0.1"), "-chanIface=127.0.0.1"],
          env: { PYTHONPATH: pythonDir },
        }
      : nodeBotCommand(repo, botArgs),
  // The original's bots leave cleanly on Ctrl-C (KeyboardInterrupt), not on SIGTERM.
  stopSignal: pythonDir !== undefined ? "SIGINT" : "SIGTERM",
  graceMs: 10_000,
});
process.on("exit", () => {
  fleet.killNow();
  if (!keepRunDir) rmSync(runDir, { recursive: true, force: true });
});
try {
  fleet.prepare();
} catch (e) {
  if (e instanceof FleetError) fail(fleetErrorText(PROG, e), 1);
  throw e;
}

// The recorder: a plain channel (no reliability layer: it only listens and never asks for repairs).
const transport = udpTransportFor(config);
try {
  await transport.ready();
} catch (e) {
  fail(t("{{prog}}: cannot join the group: {{error}}", { prog: PROG, error: (e as Error).message }), 1);
}
const recorder = new Channel(transport, { id: "LOAD-rec", pktSize: config.PKT_SIZE });
const traffic = new TrafficRecorder(isSupervisorId);
let invalid = 0;
recorder.on("message", (m, from) => traffic.record(m, performance.now(), `${from.address}:${from.port}`));
recorder.on("invalid", () => invalid++);
recorder.on("error", (e) =>
  fail(t("{{prog}}: the group channel failed: {{error}}", { prog: PROG, error: e.message }), 1),
);

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.on(sig, () => {
    if (!fleet.isStopping) void fleet.stop();
    else fleet.killNow();
  });
}

const tty = Boolean(process.stdout.isTTY);
const kind = pythonDir !== undefined ? t("original Python bots") : t("our bots");
process.stdout.write(
  `${t("Load: {{n}} {{kind}} for {{s}} s on group {{group}} port {{port}} (heartbeat {{h}} s)", {
    n: count,
    kind,
    s: seconds,
    group: config.chanAddr,
    port: config.chanPort,
    h: config.heartbeat,
  })}\n`,
);
const startBar = tty
  ? new cliProgress.SingleBar({ format: `${t("Starting bots")} [{bar}] {value}/{total}` })
  : undefined;
startBar?.start(count, 0);
fleet.on("spawned", () => startBar?.increment());
fleet.on("spawnError", (b, err) =>
  process.stderr.write(
    `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog: PROG, name: b.name, error: err.message })}\n`,
  ),
);

const procs = new ProcTracker();
function sampleAll(baseline = false): void {
  const round = new Map<number, ProcSample>();
  for (const b of fleet.running) {
    const s = b.pid !== undefined ? sampleProcess(b.pid) : undefined;
    if (s && b.pid !== undefined) round.set(b.pid, s);
  }
  if (baseline) procs.baseline(round);
  else procs.round(round);
}
const sampler = setInterval(sampleAll, 1000);

await fleet.start();
startBar?.stop();
// Joining: until every bot has been heard (or joinTimeout); then the measured window.
const tStart = performance.now();
const joinBar = tty ? new cliProgress.SingleBar({ format: `${t("Bots heard")} [{bar}] {value}/{total}` }) : undefined;
joinBar?.start(fleet.started, 0);
while (!fleet.isStopping && traffic.botsSeen() < fleet.started && performance.now() - tStart < joinTimeout * 1000) {
  await sleep(100);
  joinBar?.update(traffic.botsSeen());
}
joinBar?.stop();
const joinedIn = (performance.now() - tStart) / 1000;
const seenAtStart = traffic.botsSeen();
sampleAll(true);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
const runBar = tty ? new cliProgress.SingleBar({ format: `${t("Running")} [{bar}] {value}/{total} s` }) : undefined;
runBar?.start(Math.ceil(seconds), 0);
while (!fleet.isStopping && performance.now() - t0 < seconds * 1000) {
  await sleep(Math.min(1000, seconds * 1000 - (performance.now() - t0)));
  runBar?.update(Math.min(Math.ceil(seconds), Math.round((performance.now() - t0) / 1000)));
}
runBar?.stop();
const tEnd = performance.now();
sampleAll();
clearInterval(sampler);
const recorderCpu = process.cpuUsage(cpu0);
const ranFor = (tEnd - t0) / 1000;
const beforeStop = traffic.summary(
  t0,
  tEnd,
  config.heartbeat * 1000,
  Math.max(0, fleet.started - traffic.botsSeen()),
  Math.max(0, Math.floor(ranFor / config.heartbeat)),
);

await fleet.stop();
await sleep(500); // last EXITs in flight
await recorder.close();

const tally = fleet.tally();
keepRunDir = tally.crashed + tally.forced > 0;
const pct = (a: number, b: number) => (b > 0 ? ((100 * a) / b).toFixed(1) : "-");
const mb = (kb: number) => (kb / 1024).toFixed(1);
const proc = procs.summary();
const started = fleet.started;
const lines = [
  t("Bots started:            {{n}} of {{want}}", { n: started, want: count }),
  t(
    "Bots seen on the group:  {{n}} ({{atStart}} within {{s}} s of starting, when the measured window began); {{heard}} heard at all, {{ids}} ids, {{renamed}} renamed",
    {
      n: traffic.botsSeen(),
      heard: traffic.processesHeard(),
      ids: traffic.ids.size,
      renamed: traffic.renamed(),
      atStart: seenAtStart,
      s: joinedIn.toFixed(1),
    },
  ),
  t("Heartbeats (BEAT/NEWS):  {{got}} received of {{exp}} expected ({{pct}}%; worst bot {{worst}}%)", {
    got: beforeStop.beatsReceived,
    exp: beforeStop.beatsExpected,
    pct: pct(beforeStop.beatsReceived, beforeStop.beatsExpected),
    worst: (100 * beforeStop.worstBotRatio).toFixed(1),
  }),
  t("Sequence gaps:           {{lost}} of {{span}} sequenced messages never arrived ({{pct}}%)", {
    lost: beforeStop.seqLost,
    span: beforeStop.seqSpan,
    pct: pct(beforeStop.seqLost, beforeStop.seqSpan),
  }),
  t("Messages:                {{n}} in {{s}} s = {{rate}}/s; whole run by kind: {{ops}}; {{invalid}} malformed", {
    n: beforeStop.messages,
    s: ranFor.toFixed(1),
    rate: (beforeStop.messages / ranFor).toFixed(1),
    ops: Object.entries(beforeStop.byOpcode)
      .sort()
      .map(([op, n]) => `${op} ${n}`)
      .join(", "),
    invalid,
  }),
  t("Memory of the bots:      peak {{total}} MB in total; per bot {{mean}} MB on average, {{max}} MB at most (VmHWM)", {
    total: mb(proc.peakTotalRssKb),
    mean: mb(proc.meanBotHwmKb),
    max: mb(proc.maxBotHwmKb),
  }),
  t(
    "CPU of the bots:         {{s}} s in the window = {{core}}% of one core, {{perBot}} ms per bot per second; {{startup}} s before it",
    {
      s: proc.cpuSinceBaseline.toFixed(2),
      core: ((100 * proc.cpuSinceBaseline) / ranFor).toFixed(1),
      perBot: started > 0 ? ((1000 * proc.cpuSinceBaseline) / started / ranFor).toFixed(2) : "-",
      startup: (proc.cpuSeconds - proc.cpuSinceBaseline).toFixed(2),
    },
  ),
  t("CPU of the recorder:     {{s}} s", { s: ((recorderCpu.user + recorderCpu.system) / 1e6).toFixed(2) }),
  tallyLine(started, tally),
];
if (keepRunDir) lines.push(t("The bots' directories and output are kept in {{dir}}.", { dir: runDir }));
process.stdout.write(`${lines.join("\n")}\n`);
process.exit(tally.crashed + tally.forced > 0 ? 1 : 0);
