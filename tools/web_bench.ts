/**
 * The web page with 10,000 members, measured: `npm run bench:web [-shot=FILE] [-members=N]`.
 * Starts `node supervisor -web=0` on a free port of the loopback group, gives it N invented
 * members (tools/web_flood.ts), and reports
 *  - the server: one roster page (filter, sort over every member, 100 rows, JSON) over HTTP;
 *  - the browser (Debian's chromium through playwright-core): the first table, an id filter typed
 *    until the table shows it, the time to draw the 100 rows, long tasks on the page's thread;
 *  - live updates while the members beat at 1,000 messages per second: browser updates per second.
 * -shot=FILE saves a screenshot of the page (PNG) during the live part. Figures are medians of
 * repeated runs; they depend on the machine (the README says which).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatBody, formatLine } from "../shared/codec.js";
import { initI18n, resolveLang, t } from "../shared/i18n.js";
import { BEAT, EXIT, HUMAN, KILL, TAG, WILDCARD } from "../shared/protocol.js";
import { freeTcpPort, freeUdpPort } from "./ports.js";
import { floodId, openFlood } from "./web_flood.js";

// Functions given to the page run in the browser; this file compiles without the DOM library.
declare const document: { querySelector(selector: string): { textContent: string | null } | null };
declare const window: { mcbStats: { batches: number; lastRenderMs: number }; longTasks: number[] };

const REPO = join(fileURLToPath(import.meta.url), "..", "..", "..");
const CHROMIUM = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"].find(
  (p): p is string => p !== undefined && existsSync(p),
);

function option(name: string): string | undefined {
  const m = process.argv
    .slice(2)
    .map((a) => new RegExp(`^--?${name}=(.*)$`).exec(a))
    .find((x) => x);
  return m?.[1];
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<number> {
  initI18n(resolveLang(option("lang"), process.env));
  if (!CHROMIUM) {
    process.stderr.write(`${t("bench:web: no chromium (apt-get install chromium, or set CHROMIUM_PATH)")}\n`);
    return 1;
  }
  const members = Number(option("members") ?? 10_000);
  const shot = option("shot");
  const chanPort = await freeUdpPort();
  const filePort = await freeTcpPort();
  const dir = mkdtempSync(join(tmpdir(), "mcastbots-webbench-"));
  let sup: ChildProcess | undefined;
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
  const flood = await openFlood(chanPort);
  try {
    sup = spawn(
      process.execPath,
      [join(REPO, "supervisor"), "-web=0", `-chanPort=${chanPort}`, `-filePort=${filePort}`, "-heartbeat=30", "-quiet"],
      { cwd: dir, env: { ...process.env, LANG: "C", LC_ALL: "" }, stdio: ["pipe", "pipe", "inherit"] },
    );
    let out = "";
    sup.stdout?.on("data", (c) => {
      out += c;
    });
    let url: string | undefined;
    for (let i = 0; i < 200 && !url; i++) {
      url = /Web page: (http:\/\/\S+)/.exec(out)?.[1];
      await sleep(50);
    }
    if (!url) throw new Error(t("the supervisor printed no web address"));
    const u = new URL(url);
    const token = u.searchParams.get("token") ?? "";
    const roster = async (q: string) => {
      const t0 = performance.now();
      const r = await fetch(`${u.origin}/api/roster?token=${token}&${q}`);
      const body = (await r.json()) as { all: number; total: number };
      return { ms: performance.now() - t0, ...body };
    };

    const page = await browser.newPage({ viewport: { width: 1400, height: 1050 } });
    await page.goto(url);
    await page.waitForSelector("#conn[data-state=open]");
    await page.evaluate(`
      window.longTasks = [];
      new PerformanceObserver((l) => { for (const e of l.getEntries()) window.longTasks.push(e.duration); })
        .observe({ entryTypes: ["longtask"] });
    `);
    const want = `${members.toLocaleString("en")} members`;
    for (let round = 0; round < 20 && (await roster("limit=1")).all < members; round++) await flood.round(members);
    const tShown0 = performance.now();
    await page.waitForFunction((w) => document.querySelector("#rostercount")?.textContent === w, want, {
      timeout: 30_000,
    });
    const firstTable = performance.now() - tShown0;

    // The server: one page of the roster, 20 times per query.
    const queries = {
      id: "limit=100",
      filter: "id=ab&limit=100",
      state: "state=frankenstein&sort=lastHeard&desc=1&limit=100",
    };
    const server: Record<string, number> = {};
    for (const [name, q] of Object.entries(queries)) {
      const times: number[] = [];
      for (let i = 0; i < 20; i++) times.push((await roster(q)).ms);
      server[name] = median(times);
    }

    // The browser: type a filter, wait for the table to show it.
    const filterTimes: number[] = [];
    const renderTimes: number[] = [];
    for (const needle of ["ab", "c", "7f", "", "e1", ""]) {
      const matching = Array.from({ length: members }, (_, i) => floodId(i)).filter((id) =>
        id.includes(needle.toUpperCase()),
      ).length;
      const text =
        needle === "" ? want : `${matching.toLocaleString("en")} of ${members.toLocaleString("en")} members match`;
      const t0 = performance.now();
      await page.fill("#f-id", needle);
      await page.waitForFunction((w) => document.querySelector("#rostercount")?.textContent === w, text);
      filterTimes.push(performance.now() - t0);
      renderTimes.push(await page.evaluate(() => window.mcbStats.lastRenderMs));
    }

    // Live: every member beats once in 10 s (1,000 messages/s); a few leave, one is killed, some turn.
    const longBefore = await page.evaluate(() => window.longTasks);
    await page.evaluate(() => {
      window.longTasks = [];
    });
    const batches0 = await page.evaluate(() => window.mcbStats.batches);
    const t0 = performance.now();
    const live = flood.steady(members, 10);
    await sleep(3000);
    const next = flood.seq + 1;
    for (let i = 0; i < 6; i++) {
      const reason = ["killed", "lifespan", "signal"][i % 3] as string;
      flood.say(
        formatLine(
          floodId(i),
          next,
          formatBody(EXIT, WILDCARD, ["Bye", `${TAG.state}=asimov`, `${TAG.reason}=${reason}`]),
        ),
      );
    }
    flood.say(formatLine(HUMAN, 1, formatBody(KILL, floodId(7), [])));
    for (let i = 11; i < 40; i += 7) {
      flood.say(formatLine(floodId(i), next, formatBody(BEAT, WILDCARD, ["Grr", `${TAG.state}=frankenstein`])));
    }
    await sleep(4000);
    const longLive = await page.evaluate(() => window.longTasks);
    if (shot) await page.screenshot({ path: shot });
    await live;
    const liveSeconds = (performance.now() - t0) / 1000;
    const batches = (await page.evaluate(() => window.mcbStats.batches)) - batches0;
    const f = (ms: number) => t("{{ms}} ms", { ms: ms.toFixed(0) });
    const longest = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : 0);
    const lines = [
      t("Web page with {{n}} members", { n: members }),
      t(
        "server, one roster page over HTTP (median of 20): by id {{a}}; id contains AB {{b}}; Frankenstein by last heard {{c}}",
        {
          a: f(server.id ?? 0),
          b: f(server.filter ?? 0),
          c: f(server.state ?? 0),
        },
      ),
      t(
        "browser, every member counted after the server had them all: {{ms}} (the table refreshes at most once a second)",
        {
          ms: f(firstTable),
        },
      ),
      t("browser, id filter typed until the table shows it (median of 6): {{ms}} (at most {{max}})", {
        ms: f(median(filterTimes)),
        max: f(Math.max(...filterTimes)),
      }),
      t("browser, drawing the 100 rows (median): {{ms}} ms", { ms: median(renderTimes).toFixed(1) }),
      t("browser, live: {{n}} messages in {{s}} s gave {{updates}} page updates ({{rate}}/s)", {
        n: members,
        s: liveSeconds.toFixed(1),
        updates: batches,
        rate: (batches / liveSeconds).toFixed(1),
      }),
      t(
        "browser, long tasks (over 50 ms) while filling and filtering: {{n}}, longest {{ms}}; while live: {{m}}, longest {{ms2}}",
        {
          n: longBefore.length,
          ms: f(longest(longBefore)),
          m: longLive.length,
          ms2: f(longest(longLive)),
        },
      ),
    ];
    if (shot) lines.push(t("screenshot: {{file}}", { file: shot }));
    process.stdout.write(`${lines.join("\n")}\n`);
    return 0;
  } finally {
    await flood.close();
    await browser.close();
    sup?.kill("SIGTERM");
    await sleep(500);
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
