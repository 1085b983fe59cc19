/**
 * The web page's shell: HTML with no data in it and no inline script or style, so a strict
 * Content-Security-Policy can forbid both. Every word on it is filled in by the page's script
 * from the translation catalogue (elements carry their English key in data-t); the shell itself
 * only carries the language and the script and style links.
 */
import { type Lang, N_ } from "../../shared/i18n.js";

/** Only our own script, style, and connections; no inline code, no frames, no plugins. */
export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Text for HTML (our own catalogue keys only: the page never receives network text as markup). */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** An element whose text the page's script translates from its data-t key. */
function el(tag: string, key: string, attrs = ""): string {
  return `<${tag}${attrs} data-t="${escapeHtml(key)}">${escapeHtml(key)}</${tag}>`;
}

export function pageHtml(lang: Lang): string {
  return `<!doctype html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>MCastBots</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/vendor/uPlot.min.css">
<link rel="stylesheet" href="/app.css">
<script src="/vendor/uPlot.iife.min.js" defer></script>
<script type="module" src="/app.js"></script>
</head>
<body>
<header>
  ${el("h1", N_("Supervisor"))}
  <span id="where"></span>
  <span id="conn" class="conn" data-state="connecting"></span>
  <label class="lang">${el("span", N_("Language"))}
    <select id="lang"><option value="en">English</option><option value="fr">Français</option></select>
  </label>
</header>
<section id="tokenbox" hidden>
  ${el("p", N_("This page needs the token printed on the supervisor's console (the URL it printed contains it)."))}
  <input id="tokeninput" autocomplete="off" spellcheck="false">${el("button", N_("Use this token"), ' id="tokenok"')}
  <p id="tokenerror" class="error"></p>
</section>
<main id="app">
  <section class="cards" id="cards"></section>
  <section class="charts">
    <div class="chart">${el("h2", N_("Messages per second by opcode"))}<div id="chart-ops"></div></div>
    <div class="chart">${el("h2", N_("Members, joins and leaves"))}<div id="chart-members"></div></div>
    <div class="chart">${el("h2", N_("Repairs and malformed datagrams per second"))}<div id="chart-repairs"></div></div>
  </section>
  <section class="roster">
    ${el("h2", N_("Members"))}
    <div class="filters">
      <label>${el("span", N_("State"))} <select id="f-state">
        ${el("option", N_("all"), ' value=""')}
        <option value="asimov">Asimov</option>
        <option value="frankenstein">Frankenstein</option>
        ${el("option", N_("unknown"), ' value="unknown"')}
        ${el("option", N_("supervisors"), ' value="supervisor"')}
      </select></label>
      <label>${el("span", N_("Id contains"))} <input id="f-id" autocomplete="off" spellcheck="false" size="10"></label>
      <label>${el("span", N_("Program"))} <select id="f-program">
        ${el("option", N_("all"), ' value=""')}
        ${el("option", N_("ours"), ' value="ours"')}
        ${el("option", N_("original"), ' value="original"')}
      </select></label>
      <span id="rostercount"></span>
    </div>
    <div class="commands">
      <select id="c-opcode"><option>PING</option><option>UPLD</option><option>KILL</option><option>RSET</option></select>
      <select id="c-target">
        ${el("option", N_("to the selected members"), ' value="selected"')}
        ${el("option", N_("to every bot (*)"), ' value="*"')}
      </select>
      <input id="c-file" autocomplete="off" spellcheck="false" size="14">
      ${el("button", N_("Send"), ' id="c-send"')}
      <span id="c-result" role="status"></span>
    </div>
    <table id="roster">
      <thead><tr>
        <th><input type="checkbox" id="selectpage"></th>
        ${el("th", N_("ID"), ' data-sort="id"')}
        ${el("th", N_("STATE"), ' data-sort="state"')}
        ${el("th", N_("ADDRESS"), ' data-sort="address"')}
        ${el("th", N_("HEARD"), ' data-sort="lastHeard"')}
        ${el("th", N_("MEMBER FOR"), ' data-sort="firstHeard"')}
        ${el("th", N_("MESSAGES"), ' data-sort="messages"')}
        ${el("th", N_("NEWS"), ' data-sort="discoveries"')}
        ${el("th", N_("PROGRAM"), ' data-sort="ours"')}
      </tr></thead>
      <tbody></tbody>
    </table>
    <div class="pager">
      <button id="prev">‹</button><span id="pageinfo"></span><button id="next">›</button>
    </div>
  </section>
  <section class="side">
    <div class="timeline">${el("h2", N_("Timeline"))}<ol id="timeline"></ol></div>
    <div class="uploads">${el("h2", N_("Uploads"))}<p id="uploadstate"></p><ul id="uploading"></ul><ol id="uploads"></ol>
      <div id="uploadview" hidden><h3 id="uploadtitle"></h3>${el("button", N_("Close"), ' id="uploadclose"')}<pre id="uploadtext"></pre></div>
    </div>
  </section>
</main>
</body>
</html>
`;
}

export const PAGE_CSS = `
:root { --fg:#1d2430; --muted:#5d6778; --line:#d9dee7; --bg:#f6f7f9; --card:#fff;
  --asimov:#2f7d32; --frank:#c62828; --unknown:#6d6d6d; --sup:#1f5fa8; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin:0; font: 14px/1.4 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
header { display:flex; gap:1em; align-items:center; padding:.5em 1em; background:#1d2430; color:#fff; }
header h1 { font-size:1.2em; margin:0; }
header .lang { margin-left:auto; }
.conn::before { content:"●"; margin-right:.3em; }
.conn[data-state=open]::before { color:#7bd88f; }
.conn[data-state=connecting]::before, .conn[data-state=closed]::before { color:#f0a040; }
main { display:grid; grid-template-columns: minmax(0,3fr) minmax(280px,1fr); gap:1em; padding:1em; }
.cards { grid-column:1 / -1; display:flex; gap:.6em; flex-wrap:wrap; }
.card { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.4em .8em; min-width:7.5em; }
.card .v { font-size:1.5em; font-weight:600; }
.card .k { color:var(--muted); font-size:.85em; }
.card.asimov .v { color:var(--asimov); } .card.frankenstein .v { color:var(--frank); }
.charts { grid-column:1 / -1; display:grid; grid-template-columns:repeat(3, minmax(0,1fr)); gap:1em; }
.chart, .roster, .timeline, .uploads { background:var(--card); border:1px solid var(--line); border-radius:6px; padding:.5em .8em; }
h2 { font-size:1em; margin:.2em 0 .5em; }
.filters, .commands { display:flex; gap:.8em; flex-wrap:wrap; align-items:center; margin-bottom:.5em; }
table { border-collapse:collapse; width:100%; font-variant-numeric: tabular-nums; }
th, td { text-align:left; padding:.15em .5em; border-bottom:1px solid var(--line); white-space:nowrap; }
th[data-sort] { cursor:pointer; user-select:none; }
th[aria-sort=ascending]::after { content:" ▲"; } th[aria-sort=descending]::after { content:" ▼"; }
td.id { font-family: ui-monospace, monospace; }
td.state-asimov { color:var(--asimov); } td.state-frankenstein { color:var(--frank); font-weight:600; }
td.state-unknown { color:var(--unknown); } td.state-supervisor { color:var(--sup); }
tr.selected { background:#eaf2ff; }
.pager { display:flex; gap:.8em; align-items:center; margin-top:.5em; }
.side { display:flex; flex-direction:column; gap:1em; min-width:0; }
ol#timeline, ol#uploads { list-style:none; margin:0; padding:0; max-height:22em; overflow:auto; font-size:.92em; }
ol#timeline li, ol#uploads li { padding:.1em 0; border-bottom:1px solid var(--line); overflow-wrap:anywhere; }
li.join { color:var(--asimov); } li.leave { color:#8a5a00; } li.kill, li.turn, li.collision { color:var(--frank); }
time { color:var(--muted); margin-right:.4em; font-variant-numeric: tabular-nums; }
pre#uploadtext { max-height:20em; overflow:auto; background:#f0f2f5; padding:.5em; white-space:pre-wrap; overflow-wrap:anywhere; }
.error { color:var(--frank); }
button.linklike { background:none; border:none; padding:0; color:#1f5fa8; cursor:pointer; text-align:left; font:inherit; }
button.linklike:hover { text-decoration:underline; }
#tokenbox { margin:1em; padding:1em; background:#fff3e0; border:1px solid #f0a040; }
#tokenbox input { width:24em; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } .charts { grid-template-columns:1fr; } }
`;
