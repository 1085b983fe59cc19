/**
 * The supervisor's live page (browser side). Compiled by supervisor/web/client/tsconfig.json into
 * dist/supervisor/web/client/app.js; served by supervisor/web/server.ts.
 *
 * - Words: every string goes through t() over the catalogue the server sends (the same i18n
 *   catalogues as the programs; npm run i18n:extract reads the t() calls here).
 * - Network text (ids, addresses, upload lines) is only ever put into the page with
 *   textContent, never as markup; the server's Content-Security-Policy forbids inline code.
 * - Live data: one Server-Sent Events stream of batches (a few per second at most, however busy
 *   the group is); the roster is asked for one page at a time, at most once a second while it
 *   changes, at once when the filters change.
 */
import type uPlotType from "uplot";
import type {
  Batch,
  CommandOutcome,
  Hello,
  RosterPage,
  RosterRow,
  SeriesPoint,
  StateCounts,
  TimelineEntry,
  UploadingView,
  UploadSummary,
  UploadView,
} from "../wire.js";
import { leaveReasonKey } from "../wire.js";

declare global {
  interface Window {
    uPlot: typeof uPlotType;
    /** Read by the browser tests: how the page is doing. */
    mcbStats: {
      batches: number;
      rosterFetches: number;
      lastRosterMs: number;
      lastRenderMs: number;
      rosterVersionShown: number;
    };
  }
}

const CHART_OPS = ["BEAT", "NEWS", "EXIT", "PING", "UPLD", "KILL", "RSET", "other"] as const;
const OP_COLOURS = ["#2f7d32", "#00838f", "#b8860b", "#1f5fa8", "#8e24aa", "#c62828", "#3949ab", "#757575"];
const TIMELINE_MAX = 500;
const HISTORY_MAX = 600;
const PAGE_SIZE = 100;
const ROSTER_REFRESH_MS = 1000;

// ---- words ----

let lang = document.documentElement.lang === "fr" ? "fr" : "en";
let strings: Record<string, string> = {};

function t(key: string, values?: Record<string, string | number>): string {
  const s = strings[key];
  const text = typeof s === "string" && s !== "" ? s : key;
  if (!values) return text;
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_m, k: string) => {
    const v = values[k];
    return v === undefined ? "" : typeof v === "number" ? num(v) : v;
  });
}

function num(n: number, digits = 0): string {
  return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(n);
}

function clock(ms: number): string {
  return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(ms);
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return t("{{seconds}}s ago", { seconds: s });
  return t("{{minutes}} min ago", { minutes: Math.round(s / 60) });
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return t("{{seconds}} s", { seconds: s });
  return t("{{minutes}} min", { minutes: Math.round(s / 60) });
}

function reasonText(reason: string | undefined): string {
  return t(leaveReasonKey(reason));
}

function stateText(state: string, kind: string): string {
  if (kind === "supervisor") return t("supervisor");
  if (state === "asimov") return "Asimov";
  if (state === "frankenstein") return "Frankenstein";
  return t("unknown");
}

function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`no #${id}`);
  return e;
}

function make<K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls !== undefined) e.className = cls;
  return e;
}

/** Translate the shell: every element carrying data-t gets its key's translation as text. */
function translateShell(): void {
  for (const e of document.querySelectorAll<HTMLElement>("[data-t]")) e.textContent = t(e.dataset.t ?? "");
  ($("c-file") as HTMLInputElement).placeholder = t("file (default: the results file)");
  ($("f-id") as HTMLInputElement).placeholder = t("e.g. 3F2A");
  ($("prev") as HTMLButtonElement).title = t("Previous page");
  ($("next") as HTMLButtonElement).title = t("Next page");
  ($("selectpage") as HTMLInputElement).title = t("Select every member on this page");
  document.title = t("MCastBots supervisor");
}

// ---- token ----

function takeToken(): string | undefined {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get("token");
  if (fromUrl) {
    sessionStorage.setItem("mcb-token", fromUrl);
    url.searchParams.delete("token");
    // Out of the address bar and the history: the token is a password.
    history.replaceState(null, "", url.pathname + url.search);
  }
  return sessionStorage.getItem("mcb-token") ?? undefined;
}

let token = "";

async function api<T>(
  path: string,
  params: Record<string, string | number> = {},
): Promise<{ status: number; body: T }> {
  const q = new URLSearchParams({
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
    token,
  });
  const res = await fetch(`${path}?${q}`, { cache: "no-store" });
  return { status: res.status, body: (await res.json()) as T };
}

// ---- state shown ----

let history_: SeriesPoint[] = [];
let timelineLast = 0;
let uploadsDone = 0;
const uploadsSeen = new Set<number>();
let rosterVersion = -1;
let rosterShownVersion = -2;
let rosterFetching = false;
let rosterLastFetch = 0;
let rosterTimer: number | undefined;
const query = { sort: "id", desc: false, state: "", id: "", program: "", offset: 0 };
let rosterPage: RosterPage = { total: 0, all: 0, offset: 0, rows: [] };
const selected = new Set<string>();
const stats = { batches: 0, rosterFetches: 0, lastRosterMs: 0, lastRenderMs: 0, rosterVersionShown: -1 };
window.mcbStats = stats;

// ---- cards ----

const CARD_KEYS: Array<[keyof StateCounts | "rate" | "uploads", string, string]> = [
  ["members", "Members", ""],
  ["bots", "Bots", ""],
  ["asimov", "Asimov", "asimov"],
  ["frankenstein", "Frankenstein", "frankenstein"],
  ["unknown", "State unknown", ""],
  ["supervisors", "Supervisors", ""],
  ["ours", "Ours", ""],
  ["original", "The original's", ""],
  ["rate", "Messages/s", ""],
  ["uploads", "Uploads in progress", ""],
];
const cardValues = new Map<string, HTMLElement>();

function buildCards(): void {
  const box = $("cards");
  box.replaceChildren();
  for (const [key, label, cls] of CARD_KEYS) {
    const card = make("div", undefined, `card ${cls}`);
    card.dataset.card = key;
    const v = make("div", "0", "v");
    const labelText = key === "asimov" || key === "frankenstein" ? label : cardLabel(key);
    card.append(v, make("div", labelText, "k"));
    cardValues.set(key, v);
    box.append(card);
  }
}

function cardLabel(key: string): string {
  switch (key) {
    case "members":
      return t("Members");
    case "bots":
      return t("Bots");
    case "unknown":
      return t("State unknown");
    case "supervisors":
      return t("Supervisors");
    case "ours":
      return t("Ours");
    case "original":
      return t("The original's");
    case "rate":
      return t("Messages/s");
    default:
      return t("Uploads in progress");
  }
}

function showCounts(c: StateCounts, inProgress: number, refused: number, point: SeriesPoint | undefined): void {
  for (const [key] of CARD_KEYS) {
    const el = cardValues.get(key);
    if (!el) continue;
    if (key === "rate") el.textContent = point ? num((point.messages * 1000) / point.dt, 1) : "0";
    else if (key === "uploads") el.textContent = num(inProgress);
    else el.textContent = num(c[key]);
  }
  $("uploadstate").textContent = t("{{running}} in progress, {{done}} received, {{refused}} refused", {
    running: inProgress,
    done: uploadsDone,
    refused,
  });
}

// ---- charts ----

interface Chart {
  plot: uPlotType;
  el: HTMLElement;
  data: () => number[][];
}
const charts: Chart[] = [];

/** Axis numbers short enough for the axis: 10K, 2.5K, 0.5. */
function compactTicks(_u: uPlotType, ticks: number[]): string[] {
  const fmt = new Intl.NumberFormat(lang, { notation: "compact", maximumFractionDigits: 1 });
  return ticks.map((v) => fmt.format(v));
}

function rate(p: SeriesPoint, n: number): number {
  return (n * 1000) / p.dt;
}

function buildCharts(): void {
  for (const c of charts) c.plot.destroy();
  charts.length = 0;
  const U = window.uPlot;
  if (!U) return; // the chart library did not load: the rest of the page works without
  const time = () => history_.map((p) => p.t / 1000);
  const make_ = (id: string, series: uPlotType.Series[], data: () => number[][], extraAxes: uPlotType.Axis[] = []) => {
    const el = $(id);
    el.replaceChildren();
    const plot = new U(
      {
        width: Math.max(280, el.clientWidth || 400),
        height: 180,
        series: [{}, ...series.map((x) => ({ points: { show: false }, ...x }))],
        axes: [
          { values: (_u: uPlotType, ticks: number[]) => ticks.map((s) => clock(s * 1000)) },
          { size: 50, values: compactTicks },
          ...extraAxes,
        ],
        scales: { x: { time: true } },
        legend: { live: false },
        cursor: { drag: { x: false, y: false } },
      },
      [time(), ...data()] as uPlotType.AlignedData,
      el,
    );
    charts.push({ plot, el, data: () => [time(), ...data()] });
  };
  make_(
    "chart-ops",
    [
      ...CHART_OPS.map((op, i) => ({
        label: op === "other" ? t("other") : op,
        stroke: OP_COLOURS[i],
        width: 1.5,
      })),
      { label: t("repair traffic"), stroke: "#999", dash: [4, 4] },
    ],
    () => [
      ...CHART_OPS.map((op) => history_.map((p) => rate(p, p.byOpcode[op] ?? 0))),
      history_.map((p) => rate(p, p.control)),
    ],
  );
  make_(
    "chart-members",
    [
      { label: t("Members"), stroke: "#1d2430", width: 2 },
      { label: t("joins/s"), stroke: "#2f7d32", scale: "r" },
      { label: t("leaves/s"), stroke: "#b8860b", scale: "r" },
    ],
    () => [
      history_.map((p) => p.members),
      history_.map((p) => rate(p, p.joins)),
      history_.map((p) => rate(p, p.leaves)),
    ],
    [{ scale: "r", side: 1, size: 50, grid: { show: false }, values: compactTicks }],
  );
  make_(
    "chart-repairs",
    [
      { label: t("repairs/s"), stroke: "#1f5fa8", width: 1.5 },
      { label: t("malformed/s"), stroke: "#c62828", width: 1.5 },
    ],
    () => [history_.map((p) => rate(p, p.repaired)), history_.map((p) => rate(p, p.invalid))],
  );
}

function redrawCharts(): void {
  for (const c of charts) c.plot.setData(c.data() as uPlotType.AlignedData);
}

window.addEventListener("resize", () => {
  for (const c of charts) c.plot.setSize({ width: Math.max(280, c.el.clientWidth), height: 180 });
});

// ---- timeline ----

function timelineText(e: TimelineEntry): string {
  switch (e.kind) {
    case "join":
      return t("+ {{id}} joined", { id: e.id });
    case "leave":
      return t("- {{id}} left ({{reason}})", { id: e.id, reason: reasonText(e.reason) });
    case "kill":
      return t("KILL {{id}} sent by {{by}}", { id: e.id, by: e.by ?? "?" });
    case "turn":
      return t("{{id}} turned Frankenstein", { id: e.id });
    default:
      return t("Another peer ({{address}}) sends with our id {{id}}", { address: e.by ?? "?", id: e.id });
  }
}

function addTimeline(entries: TimelineEntry[]): void {
  const list = $("timeline");
  const fresh = entries.filter((e) => e.n > timelineLast);
  if (fresh.length === 0) return;
  timelineLast = fresh[fresh.length - 1]?.n ?? timelineLast;
  const frag = document.createDocumentFragment();
  // Newest first.
  for (const e of fresh.slice(-TIMELINE_MAX).reverse()) {
    const li = make("li", undefined, e.kind);
    li.append(make("time", clock(e.at)), document.createTextNode(timelineText(e)));
    frag.append(li);
  }
  list.prepend(frag);
  while (list.childElementCount > TIMELINE_MAX) list.lastElementChild?.remove();
}

// ---- uploads ----

function uploadLabel(u: UploadSummary): string {
  const who = u.botId ?? u.from;
  return t("{{who}}: {{file}} — {{status}} ({{bytes}} bytes)", {
    who,
    file: u.file ?? "?",
    status: u.code === undefined ? t("no status") : String(u.code),
    bytes: u.bytes,
  });
}

/** Uploads under way, replaced at every batch (the server sends at most 50). */
function showUploading(list: UploadingView[]): void {
  $("uploading").replaceChildren(
    ...list.map((u) =>
      make(
        "li",
        t("{{who}}: {{file}} — receiving, {{bytes}} bytes so far", {
          who: u.botId ?? u.from,
          file: u.file ?? "?",
          bytes: u.bytes,
        }),
      ),
    ),
  );
}

function addUploads(list: UploadSummary[]): void {
  const ol = $("uploads");
  for (const u of list) {
    if (uploadsSeen.has(u.n)) continue;
    uploadsSeen.add(u.n);
    uploadsDone++;
    const li = make("li");
    const b = make("button", uploadLabel(u), "linklike");
    b.type = "button";
    b.addEventListener("click", () => void viewUpload(u.n));
    li.append(make("time", clock(u.at)), b);
    ol.prepend(li);
  }
  while (ol.childElementCount > 100) ol.lastElementChild?.remove();
}

async function viewUpload(n: number): Promise<void> {
  const r = await api<UploadView & { error?: string }>(`/api/uploads/${n}`);
  const box = $("uploadview");
  box.hidden = false;
  if (r.status !== 200) {
    $("uploadtitle").textContent = r.body.error ?? String(r.status);
    $("uploadtext").textContent = "";
    return;
  }
  const u = r.body;
  $("uploadtitle").textContent = uploadLabel(u);
  const notes: string[] = [];
  if (u.cut) notes.push(t("(only the beginning is kept for this page)"));
  if (u.truncated) notes.push(t("(cut off: larger than the supervisor keeps)"));
  if (u.savedAs) notes.push(t("(saved as {{path}})", { path: u.savedAs }));
  $("uploadtext").textContent = [...u.lines, ...notes].join("\n");
}

// ---- roster ----

function rosterRow(r: RosterRow): HTMLTableRowElement {
  const tr = make("tr");
  tr.dataset.id = r.id;
  if (selected.has(r.id)) tr.className = "selected";
  const box = make("input");
  box.type = "checkbox";
  box.checked = selected.has(r.id);
  box.addEventListener("change", () => {
    if (box.checked) selected.add(r.id);
    else selected.delete(r.id);
    tr.className = box.checked ? "selected" : "";
    showSelection();
  });
  const first = make("td");
  first.append(box);
  const state = r.kind === "supervisor" ? "supervisor" : r.state;
  tr.append(
    first,
    make("td", r.id, "id"),
    make("td", stateText(r.state, r.kind), `state-${state}`),
    make("td", `${r.address}:${r.port}`),
    make("td", ago(r.silentMs)),
    make("td", duration(r.sinceMs)),
    make("td", num(r.messages)),
    make("td", r.kind === "supervisor" ? "-" : num(r.discoveries)),
    make("td", r.ours ? t("ours") : t("original")),
  );
  return tr;
}

function showRoster(): void {
  const body = document.querySelector("#roster tbody");
  if (!body) return;
  const frag = document.createDocumentFragment();
  for (const r of rosterPage.rows) frag.append(rosterRow(r));
  body.replaceChildren(frag);
  const from = rosterPage.rows.length === 0 ? 0 : rosterPage.offset + 1;
  $("pageinfo").textContent = t("{{from}}–{{to}} of {{total}}", {
    from,
    to: rosterPage.offset + rosterPage.rows.length,
    total: rosterPage.total,
  });
  $("rostercount").textContent =
    rosterPage.total === rosterPage.all
      ? t("{{all}} members", { all: rosterPage.all })
      : t("{{total}} of {{all}} members match", { total: rosterPage.total, all: rosterPage.all });
  ($("prev") as HTMLButtonElement).disabled = rosterPage.offset === 0;
  ($("next") as HTMLButtonElement).disabled = rosterPage.offset + rosterPage.rows.length >= rosterPage.total;
  const pageBox = $("selectpage") as HTMLInputElement;
  pageBox.checked = rosterPage.rows.length > 0 && rosterPage.rows.every((r) => selected.has(r.id));
  for (const th of document.querySelectorAll<HTMLElement>("th[data-sort]")) {
    if (th.dataset.sort === query.sort) th.setAttribute("aria-sort", query.desc ? "descending" : "ascending");
    else th.removeAttribute("aria-sort");
  }
  showSelection();
}

function showSelection(): void {
  const opt = document.querySelector<HTMLOptionElement>('#c-target option[value="selected"]');
  if (opt) opt.textContent = t("to the selected members ({{n}})", { n: selected.size });
}

async function fetchRoster(): Promise<void> {
  if (rosterFetching) return;
  rosterFetching = true;
  const version = rosterVersion;
  const started = performance.now();
  try {
    const r = await api<RosterPage>("/api/roster", { ...query, desc: query.desc ? 1 : 0, limit: PAGE_SIZE });
    if (r.status === 200) {
      rosterPage = r.body;
      const drawn = performance.now();
      showRoster();
      stats.lastRenderMs = performance.now() - drawn;
      rosterShownVersion = version;
      stats.rosterFetches++;
      stats.lastRosterMs = performance.now() - started;
      stats.rosterVersionShown = version;
    } else if (r.status === 401) askToken(t("The token was refused"));
  } finally {
    rosterFetching = false;
    rosterLastFetch = performance.now();
  }
}

/** Re-ask for the roster page when it changed, at most once per ROSTER_REFRESH_MS. */
function maybeRefreshRoster(): void {
  if (rosterVersion === rosterShownVersion || rosterTimer !== undefined) return;
  const wait = Math.max(0, rosterLastFetch + ROSTER_REFRESH_MS - performance.now());
  rosterTimer = window.setTimeout(() => {
    rosterTimer = undefined;
    void fetchRoster();
  }, wait);
}

function setupRosterControls(): void {
  let typing: number | undefined;
  const refilter = () => {
    query.offset = 0;
    void fetchRoster();
  };
  $("f-state").addEventListener("change", (e) => {
    query.state = (e.target as HTMLSelectElement).value;
    refilter();
  });
  $("f-program").addEventListener("change", (e) => {
    query.program = (e.target as HTMLSelectElement).value;
    refilter();
  });
  $("f-id").addEventListener("input", (e) => {
    query.id = (e.target as HTMLInputElement).value.trim();
    window.clearTimeout(typing);
    typing = window.setTimeout(refilter, 120);
  });
  for (const th of document.querySelectorAll<HTMLElement>("th[data-sort]")) {
    th.addEventListener("click", () => {
      const key = th.dataset.sort ?? "id";
      query.desc = query.sort === key ? !query.desc : false;
      query.sort = key;
      refilter();
    });
  }
  $("prev").addEventListener("click", () => {
    query.offset = Math.max(0, query.offset - PAGE_SIZE);
    void fetchRoster();
  });
  $("next").addEventListener("click", () => {
    query.offset += PAGE_SIZE;
    void fetchRoster();
  });
  $("selectpage").addEventListener("change", (e) => {
    const on = (e.target as HTMLInputElement).checked;
    for (const r of rosterPage.rows) {
      if (on) selected.add(r.id);
      else selected.delete(r.id);
    }
    showRoster();
  });
}

// ---- commands ----

function setupCommands(): void {
  const opcode = $("c-opcode") as HTMLSelectElement;
  const file = $("c-file") as HTMLInputElement;
  const target = $("c-target") as HTMLSelectElement;
  const result = $("c-result");
  const showFile = () => {
    file.hidden = opcode.value !== "UPLD";
  };
  opcode.addEventListener("change", showFile);
  showFile();
  $("c-send").addEventListener("click", async () => {
    const op = opcode.value;
    const dests = target.value === "*" ? ["*"] : [...selected];
    if (dests.length === 0) {
      result.textContent = t("Select members in the table first, or choose every bot (*)");
      return;
    }
    const body: Record<string, unknown> = { opcode: op, dests };
    if (op === "UPLD" && file.value.trim() !== "") body.file = file.value.trim();
    if (op === "KILL" && dests[0] === "*") {
      if (!window.confirm(t("KILL every bot on the group? Each one empties its results and leaves."))) {
        result.textContent = t("Not sent");
        return;
      }
      body.confirm = "KILL *";
    }
    result.textContent = t("Sending...");
    const res = await fetch("/api/command", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Token": token },
      body: JSON.stringify(body),
    });
    const r = (await res.json()) as { outcomes?: CommandOutcome[]; error?: string };
    if (!res.ok || !r.outcomes) {
      result.textContent = r.error ?? String(res.status);
      result.className = "error";
      if (res.status === 401) askToken(r.error ?? "");
      return;
    }
    const ok = r.outcomes.filter((o) => o.error === undefined).length;
    const failed = r.outcomes.filter((o) => o.error !== undefined);
    result.className = failed.length > 0 ? "error" : "";
    result.textContent =
      failed.length === 0
        ? t("{{opcode}} sent ({{n}} datagrams)", { opcode: op, n: ok })
        : t("{{opcode}}: {{n}} sent, {{failed}} refused: {{reason}}", {
            opcode: op,
            n: ok,
            failed: failed.length,
            reason: failed[0]?.error ?? "",
          });
  });
}

// ---- the stream ----

function applyHello(h: Hello): void {
  history_ = h.history.slice(-HISTORY_MAX);
  $("where").textContent = t("{{id}} on group {{group}} port {{port}}", {
    id: String(h.about.id ?? "?"),
    group: String(h.about.group ?? "?"),
    port: String(h.about.port ?? "?"),
  });
  $("timeline").replaceChildren();
  timelineLast = 0;
  addTimeline(h.timeline);
  $("uploads").replaceChildren();
  uploadsSeen.clear();
  uploadsDone = 0;
  addUploads(h.uploads);
  showUploading(h.uploading);
  showCounts(h.counts, h.uploadsInProgress, h.uploadsRefused, history_[history_.length - 1]);
  redrawCharts();
  rosterVersion = h.rosterVersion;
  void fetchRoster();
}

function applyBatch(b: Batch): void {
  stats.batches++;
  history_.push(b.point);
  if (history_.length > HISTORY_MAX) history_.splice(0, history_.length - HISTORY_MAX);
  addTimeline(b.timeline);
  addUploads(b.uploads);
  showUploading(b.uploading);
  showCounts(b.counts, b.uploadsInProgress, b.uploadsRefused, b.point);
  redrawCharts();
  rosterVersion = b.rosterVersion;
  maybeRefreshRoster();
}

function connect(): void {
  const conn = $("conn");
  const es = new EventSource(`/api/events?${new URLSearchParams({ token })}`);
  conn.dataset.state = "connecting";
  conn.textContent = t("connecting");
  es.addEventListener("open", () => {
    conn.dataset.state = "open";
    conn.textContent = t("live");
  });
  es.addEventListener("hello", (e) => applyHello(JSON.parse((e as MessageEvent<string>).data) as Hello));
  es.addEventListener("batch", (e) => applyBatch(JSON.parse((e as MessageEvent<string>).data) as Batch));
  es.addEventListener("error", () => {
    conn.dataset.state = "closed";
    conn.textContent = es.readyState === EventSource.CLOSED ? t("disconnected") : t("reconnecting");
  });
}

function askToken(message: string): void {
  $("tokenbox").hidden = false;
  $("app").hidden = true;
  $("tokenerror").textContent = message;
}

async function start(): Promise<void> {
  // First of all: the token out of the address bar (and the history).
  token = takeToken() ?? "";
  const params = new URLSearchParams(location.search);
  const asked = params.get("lang") ?? localStorage.getItem("mcb-lang");
  if (asked === "en" || asked === "fr") lang = asked;
  const res = await fetch(`/api/i18n?lang=${lang}`);
  const cat = (await res.json()) as { lang: string; strings: Record<string, string> };
  lang = cat.lang;
  strings = cat.strings;
  document.documentElement.lang = lang;
  translateShell();
  const langSel = $("lang") as HTMLSelectElement;
  langSel.value = lang;
  langSel.addEventListener("change", () => {
    localStorage.setItem("mcb-lang", langSel.value);
    const url = new URL(location.href);
    url.searchParams.set("lang", langSel.value);
    location.href = url.toString();
  });
  buildCards();
  setupRosterControls();
  setupCommands();
  $("tokenok").addEventListener("click", () => {
    const v = ($("tokeninput") as HTMLInputElement).value.trim();
    if (v === "") return;
    sessionStorage.setItem("mcb-token", v);
    location.reload();
  });
  $("uploadclose").addEventListener("click", () => {
    $("uploadview").hidden = true;
  });
  if (token === "") return askToken("");
  const probe = await api<RosterPage>("/api/roster", { limit: 1 });
  if (probe.status === 401) return askToken(t("The token was refused"));
  buildCharts();
  connect();
}

void start();
