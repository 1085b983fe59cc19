/**
 * The load report: `npm run load -- N [seconds] [-json] [-perProcess=K] [-python=DIR] [bot
 * options]`. Runs N bots (one process each for small N, else packed into bot hosts as spawnBots
 * packs them) on a free port of the loopback group, with a recording listener, for the given
 * measured time (default 30 s) once every bot has been heard, then stops them and reports: bots
 * started and heard, heartbeats expected vs received, sequence gaps, messages per second, memory
 * and CPU of the bot processes, and a time series of the window. -json prints the result as one
 * JSON object (LoadResult, load_stats.ts) instead of text. Exits 1 if any bot crashed (or had to
 * be killed), 2 for a mistake on the command line.
 *
 * -python=DIR runs the original Python bots from a checkout of laranzu/MCastBots instead. Their
 * default interface is the default route's, so this is refused unless every network interface is
 * a loopback one, i.e. inside a private network namespace (`unshare -n`). A program as a
 * function (tools/bin/load.js launches it).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { join } from "node:path";
import cliProgress from "cli-progress";
import { Channel } from "../shared/channel.js";
import type { ProgramIO } from "../shared/cli.js";
import { formatFixed, t } from "../shared/i18n.js";
import { udpTransportFor } from "../shared/open.js";
import { isSupervisorId } from "../shared/protocol.js";
import { defaultGraceSeconds, defaultPerProcess, nodeBotCommand, repoRoot } from "./botfleet.js";
import { botConfig, FleetRun, runTool, ToolExit, toolArgs } from "./fleet_run.js";
import { tallyLine } from "./fleet_text.js";
import { htmlTargetProblem, loadReportHtml, writeNewFile } from "./load_html.js";
import { intervalFor, type LoadResult, ProcTracker, renamesInLog, TrafficRecorder } from "./load_stats.js";
import { freeTcpPort, freeUdpPort } from "./ports.js";
import { type ProcSample, sampleProcess } from "./procstats.js";
import { initToolLanguage, sleep } from "./toolargs.js";

const PROG = "load";
const MAX_BOTS = 20_000;

export function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  return runTool(io, () => load(argv, env, io));
}

async function load(argv: readonly string[], env: NodeJS.ProcessEnv, io: ProgramIO): Promise<number> {
  const lang = initToolLanguage(argv, env);
  const args = toolArgs(PROG, argv, { flags: ["json"], values: ["python", "perProcess", "html"] });
  if (args.flags.has("help")) {
    io.stdout.write(
      `${[
        t("Usage: npm run load -- N [seconds] [-json] [-html=FILE] [-perProcess=K] [-python=DIR] [bot options]"),
        t("Runs N bots on a free port of the loopback group for the given time (default 30 s) and reports"),
        t(
          "heartbeats received, messages per second, memory and CPU. The bots run with their defaults (heartbeat 10 s)",
        ),
        t("unless bot options say otherwise; they are packed into bot hosts as spawnBots packs them (-perProcess=K)."),
        t("-json prints one JSON object instead of the text report."),
        t("-html=FILE also writes the report with its charts as one self-contained HTML file (a new file)."),
        t("-python=DIR runs the original Python bots from DIR instead, only inside a private network namespace."),
      ].join("\n")}\n`,
    );
    return 0;
  }
  const [nText, secondsText = "30"] = args.positional;
  const count = Number(nText);
  const seconds = Number(secondsText);
  if (nText === undefined || !/^\d+$/.test(nText) || count < 1 || count > MAX_BOTS) {
    throw new ToolExit(
      t("{{prog}}: give the number of bots, a whole number from 1 to {{max}}", { prog: PROG, max: MAX_BOTS }),
      2,
    );
  }
  if (!Number.isFinite(seconds) || seconds <= 0 || args.positional.length > 2) {
    throw new ToolExit(
      t("{{prog}}: the duration must be a number of seconds above 0, not {{value}}", {
        prog: PROG,
        value: secondsText,
      }),
      2,
    );
  }
  const json = args.flags.has("json");
  const htmlFile = args.values.get("html");
  if (htmlFile !== undefined) {
    const problem = htmlTargetProblem(htmlFile);
    if (problem !== undefined) throw new ToolExit(`${PROG}: ${problem}`, 2);
  }
  const pythonDir = args.values.get("python");
  const perText = args.values.get("perProcess");
  if (perText !== undefined && (!/^\d+$/.test(perText) || Number(perText) < 1)) {
    throw new ToolExit(
      t("{{prog}}: -perProcess must be a whole number of bots from 1, not {{value}}", { prog: PROG, value: perText }),
      2,
    );
  }
  if (pythonDir !== undefined) {
    if (perText !== undefined && perText !== "1")
      throw new ToolExit(
        t("{{prog}}: the original's bots run one per process; -perProcess does not apply to -python", { prog: PROG }),
        2,
      );
    const outside = Object.entries(networkInterfaces()).filter(([, addrs]) => addrs?.some((a) => !a.internal));
    if (outside.length > 0) {
      throw new ToolExit(
        t(
          "{{prog}}: the original's bots would multicast on {{iface}}; run this only inside a private network namespace: unshare -n sh -c 'ip link set lo up; ip route add 224.0.0.0/4 dev lo; npm run load -- ...'",
          { prog: PROG, iface: outside.map(([name]) => name).join(", ") },
        ),
        2,
      );
    }
  }
  const perProcess = pythonDir !== undefined ? 1 : perText !== undefined ? Number(perText) : defaultPerProcess(count);

  const chanPort = await freeUdpPort();
  const filePort = await freeTcpPort();
  // The bots' own options decide heartbeat and backoff; check them once before anything starts.
  const probe = botConfig(PROG, ["-fg", ...args.botArgs], io.stderr);
  /** Longest wait for every bot to be heard before the measured window starts anyway. */
  const joinTimeout = Math.max(20, probe.backoff + 2 * probe.heartbeat + 10 + count / 200);
  const lifespan = Math.ceil(joinTimeout + seconds) + 60;
  const botArgs = [
    "-fg",
    `-lifespan=${lifespan}`,
    `-chanPort=${chanPort}`,
    `-filePort=${filePort}`,
    "-chanIface=127.0.0.1",
    ...args.botArgs,
  ];
  const config = botConfig(PROG, botArgs);

  const repo = repoRoot();
  const run = new FleetRun(
    PROG,
    {
      count,
      prefix: pythonDir !== undefined ? "PyLoadBot" : "LoadBot",
      // The original's dnabot.ini: bound to loopback whatever else happens.
      protoDir:
        pythonDir === undefined
          ? join(repo, "proto")
          : (runDir) => {
              const proto = join(runDir, "proto");
              mkdirSync(proto);
              writeFileSync(
                join(proto, "dnabot.ini"),
                `[DNABot]\nchanIface = 127.0.0.1\nchanAddr = ${config.chanAddr}\nchanPort = ${config.chanPort}\nfilePort = ${config.filePort}\n`,
              );
              return proto;
            },
      perProcess,
      command: () =>
        pythonDir !== undefined
          ? {
              file: "python3",
              args: ["-m", "DNABot", ...botArgs.filter((a) => a !== "-chanIface=127.0.0.1"), "-chanIface=127.0.0.1"],
              env: { PYTHONPATH: pythonDir },
            }
          : nodeBotCommand(repo, botArgs),
      hostCommand: (list) => nodeBotCommand(repo, [`-hostList=${list}`, ...botArgs]),
      // The original's bots leave cleanly on Ctrl-C (KeyboardInterrupt), not on SIGTERM.
      stopSignal: pythonDir !== undefined ? "SIGINT" : "SIGTERM",
      // A host's bots all leave (EXIT, linger) when it is stopped: more time for bigger hosts.
      graceMs: Math.max(10, defaultGraceSeconds(perProcess)) * 1000,
    },
    // The bots' directories go at the end, unless a bot crashed: its output says why.
    "remove",
    io,
    env,
  );
  try {
    const { fleet, runDir } = run;
    run.stopOnSignals();

    // The recorder: a plain channel (no reliability layer: it only listens and never asks for repairs).
    const transport = udpTransportFor(config);
    try {
      await transport.ready();
    } catch (e) {
      throw new ToolExit(
        t("{{prog}}: cannot join the group: {{error}}", { prog: PROG, error: (e as Error).message }),
        1,
      );
    }
    const recorder = new Channel(transport, { id: "LOAD-rec", pktSize: config.PKT_SIZE });
    const traffic = new TrafficRecorder(isSupervisorId);
    let invalid = 0;
    // One bot per process: know a bot by its process (address, send port), which survives a rename;
    // bots in a host share its socket, so there a bot is its process and its id.
    recorder.on("message", (m, from) =>
      traffic.record(
        m,
        performance.now(),
        perProcess === 1 ? `${from.address}:${from.port}` : `${from.address}:${from.port}/${m.sender}`,
      ),
    );
    recorder.on("invalid", () => invalid++);
    // A failing group channel ends the run (the bots are stopped) with status 1.
    let channelError: string | undefined;
    recorder.on("error", (e) => {
      channelError ??= t("{{prog}}: the group channel failed: {{error}}", { prog: PROG, error: e.message });
      void fleet.stop();
    });

    const tty = Boolean(io.stdout.isTTY) && !json;
    const kind = pythonDir !== undefined ? t("original Python bots") : t("our bots");
    const header = t("Load: {{n}} {{kind}} for {{s}} s on group {{group}} port {{port}} (heartbeat {{h}} s)", {
      n: count,
      kind,
      s: seconds,
      group: config.chanAddr,
      port: config.chanPort,
      h: config.heartbeat,
    });
    // With -json, stdout is the JSON object alone.
    (json ? io.stderr : io.stdout).write(`${header}\n`);
    const startBar = tty
      ? new cliProgress.SingleBar({ format: `${t("Starting bots")} [{bar}] {value}/{total}` })
      : undefined;
    startBar?.start(count, 0);
    fleet.on("spawned", (p) => startBar?.increment(p.bots.length));

    const procs = new ProcTracker();
    function sampleAll(baseline = false): void {
      const round = new Map<number, ProcSample>();
      for (const p of fleet.running) {
        const s = p.pid !== undefined ? sampleProcess(p.pid) : undefined;
        if (s && p.pid !== undefined) round.set(p.pid, s);
      }
      if (baseline) procs.baseline(round, performance.now());
      else procs.round(round, performance.now());
    }
    const sampler = setInterval(sampleAll, 1000);

    const tStart = performance.now();
    await fleet.start();
    startBar?.stop();
    // Joining: until every bot has been heard (or joinTimeout); then the measured window.
    const joinBar = tty
      ? new cliProgress.SingleBar({ format: `${t("Bots heard")} [{bar}] {value}/{total}` })
      : undefined;
    joinBar?.start(fleet.started, 0);
    while (
      !fleet.isStopping &&
      traffic.botsHeard() < fleet.started &&
      performance.now() - tStart < joinTimeout * 1000
    ) {
      await sleep(100);
      joinBar?.update(traffic.botsHeard());
    }
    joinBar?.stop();
    const joinedIn = (performance.now() - tStart) / 1000;
    const heardAtStart = traffic.botsHeard();
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
    const heartbeatMs = config.heartbeat * 1000;
    // Bots in hosts are known by id: one that renamed itself after an id collision is one bot.
    if (fleet.perProcess > 1) {
      const template = t("Name collision: {{old}} is also used by {{address}}, now {{id}}", {
        old: "§OLD§",
        address: "§ADDRESS§",
        id: "§NEW§",
      });
      for (const p of fleet.processes) {
        const text = existsSync(p.outFile) ? readFileSync(p.outFile, "utf8") : "";
        traffic.mergeRenames(renamesInLog(text, template));
      }
    }
    const window = traffic.summary(
      t0,
      tEnd,
      heartbeatMs,
      Math.max(0, fleet.started - traffic.botsHeard()),
      Math.max(0, Math.floor(ranFor / config.heartbeat)),
    );
    const step = intervalFor(ranFor);
    const series = traffic.series(t0, tEnd, step * 1000, heartbeatMs);
    procs.fill(series, t0);

    await fleet.stop();
    await sleep(500); // last EXITs in flight
    await recorder.close();

    const tally = fleet.tally();
    const crashed = tally.crashed + tally.forced;
    run.keep = crashed > 0;
    const proc = procs.summary();
    const started = fleet.started;
    const result: LoadResult = {
      kind: pythonDir !== undefined ? "python" : "ours",
      bots: count,
      botsStarted: started,
      processes: fleet.processesStarted,
      perProcess: fleet.perProcess,
      seconds: ranFor,
      heartbeat: config.heartbeat,
      joinSeconds: joinedIn,
      botsHeard: traffic.botsHeard(),
      renamedBots: traffic.renamed(),
      botsHeardAtStart: heardAtStart,
      heartbeatsExpected: window.beatsExpected,
      heartbeatsReceived: window.beatsReceived,
      worstBotRatio: window.worstBotRatio,
      sequenceGaps: window.seqLost,
      sequenceSpan: window.seqSpan,
      messages: window.messages,
      messagesPerSecond: window.messages / ranFor,
      byOpcode: window.byOpcode,
      malformed: invalid,
      peakRssBytes: proc.peakTotalRssKb * 1024,
      rssBytesPerBot: started > 0 ? (proc.peakTotalRssKb * 1024) / started : 0,
      cpuSeconds: proc.cpuSinceBaseline,
      cpuSecondsBefore: proc.cpuSeconds - proc.cpuSinceBaseline,
      recorderCpuSeconds: (recorderCpu.user + recorderCpu.system) / 1e6,
      crashed,
      endings: tally,
      intervalSeconds: step,
      series,
    };

    {
      const pct = (a: number, b: number) => (b > 0 ? formatFixed((100 * a) / b, 1) : "-");
      const mb = (bytes: number) => formatFixed(bytes / 1024 / 1024, 1);
      const lines = [
        t("Bots started:            {{n}} of {{want}}, in {{procs}} processes", {
          n: started,
          want: count,
          procs: result.processes,
        }),
        t(
          "Bots heard on the group: {{n}} ({{atStart}} within {{s}} s of starting, when the measured window began); {{renamed}} renamed after an id collision",
          { n: result.botsHeard, atStart: heardAtStart, s: formatFixed(joinedIn, 1), renamed: result.renamedBots },
        ),
        t("Heartbeats (BEAT/NEWS):  {{got}} received of {{exp}} expected ({{pct}}%; worst bot {{worst}}%)", {
          got: result.heartbeatsReceived,
          exp: result.heartbeatsExpected,
          pct: pct(result.heartbeatsReceived, result.heartbeatsExpected),
          worst: formatFixed(100 * result.worstBotRatio, 1),
        }),
        t("Sequence gaps:           {{lost}} of {{span}} sequenced messages never arrived ({{pct}}%)", {
          lost: result.sequenceGaps,
          span: result.sequenceSpan,
          pct: pct(result.sequenceGaps, result.sequenceSpan),
        }),
        t("Messages:                {{n}} in {{s}} s = {{rate}}/s; whole run by kind: {{ops}}; {{invalid}} malformed", {
          n: result.messages,
          s: formatFixed(ranFor, 1),
          rate: formatFixed(result.messagesPerSecond, 1),
          ops: Object.entries(result.byOpcode)
            .sort()
            .map(([op, n]) => `${op} ${n}`)
            .join(", "),
          invalid,
        }),
        t(
          "Memory of the bots:      peak {{total}} MB in total, {{perBot}} kB per bot; per process {{max}} MB at most (VmHWM)",
          {
            total: mb(result.peakRssBytes),
            perBot: formatFixed(result.rssBytesPerBot / 1024, 0),
            max: formatFixed(proc.maxProcHwmKb / 1024, 1),
          },
        ),
        t(
          "CPU of the bots:         {{s}} s in the window = {{core}}% of one core, {{perBot}} ms per bot per second; {{startup}} s before it",
          {
            s: formatFixed(result.cpuSeconds, 2),
            core: formatFixed((100 * result.cpuSeconds) / ranFor, 1),
            perBot: started > 0 ? formatFixed((1000 * result.cpuSeconds) / started / ranFor, 3) : "-",
            startup: formatFixed(result.cpuSecondsBefore, 2),
          },
        ),
        t("CPU of the recorder:     {{s}} s", { s: formatFixed(result.recorderCpuSeconds, 2) }),
        tallyLine(started, tally),
      ];
      if (run.keep) lines.push(t("The bots' directories and output are kept in {{dir}}.", { dir: runDir }));
      if (json) io.stdout.write(`${JSON.stringify(result)}\n`);
      else io.stdout.write(`${lines.join("\n")}\n`);
      if (htmlFile !== undefined) {
        try {
          writeNewFile(htmlFile, loadReportHtml(result, { lang, at: new Date(), lines }));
          io.stderr.write(`${t("{{prog}}: report written to {{file}}", { prog: PROG, file: htmlFile })}\n`);
        } catch (e) {
          const error = (e as Error).message;
          throw new ToolExit(t("{{prog}}: cannot write {{file}}: {{error}}", { prog: PROG, file: htmlFile, error }), 1);
        }
      }
    }
    if (channelError) throw new ToolExit(channelError, 1);
    return run.status();
  } finally {
    run.close();
  }
}
