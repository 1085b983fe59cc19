/**
 * The load report as a picture: `npm run load -- N seconds -html=FILE` writes one self-contained
 * HTML file (style, scripts and data inline; nothing fetched, so it opens anywhere without a
 * network) with charts of the measured window — bots heard, heartbeats received vs expected,
 * messages per second, memory and CPU of the bot processes, sequence gaps, NACKs and repairs —
 * and the lines the text report prints.
 *
 * Charts are drawn by uPlot (inlined from node_modules) and supervisor/web/client/report.ts
 * (inlined from dist/). Its Content-Security-Policy allows exactly those inline scripts and the
 * style, by their SHA-256 hashes; all text is escaped into the HTML, and the data block is JSON
 * with `<` escaped so nothing in it can end the block.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { type Lang, t } from "../shared/i18n.js";
import type { LoadResult } from "./load_stats.js";

/** Where the compiled report script is: dist/supervisor/web/client/report.js. */
function reportScriptPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const dist = here.includes(`${sep}dist${sep}`) ? join(here, "..") : join(here, "..", "dist");
  return join(dist, "supervisor", "web", "client", "report.js");
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that can sit inside a <script> block: no `<` left to close it or open a comment. */
export function inlineJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text, "utf8").digest("base64")}'`;
}

interface ChartSeries {
  label: string;
  colour: string;
  values: number[];
  right?: boolean;
  dash?: boolean;
}

/** The charts' data, every word translated here. */
export function reportData(r: LoadResult): {
  t: number[];
  xLabel: string;
  charts: { title: string; left: string; right?: string; series: ChartSeries[] }[];
} {
  // A last interval much shorter than the others (the window rarely ends on a step) has
  // meaningless per-interval counts: leave it out of the charts.
  const s = r.series.filter((p, i, all) => {
    const start = i === 0 ? 0 : (all[i - 1]?.t ?? 0);
    return i < all.length - 1 || p.t - start >= r.intervalSeconds / 2;
  });
  const round = (x: number, d = 2) => Number(x.toFixed(d));
  return {
    t: s.map((p) => p.t),
    xLabel: t("seconds into the window"),
    charts: [
      {
        title: t("Bots heard"),
        left: t("bots"),
        series: [{ label: t("bots heard"), colour: "#1d2430", values: s.map((p) => p.botsHeard) }],
      },
      {
        title: t("Heartbeats received vs expected, per interval"),
        left: t("heartbeats"),
        series: [
          { label: t("expected"), colour: "#9e9e9e", dash: true, values: s.map((p) => round(p.beatsExpected)) },
          { label: t("received"), colour: "#2f7d32", values: s.map((p) => p.beatsReceived) },
        ],
      },
      {
        title: t("Messages per second"),
        left: t("messages/s"),
        series: [{ label: t("messages/s"), colour: "#1f5fa8", values: s.map((p) => round(p.messagesPerSecond, 1)) }],
      },
      {
        title: t("Memory and CPU of the bot processes"),
        left: t("MB resident"),
        right: t("% of one core"),
        series: [
          { label: t("RSS, MB"), colour: "#8e24aa", values: s.map((p) => round(p.rssBytes / 1024 / 1024, 1)) },
          { label: t("CPU, %"), colour: "#c62828", right: true, values: s.map((p) => round(p.cpuPercent, 1)) },
        ],
      },
      {
        title: t("Sequence gaps, NACKs and repairs, per interval"),
        left: t("messages"),
        series: [
          { label: t("gaps"), colour: "#b8860b", values: s.map((p) => p.gaps) },
          { label: t("NACKs"), colour: "#c62828", values: s.map((p) => p.nacks) },
          { label: t("repairs (RSND/SKIP)"), colour: "#1f5fa8", values: s.map((p) => p.repairs) },
        ],
      },
    ],
  };
}

const CSS = `
body { margin: 1.5em auto; max-width: 1200px; padding: 0 1em; font: 14px/1.45 system-ui, sans-serif; color: #1d2430; }
h1 { font-size: 1.4em; margin: 0 0 .2em; }
.sub { color: #5d6778; margin: 0 0 1em; }
#charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(580px, 1fr)); gap: 1em; }
figure { margin: 0; border: 1px solid #d9dee7; border-radius: 6px; padding: .5em; }
figcaption { font-weight: 600; margin-bottom: .3em; }
pre { background: #f0f2f5; padding: .8em; overflow-x: auto; white-space: pre-wrap; }
.uplot { font-family: system-ui, sans-serif; }
`;

export interface LoadHtmlOptions {
  lang: Lang;
  /** When the run ended. */
  at: Date;
  /** The text report's lines, as printed. */
  lines: readonly string[];
}

/** The whole report as one HTML document. */
export function loadReportHtml(r: LoadResult, o: LoadHtmlOptions): string {
  const require = createRequire(import.meta.url);
  const uplotJs = readFileSync(require.resolve("uplot/dist/uPlot.iife.min.js"), "utf8");
  const uplotCss = readFileSync(require.resolve("uplot/dist/uPlot.min.css"), "utf8");
  const reportJs = readFileSync(reportScriptPath(), "utf8");
  const css = uplotCss + CSS;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(uplotJs)} ${sha256(reportJs)}`,
    `style-src ${sha256(css)}`,
    "img-src data:",
  ].join("; ");
  const kind = r.kind === "python" ? t("original Python bots") : t("our bots");
  const title = t("Load report: {{n}} {{kind}}, {{s}} s", { n: r.bots, kind, s: Math.round(r.seconds) });
  const sub = t("{{processes}} processes, heartbeat {{h}} s, one point every {{step}} s; {{when}}", {
    processes: r.processes,
    h: r.heartbeat,
    step: r.intervalSeconds,
    when: new Intl.DateTimeFormat(o.lang, { dateStyle: "medium", timeStyle: "medium" }).format(o.at),
  });
  // Script and style texts go in exactly as hashed; only the JSON block is built from data.
  return `<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${escapeHtml(csp)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${css}</style>
</head>
<body>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${escapeHtml(sub)}</p>
<div id="charts"></div>
<h2>${escapeHtml(t("The text report"))}</h2>
<pre>${escapeHtml(o.lines.join("\n"))}</pre>
<script type="application/json" id="report-data">${inlineJson(reportData(r))}</script>
<script>${uplotJs}</script>
<script>${reportJs}</script>
</body>
</html>
`;
}

/** Why FILE cannot take the report (checked before the run starts), or undefined. The report is
 *  a new file: an existing one is never overwritten. */
export function htmlTargetProblem(file: string): string | undefined {
  if (file === "") return t("-html needs a file name: -html=FILE");
  if (existsSync(file)) return t("{{file}} exists; the report is written to a new file only", { file });
  const dir = dirname(resolve(file));
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    return t("the folder {{dir}} for {{file}} does not exist", { dir, file });
  }
  return undefined;
}

/** Write a new file; fails (EEXIST) rather than replace one that appeared since. */
export function writeNewFile(file: string, text: string): void {
  writeFileSync(file, text, { flag: "wx" });
}
