/**
 * The pure parts of `npm run attack` (tools/attack.ts): the attacks of issue 11's table, how a
 * run is judged (heartbeat delivery from sequence numbers), the namespace check, and the
 * printed table. No I/O.
 */
import type { RogueMode } from "../dnabot/rogue.js";
import { formatFixed, t } from "../shared/i18n.js";

export type AttackKind = RogueMode | "slowloris" | "bigupload";

export interface Attack {
  name: string;
  kind: AttackKind;
  /** Datagrams per second for rogue attacks (0: as fast as one process can). */
  rate: number;
  /** Seconds it runs for a campaign of `seconds` per attack. */
  duration: (seconds: number) => number;
  /** The goal, as issue 11 states it (English: it names the table). */
  goal: string;
}

const full = (s: number): number => s;

/** Issue 11's table, and the other hostile traffic it names (NACK storms, reflection). */
export const ATTACKS: readonly Attack[] = [
  { name: "ids", kind: "ids", rate: 0, duration: full, goal: "no crash; bot RSS <= 150 MB" },
  {
    name: "last",
    kind: "last",
    rate: 200,
    duration: (s) => Math.min(s, 30),
    goal: "NACKs stop within 10 s after the attack",
  },
  { name: "rsnd", kind: "rsnd", rate: 1, duration: () => 1, goal: "victim's next real message delivered" },
  { name: "nack", kind: "nack", rate: 1000, duration: full, goal: "no backlog: answers stop with the storm" },
  { name: "ping", kind: "ping", rate: 200, duration: full, goal: "a bounded number of BEATs per bot" },
  { name: "upld", kind: "upld", rate: 200, duration: full, goal: "no connection to a privileged port" },
  {
    name: "slowloris",
    kind: "slowloris",
    rate: 0,
    duration: full,
    goal: "1,000 slow connections: a real UPLD * of every bot saved",
  },
  { name: "bigupload", kind: "bigupload", rate: 0, duration: full, goal: "100 MB upload: supervisor RSS <= 100 MB" },
  {
    name: "beats",
    kind: "beats",
    rate: 0,
    duration: full,
    goal: ">= 99 % of real heartbeats delivered, no real bot aged out",
  },
  { name: "malformed", kind: "malformed", rate: 0, duration: full, goal: "0 crashes, RSS bounded" },
];

export function attackNamed(name: string): Attack | undefined {
  return ATTACKS.find((a) => a.name === name);
}

/** What one attack run measured. */
export interface AttackResult {
  attack: string;
  seconds: number;
  /** Datagrams (or connections, for slowloris) the attacker sent. */
  sent: number;
  /** Per second, as reached. */
  rate: number;
  /** Programs under attack (bots, supervisor) that died during the run; the rogue's own failure. */
  crashes: number;
  /** Peak resident memory, MB: the largest of the bots, and the supervisor. */
  botPeakMb: number;
  supervisorPeakMb: number;
  /** Fraction of the real bots' heartbeats, sent during the attack, that a listener received. */
  delivery: number | undefined;
  /** Real bots the supervisor aged out during the attack and the cool-down. */
  agedOut: number;
  /** NACKs on the group from 10 s after the attack ended to the end of the cool-down, and how
   *  many of them asked for a real bot's message. */
  nacksAfter: number;
  nacksAfterReal?: number;
  /** Datagrams the kernel dropped during the attack because a program did not read them in time
   *  (its receive buffer was full): the most of any bot, the supervisor's, and the listener's.
   *  Only for datagram floods. */
  kernelDrops?: { bot: number; supervisor: number; listener: number };
  /** The whole machine's CPU during the attack: the busy share of all its cores. */
  machineBusy?: number;
  /** Cores used during the attack: by a bot (the mean of the bots) and by the supervisor. */
  cores?: { bot: number; supervisor: number };
  /** Uploads saved / asked for (slowloris, bigupload). */
  uploads?: { saved: number; asked: number };
  /** BEATs per real bot per second during the attack (ping: answers are bounded). */
  beatsPerBotPerSecond?: number;
}

/**
 * Heartbeat delivery from sequence numbers: `before` is the highest number received from the bot
 * before the attack, `after` the lowest received after it, `during` the numbers received in
 * between. Every number in (before, after) was sent during the attack (bots number every message;
 * the supervisor-free groups of the attack send BEATs only). Undefined if nothing bounds it.
 */
export function deliveryOf(
  before: number | undefined,
  after: number | undefined,
  during: ReadonlySet<number>,
): {
  sent: number;
  got: number;
} {
  if (before === undefined || after === undefined || after <= before + 1) return { sent: 0, got: 0 };
  let got = 0;
  for (const s of during) if (s > before && s < after) got++;
  return { sent: after - before - 1, got };
}

export interface NamespaceFacts {
  /** Our network namespace (readlink /proc/self/ns/net), init's (pid 1; unreadable in some
   *  sandboxes), and that of the copy of the tool that entered this one for us, if any. */
  self: string | undefined;
  init: string | undefined;
  parent: string | undefined;
  /** Every address of every interface is a loopback one (a fresh `unshare -n`). */
  onlyLoopback: boolean;
}

/** Are we in a network namespace of our own, from which nothing can reach another host? */
export function isPrivateNamespace(f: NamespaceFacts): boolean {
  if (f.self === undefined) return false;
  if (f.init !== undefined && f.self !== f.init) return true;
  if (f.parent !== undefined && f.self !== f.parent) return true;
  return f.onlyLoopback;
}

function pct(x: number | undefined): string {
  return x === undefined ? "-" : `${(x * 100).toFixed(1)} %`;
}

/** The table, one row per attack (Markdown, so it can go into the README as printed). */
export function attackTable(results: readonly AttackResult[]): string[] {
  const head = [
    t("attack"),
    t("seconds"),
    t("sent"),
    t("rate /s"),
    t("crashes"),
    t("peak RSS bot"),
    t("peak RSS supervisor"),
    t("heartbeats delivered"),
    t("aged out"),
    t("NACKs 10 s after"),
    t("kernel drops bot / supervisor"),
    t("CPU busy"),
    t("other"),
  ];
  const rows = results.map((r) => [
    r.attack,
    r.seconds.toFixed(0),
    String(r.sent),
    String(Math.round(r.rate)),
    String(r.crashes),
    `${r.botPeakMb.toFixed(0)} MB`,
    `${r.supervisorPeakMb.toFixed(0)} MB`,
    pct(r.delivery),
    String(r.agedOut),
    r.nacksAfterReal
      ? t("{{n}} ({{real}} for real bots)", { n: r.nacksAfter, real: r.nacksAfterReal })
      : String(r.nacksAfter),
    r.kernelDrops && r.sent > 0
      ? `${pct(r.kernelDrops.bot / r.sent)} / ${pct(r.kernelDrops.supervisor / r.sent)}`
      : "-",
    pct(r.machineBusy),
    [
      r.uploads ? t("uploads saved {{saved}}/{{asked}}", r.uploads) : "",
      r.beatsPerBotPerSecond !== undefined
        ? t("{{n}} BEAT/s per bot", { n: formatFixed(r.beatsPerBotPerSecond, 2) })
        : "",
    ]
      .filter((s) => s !== "")
      .join("; "),
  ]);
  const line = (cells: string[]): string => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)];
}
