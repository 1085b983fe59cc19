/**
 * The network lab (tools/netlab.sh, root only): real `node dnabot` and `node supervisor`
 * processes on three hosts joined by a bridge, with the kernel dropping 20% of the group's
 * datagrams arriving at every host (nft). Bots run on h1 and h2, two per host; a supervisor in
 * script mode on h3 gets its commands on stdin as the run goes.
 *
 * The run: the bots research until there is plenty of NEWS; then `RSET *` with discovery=0
 * in their dnabot.ini stops research (so each results file stops growing), `UPLD *`, and a
 * `KILL id` to each bot in turn. With the reliability layer on (IPv4 and IPv6 groups) every
 * NEWS reaches the supervisor exactly once and matches the results file it uploaded, and
 * every KILL kills. With the layer off, the same run loses messages: the layer does the work.
 *
 * With a group key (every program given the same -keyFile), the same run must succeed, and an
 * intruder without the key (a supervisor on h3 sending `KILL *` five times) kills nobody: the
 * keyed supervisor shows its datagrams as refused.
 *
 * Ground truth is each bot's own debug log (`sent ID SEQ OPCODE ...`, one line per message
 * sent); what the supervisor saw is what it printed. Each test keeps its outputs in a temp dir,
 * kept and named in the failure message when an assertion fails.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { generateKey } from "../../shared/keys/keyring.js";
import { downAll, Lab, type LabProcess, labUnavailable } from "../helpers/lab.js";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { until } from "../helpers/until.js";

const UNAVAILABLE = labUnavailable();
const LOSS_PCT = 20;
const BOT_HOSTS = [1, 2];
const BOTS_PER_HOST = 2;
const SUPERVISOR_HOST = 3;
const SUPERVISOR_ID = "HUMAN-1ab0";
/** Research until every bot has sent this many NEWS and all together at least TOTAL_NEWS:
 *  with 20% loss and no repair, P(no NEWS lost) = 0.8^40 ≈ 1e-4. */
const NEWS_EACH = 6;
const TOTAL_NEWS = 40;
/** Longest wait for one step. Generous: repair takes up to nackTries rounds of backoff, and
 *  the lab may share a small machine with the fleet load tests (a step that takes a second
 *  alone took over 10 s at a load average of 200). A normal run takes 15-25 s in all. */
const STEP_MS = 30_000;
/** Per test: several steps at their worst. */
const TEST_MS = 150_000;
/** Without the layer, how long a step that a lost command may stop is given. */
const LOSSY_STEP_MS = 4_000;

/** Bot settings in each bot's ./dnabot.ini, so RSET can change discovery (the command line
 *  would win over the file). Fast heartbeat and research; no Frankenstein, so KILLs behave. */
function botIni(discovery: number): string {
  return [
    "[DNABot]",
    "heartbeat = 1",
    "backoff = 0.5",
    "lifespan = 150",
    `discovery = ${discovery}`,
    "frankenstein = 0",
    "killBoost = 0",
    "",
  ].join("\n");
}

interface Bot {
  id: string;
  host: number;
  dir: string;
  proc: LabProcess;
}

/** A message a bot logged as sent, or the supervisor printed as received. */
interface Msg {
  sender: string;
  seq: number;
  opcode: string;
}

const SENT = /DEBUG: sent ([0-9A-F]{8}) (\d+) ([A-Z]{4}) \*/;
const TRAFFIC = /^([0-9A-F]{8}) (\d+) ([A-Z]{4}) \* /;

function sentBy(bot: Bot): Msg[] {
  const out: Msg[] = [];
  for (const line of bot.proc.output().split("\n")) {
    const m = SENT.exec(line);
    if (m && m[1] === bot.id) out.push({ sender: bot.id, seq: Number(m[2]), opcode: m[3] as string });
  }
  return out;
}

function printed(sup: LabProcess): Msg[] {
  const out: Msg[] = [];
  for (const line of sup.lines()) {
    const m = TRAFFIC.exec(line);
    if (m) out.push({ sender: m[1] as string, seq: Number(m[2]), opcode: m[3] as string });
  }
  return out;
}

const seqs = (msgs: Msg[], sender: string, opcode?: string): number[] =>
  msgs
    .filter((m) => m.sender === sender && (opcode === undefined || m.opcode === opcode))
    .map((m) => m.seq)
    .sort((a, b) => a - b);

/** The lines of the upload the supervisor printed for `id`: after `200 ID:results.data`, up to
 *  `(saved as ...)` (an upload is printed in one piece). */
function uploadedLines(sup: LabProcess, id: string): string[] | undefined {
  const lines = sup.lines();
  const start = lines.indexOf(`200 ${id}:results.data`);
  if (start < 0) return undefined;
  const end = lines.findIndex((l, i) => i > start && l.startsWith("(saved as "));
  if (end < 0) return undefined;
  const content = lines.slice(start + 1, end);
  return content.length === 1 && content[0] === "EOF" ? [] : content;
}

/** The line index where the supervisor printed that `id` left, after it sent the KILL. */
function leftAfterKill(sup: LabProcess, id: string): { reason: string } | undefined {
  const lines = sup.lines();
  const kill = lines.findIndex((l) => new RegExp(`^${SUPERVISOR_ID} \\d+ KILL ${id}$`).test(l));
  if (kill < 0) return undefined;
  for (let i = kill + 1; i < lines.length; i++) {
    const m = new RegExp(`^- ${id} left \\((.+)\\)$`).exec(lines[i] as string);
    if (m) return { reason: m[1] as string };
  }
  return undefined;
}

interface RunOptions {
  family: 4 | 6;
  reliable: boolean;
  /** The group port (the lab drops datagrams to it). */
  port: number;
  /** Where outputs are kept. */
  dir: string;
  /** A group key file every program of the run is given (and an intruder is not). */
  keyFile?: string;
}

interface RunResult {
  bots: Bot[];
  sup: LabProcess;
  supDir: string;
  /** Did each step complete in time (always, with the layer on)? */
  reset: Set<string>;
  uploaded: Set<string>;
  exitCodes: Map<string, number | null>;
  supervisorExit: number | null;
  /** Datagrams nft dropped at the supervisor's host. */
  droppedAtSupervisor: number;
}

/** The programs of the run under way, so a failing test can keep their outputs. */
let current: { bots: Bot[]; sup: LabProcess; supDir: string } | undefined;

function saveOutputs(): void {
  if (!current) return;
  for (const b of current.bots) writeFileSync(join(b.dir, "bot.out"), b.proc.output());
  writeFileSync(join(current.supDir, "supervisor.out"), current.sup.output());
}

/**
 * One lab run. With the layer on, each wait must succeed (a failure throws, naming the step);
 * with it off, steps may fail for lost commands and the run goes on.
 */
async function labRun(lab: Lab, o: RunOptions): Promise<RunResult> {
  const v6 = o.family === 6;
  const group = v6 ? "ff05::ef:1:2:4" : "239.1.2.4";
  const iface = (h: number) => (v6 ? `fd99::${h}` : `10.99.0.${h}`);
  const open = [`-chanAddr=${group}`, `-chanPort=${o.port}`, ...(o.reliable ? [] : ["-reliable=false"])];
  const common = [...open, ...(o.keyFile ? [`-keyFile=${o.keyFile}`] : [])];
  /** Wait for a step. It must complete when the layer is on, or when `always` (steps that need
   *  no command to arrive); otherwise a lost command may stop it, after a shorter wait. */
  const must = async (what: string, cond: () => boolean, ms: number, always = false): Promise<boolean> => {
    const required = o.reliable || always;
    const limit = required ? ms : Math.min(ms, LOSSY_STEP_MS);
    const ok = (await until(what, cond, { ms: limit, step: 100, orUndefined: true })) !== undefined;
    if (!ok && required) throw new Error(`lab run (IPv${o.family}): timed out waiting for ${what}`);
    return ok;
  };

  // The supervisor first, so it tracks every bot from its first message.
  const supDir = join(o.dir, "supervisor");
  mkdirSync(supDir);
  const sup = lab.start(
    SUPERVISOR_HOST,
    "supervisor",
    [
      ...common,
      `-chanIface=${iface(SUPERVISOR_HOST)}`,
      `-supervisorId=${SUPERVISOR_ID}`,
      `-filePort=${await freeTcpPort()}`,
      "-heartbeat=3",
      "-backoff=0.5",
      "-uploadWait=10",
      "-seed=7",
    ],
    { cwd: supDir, stdin: true },
  );
  const bots: Bot[] = [];
  current = { bots, sup, supDir };
  await must(
    "the supervisor to start",
    () => sup.lines().some((l) => l.startsWith(`Supervisor ${SUPERVISOR_ID} `)),
    STEP_MS,
    true,
  );

  let seed = 1;
  for (const host of BOT_HOSTS) {
    for (let k = 0; k < BOTS_PER_HOST; k++) {
      const dir = join(o.dir, `bot${seed}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "dnabot.ini"), botIni(0.8));
      const proc = lab.start(
        host,
        "dnabot",
        ["-fg", "-debug", ...common, `-chanIface=${iface(host)}`, `-seed=${seed}`],
        {
          cwd: dir,
        },
      );
      bots.push({ id: "", host, dir, proc });
      seed++;
    }
  }
  for (const bot of bots) {
    await must("a bot to start", () => /Bot ([0-9A-F]{8}) activated/.test(bot.proc.output()), STEP_MS, true);
    bot.id = (/Bot ([0-9A-F]{8}) activated/.exec(bot.proc.output()) as RegExpExecArray)[1] as string;
  }
  expect(new Set(bots.map((b) => b.id)).size, "bot ids are distinct").toBe(bots.length);
  await must("every bot to join", () => bots.every((b) => sup.lines().includes(`+ ${b.id} joined`)), STEP_MS, true);

  if (o.keyFile) {
    // An intruder without the key: five unsigned KILL * from h3. Nobody dies of them (each bot
    // later exits 255 "killed by" the keyed supervisor), and the keyed supervisor shows them apart.
    const intruderDir = join(o.dir, "intruder");
    mkdirSync(intruderDir);
    const intruder = lab.start(
      SUPERVISOR_HOST,
      "supervisor",
      [...open, `-chanIface=${iface(SUPERVISOR_HOST)}`, "-supervisorId=HUMAN-bad0", `-filePort=${await freeTcpPort()}`],
      { cwd: intruderDir, stdin: true },
    );
    for (let i = 0; i < 5; i++) intruder.send("KILL *");
    intruder.child.stdin?.end();
    // It ends when its script has run (a loaded machine may take a while to start it); by then
    // its KILLs and its LAST announcements are out, and the keyed supervisor refuses them.
    await must("the intruder to run its script", () => intruder.child.exitCode !== null, 2 * STEP_MS, true);
    await must(
      "the keyed supervisor to show the intruder's datagrams refused",
      () => sup.lines().some((l) => /^refused \(unsigned\) from \S+: HUMAN-bad0 \d+ /.test(l)),
      STEP_MS,
      true,
    );
    await new Promise((r) => setTimeout(r, 1000));
    expect(
      bots.filter((b) => b.proc.child.exitCode !== null),
      "bots that exited after the unsigned KILL *",
    ).toEqual([]);
  }

  // Research until there is plenty of NEWS.
  const news = (b: Bot) => seqs(sentBy(b), b.id, "NEWS").length;
  await must(
    "enough NEWS",
    () => bots.every((b) => news(b) >= NEWS_EACH) && bots.reduce((n, b) => n + news(b), 0) >= TOTAL_NEWS,
    2 * STEP_MS,
    true,
  );

  // Stop research: RSET re-reads dnabot.ini, now with discovery 0.
  for (const bot of bots) writeFileSync(join(bot.dir, "dnabot.ini"), botIni(0));
  sup.send("RSET *");
  const wasReset = (b: Bot) => b.proc.output().includes(`Bot ${b.id} reset by ${SUPERVISOR_ID}`);
  await must("every bot to be reset", () => bots.every(wasReset), STEP_MS);
  const reset = new Set(bots.filter(wasReset).map((b) => b.id));

  sup.send("UPLD *");
  await must("every upload", () => bots.every((b) => uploadedLines(sup, b.id) !== undefined), STEP_MS);
  const uploaded = new Set(bots.filter((b) => uploadedLines(sup, b.id) !== undefined).map((b) => b.id));

  // One KILL at a time: the bots still alive hold copies of the dying bot's EXIT for repair.
  const exitCodes = new Map<string, number | null>();
  for (const bot of bots) {
    sup.send(`KILL ${bot.id}`);
    const gone = await must(
      `${bot.id} to exit`,
      () => bot.proc.child.exitCode !== null || bot.proc.child.signalCode !== null,
      STEP_MS,
    );
    if (gone) exitCodes.set(bot.id, (await bot.proc.exited).code);
    if (gone)
      await must(`the supervisor to see ${bot.id} leave`, () => leftAfterKill(sup, bot.id) !== undefined, STEP_MS);
  }

  // Give repair its time (nothing left to repair without the layer), then end the script.
  if (o.reliable) {
    const all = () =>
      bots.every((b) => seqs(printed(sup), b.id, "NEWS").length >= seqs(sentBy(b), b.id, "NEWS").length);
    await must("every NEWS at the supervisor", all, STEP_MS);
  }
  const droppedAtSupervisor = await lab.dropped(SUPERVISOR_HOST);
  sup.child.stdin?.end();
  const supervisorExit = await Promise.race([
    sup.exited.then((e) => e.code),
    new Promise<null>((r) => setTimeout(() => r(null), STEP_MS)),
  ]);

  return { bots, sup, supDir, reset, uploaded, exitCodes, supervisorExit, droppedAtSupervisor };
}

/** Assertions of a run with the reliability layer on. */
function expectEverythingArrived(r: RunResult): void {
  const seen = printed(r.sup);
  expect(r.droppedAtSupervisor, "nft dropped datagrams at the supervisor's host").toBeGreaterThan(0);
  for (const bot of r.bots) {
    const sent = sentBy(bot);
    const newsSent = seqs(sent, bot.id, "NEWS");
    const newsSeen = seqs(seen, bot.id, "NEWS");
    expect(newsSent.length, `${bot.id} researched`).toBeGreaterThanOrEqual(NEWS_EACH);
    // Every NEWS, exactly once.
    expect(newsSeen, `NEWS of ${bot.id} at the supervisor`).toEqual(newsSent);
    const all = seqs(seen, bot.id);
    expect(new Set(all).size, `no message of ${bot.id} printed twice`).toBe(all.length);
    // UPLD * returned the whole results file: one line per NEWS (research stopped at RSET).
    const lines = uploadedLines(r.sup, bot.id);
    expect(lines?.length, `lines uploaded by ${bot.id}`).toBe(newsSent.length);
    const saved = readFileSync(join(r.supDir, "uploads", `${bot.id}_results.data`), "utf8");
    expect(saved.split("\n").slice(0, -1), `upload of ${bot.id} saved`).toEqual([
      `200 ${bot.id}:results.data`,
      ...(lines ?? []),
    ]);
    // KILL: status 255, and the supervisor saw it leave.
    expect(r.exitCodes.get(bot.id), `exit status of ${bot.id}`).toBe(255);
    expect(bot.proc.output()).toContain(`Bot ${bot.id} killed by ${SUPERVISOR_ID}`);
    expect(leftAfterKill(r.sup, bot.id), `the supervisor saw ${bot.id} leave`).toBeDefined();
  }
  expect(r.supervisorExit, "the supervisor ends at the end of its script").toBe(0);
  const reasons = r.bots.map((b) => leftAfterKill(r.sup, b.id)?.reason);
  console.info(
    `reliable: NEWS ${r.bots.reduce((n, b) => n + seqs(sentBy(b), b.id, "NEWS").length, 0)} sent, all seen once; ` +
      `${r.droppedAtSupervisor} datagrams dropped at the supervisor's host; left: ${reasons.join(", ")}`,
  );
}

describe.skipIf(UNAVAILABLE !== undefined)(
  `network lab: 3 hosts, ${LOSS_PCT}% kernel packet loss${UNAVAILABLE ? ` (skipped: ${UNAVAILABLE})` : ""}`,
  () => {
    let lab: Lab | undefined;
    let work: { dir: string; cleanup: () => void } | undefined;
    afterEach(async (ctx) => {
      await lab?.down();
      lab = undefined;
      if (ctx.task.result?.state === "fail") {
        saveOutputs();
        console.error(`lab test outputs kept in ${work?.dir}`);
      } else {
        work?.cleanup();
      }
      work = undefined;
      current = undefined;
    });
    afterAll(downAll);

    /** A fresh lab dropping LOSS_PCT% of the datagrams to a fresh group port at every host. */
    async function setUp(): Promise<{ port: number; dir: string }> {
      work = tempDir("mcastbots-lab-");
      const port = await freeUdpPort();
      lab = await Lab.create(3, LOSS_PCT, port);
      return { port, dir: work.dir };
    }

    it(
      "IPv4: every NEWS reaches the supervisor, UPLD * returns every file, every KILL kills",
      async () => {
        const { port, dir } = await setUp();
        const r = await labRun(lab as Lab, { family: 4, reliable: true, port, dir });
        expectEverythingArrived(r);
      },
      TEST_MS,
    );

    it(
      "IPv6 group (ff05::ef:1:2:4 on fd99::N): the same",
      async () => {
        const { port, dir } = await setUp();
        const r = await labRun(lab as Lab, { family: 6, reliable: true, port, dir });
        expectEverythingArrived(r);
      },
      TEST_MS,
    );

    it(
      "IPv4 with a group key: the same, and an unsigned KILL * from a host without the key kills nobody",
      async () => {
        const { port, dir } = await setUp();
        const keyFile = join(dir, "group.key");
        writeFileSync(keyFile, `${generateKey()}\n`, { mode: 0o600 });
        const r = await labRun(lab as Lab, { family: 4, reliable: true, port, dir, keyFile });
        expectEverythingArrived(r);
        for (const bot of r.bots) expect(bot.proc.output()).not.toContain("killed by HUMAN-bad0");
      },
      TEST_MS,
    );

    it(
      "with -reliable=false on every program, the same run loses messages",
      async () => {
        const { port, dir } = await setUp();
        const r = await labRun(lab as Lab, { family: 4, reliable: false, port, dir });
        const seen = printed(r.sup);
        let missed = 0;
        let newsSent = 0;
        let newsSeen = 0;
        for (const bot of r.bots) {
          const got = new Set(seqs(seen, bot.id));
          missed += seqs(sentBy(bot), bot.id).filter((s) => !got.has(s)).length;
          newsSent += seqs(sentBy(bot), bot.id, "NEWS").length;
          newsSeen += seqs(seen, bot.id, "NEWS").length;
        }
        console.info(
          `reliable=false: ${missed} sequenced messages missed, NEWS ${newsSeen}/${newsSent} seen; ` +
            `reset ${r.reset.size}, uploaded ${r.uploaded.size}, killed ${[...r.exitCodes.values()].filter((c) => c === 255).length} of ${r.bots.length}`,
        );
        expect(r.droppedAtSupervisor).toBeGreaterThan(0);
        expect(missed, "sequenced messages the supervisor never printed").toBeGreaterThan(0);
        expect(newsSeen, "NEWS printed by the supervisor, of those sent").toBeLessThan(newsSent);
      },
      TEST_MS,
    );
  },
);
