/**
 * The supervisor's web page in a real headless Chromium (playwright-core driving Debian's
 * chromium), against `node supervisor -web=0` and real `node dnabot` processes on a 127.0.0.1
 * group (free ports per test): bots joining and leaving, a KILL from the page, the token,
 * French, hostile upload text, a 10,000-member roster; and the load report's HTML file.
 * Skipped with a reason where chromium is missing.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { floodId, openFlood } from "../../tools/web_flood.js";
import { launchBrowser, NO_BROWSER } from "../helpers/browser.js";
import { freeTcpPort, freeUdpPort, REPO, tempDir } from "../helpers/net.js";
import { until } from "../helpers/until.js";

// Functions given to page.evaluate and waitForFunction run in the browser; this file compiles
// without the DOM library, so the little of it they use is declared here.
interface PageNode {
  textContent: string | null;
  getAttribute(name: string): string | null;
}
declare const document: {
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): { length: number };
};
declare const sessionStorage: { getItem(key: string): string | null };
declare const window: { mcbStats: { batches: number; lastRosterMs: number }; longTasks: number[] };

const ENV = { ...process.env, LANG: "C", LC_ALL: "", LC_MESSAGES: "", NO_COLOR: "1" };

interface Proc {
  proc: ChildProcess;
  exited: Promise<number | null>;
  out: () => string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function start(args: string[], opts: { cwd?: string; program?: string } = {}): Proc {
  const dir = opts.cwd ?? tempDir("web-proc-").dir;
  const proc = spawn(process.execPath, [join(REPO, opts.program ?? "supervisor"), ...args], {
    cwd: dir,
    env: ENV,
    // stdin stays open: a supervisor whose input ends would finish its script and leave.
    stdio: ["pipe", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout?.on("data", (c) => {
    out += c;
  });
  proc.stderr?.on("data", (c) => {
    out += c;
  });
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  cleanups.push(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill("SIGKILL");
      await exited;
    }
  });
  return { proc, exited, out: () => out };
}

async function supervisor(chanPort: number, filePort: number, ...more: string[]) {
  const sup = start([
    "-web=0",
    `-chanPort=${chanPort}`,
    `-filePort=${filePort}`,
    "-heartbeat=1",
    "-backoff=0.3",
    "-uploadDir=",
    ...more,
  ]);
  const url = await until("the web page's address", () => /Web page: (http:\/\/\S+)/.exec(sup.out())?.[1]);
  return { ...sup, url };
}

function bot(chanPort: number, filePort: number): Proc {
  return start(
    [`-chanPort=${chanPort}`, `-filePort=${filePort}`, "-heartbeat=1", "-backoff=0.3", "-lifespan=90", "-discovery=0"],
    { program: "dnabot" },
  );
}

/** The ids of the bots the supervisor has printed as joined. */
function joinedIds(out: string): string[] {
  return [...out.matchAll(/^\+ (\S+) joined$/gm)].map((m) => m[1] as string);
}

async function rowIds(page: Page): Promise<string[]> {
  return page.$$eval("#roster tbody tr", (rows) => rows.map((r) => r.getAttribute("data-id") ?? ""));
}

async function timeline(page: Page): Promise<string[]> {
  return page.$$eval("#timeline li", (lis) => lis.map((li) => li.textContent ?? ""));
}

describe("node supervisor -web, without a browser", { timeout: 60_000 }, () => {
  it("a bad -web value is one clear line and exit 2; a taken port falls back to a free one, said on screen", async () => {
    const bad = start(["-web=http"]);
    expect(await bad.exited).toBe(2);
    expect(bad.out().trim().split("\n")).toEqual([
      'supervisor: bad configuration web="http": a port from 0 to 65535, or nothing for 8422',
    ]);
    const chanPort = await freeUdpPort();
    const first = await supervisor(chanPort, await freeTcpPort());
    const taken = new URL(first.url).port;
    const second = start([`-web=${taken}`, `-chanPort=${chanPort}`, `-filePort=${await freeTcpPort()}`, "-uploadDir="]);
    const line = await until(
      "the fallback warning",
      () => /Web port (\d+) is taken: the page is on port (\d+)/.exec(second.out()) ?? undefined,
    );
    expect(line[1]).toBe(taken);
    expect(line[2]).not.toBe(taken);
    expect(second.out()).toMatch(new RegExp(`Web page: http://127\\.0\\.0\\.1:${line[2]}/\\?token=`));
  });
});

describe.skipIf(NO_BROWSER !== undefined)(
  `web page in Chromium${NO_BROWSER ? ` (skipped: ${NO_BROWSER})` : ""}`,
  { timeout: 120_000 },
  () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchBrowser();
    });
    afterAll(async () => {
      await browser?.close();
    });

    /** Open a page; at the end of the test it must have logged no error (but refusals asked for). */
    async function open(url: string, refusalsExpected = false): Promise<Page> {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (m) => {
        if (m.type() !== "error") return;
        if (refusalsExpected && /status of 401/.test(m.text())) return;
        problems.push(m.text());
      });
      cleanups.push(async () => {
        await page.close();
        // No script errors, no refused resources, no CSP violations on any page a test opened.
        expect(problems).toEqual([]);
      });
      await page.goto(url);
      return page;
    }

    it("shows bots joining and leaving a live group, and a KILL from the page ends the bot", async () => {
      const chanPort = await freeUdpPort();
      const filePort = await freeTcpPort();
      const sup = await supervisor(chanPort, filePort);
      const page = await open(sup.url);
      // The token leaves the address bar at once.
      await page.waitForURL((u) => !u.search.includes("token"));
      const bots = [bot(chanPort, filePort), bot(chanPort, filePort)];
      const ids = await until("both bots joined", () => {
        const j = joinedIds(sup.out());
        return j.length >= 2 ? j : undefined;
      });
      await page.waitForFunction(
        (want) => want.every((id) => document.querySelector(`#roster tbody tr[data-id="${id}"]`)),
        ids,
        { timeout: 20_000 },
      );
      await page.waitForFunction(
        (want) => want.every((id) => document.querySelector("#timeline")?.textContent?.includes(`+ ${id} joined`)),
        ids,
      );
      expect(await page.textContent('#cards [data-card="bots"] .v')).toBe("2");

      // One bot stops: it leaves with its reason, and its row goes.
      const stoppedId = ids[1] as string;
      const stopped = bots.find((b) => b.out().includes(stoppedId)) ?? bots[1];
      stopped?.proc.kill("SIGTERM");
      await page.waitForFunction(
        (id) => document.querySelector("#timeline")?.textContent?.includes(`- ${id} left (stopped by a signal)`),
        stoppedId,
        { timeout: 20_000 },
      );
      await page.waitForFunction((id) => !document.querySelector(`#roster tbody tr[data-id="${id}"]`), stoppedId);

      // KILL * asks first; dismissed, nothing is sent.
      const killedId = ids[0] as string;
      const victim = bots.find((b) => b !== stopped) as Proc;
      await page.selectOption("#c-opcode", "KILL");
      await page.selectOption("#c-target", "*");
      page.once("dialog", (d) => void d.dismiss());
      await page.click("#c-send");
      await page.waitForFunction(() => document.querySelector("#c-result")?.textContent === "Not sent");
      expect(sup.out()).not.toMatch(/ KILL \*/);
      expect(victim.proc.exitCode).toBeNull();

      // KILL to the selected bot: it empties its results and exits 255.
      await page.check(`#roster tbody tr[data-id="${killedId}"] input[type=checkbox]`);
      await page.selectOption("#c-target", "selected");
      await page.click("#c-send");
      await page.waitForFunction(() => document.querySelector("#c-result")?.textContent?.startsWith("KILL sent"));
      expect(await victim.exited).toBe(255);
      await page.waitForFunction(
        (id) => document.querySelector("#timeline")?.textContent?.includes(`- ${id} left (killed)`),
        killedId,
      );
      const lines = await timeline(page);
      expect(lines.some((l) => l.includes(`KILL ${killedId} sent by HUMAN-`))).toBe(true);
    });

    it("refuses the page and its commands without the token", async () => {
      const chanPort = await freeUdpPort();
      const filePort = await freeTcpPort();
      const sup = await supervisor(chanPort, filePort);
      const b = bot(chanPort, filePort);
      const [id] = await until("the bot joined", () => {
        const j = joinedIds(sup.out());
        return j.length >= 1 ? j : undefined;
      });
      const bare = sup.url.replace(/\?token=.*$/, "");
      const page = await open(bare, true);
      await page.waitForSelector("#tokenbox", { state: "visible" });
      expect(await page.isHidden("#app")).toBe(true);
      const statuses = await page.evaluate(async (dest) => {
        const post = (headers: Record<string, string>) =>
          fetch("/api/command", {
            method: "POST",
            headers: { "Content-Type": "application/json", ...headers },
            body: JSON.stringify({ opcode: "KILL", dests: [dest] }),
          }).then((r) => r.status);
        return [
          await post({}),
          await post({ "X-Token": "guessed" }),
          await fetch("/api/roster").then((r) => r.status),
          await fetch("/api/events").then((r) => r.status),
        ];
      }, id as string);
      expect(statuses).toEqual([401, 401, 401, 401]);
      // A wrong token in the address: the page says it was refused.
      const wrong = await open(`${bare}?token=not-the-token`, true);
      await wrong.waitForFunction(() => document.querySelector("#tokenerror")?.textContent === "The token was refused");
      await new Promise((r) => setTimeout(r, 1000));
      expect(sup.out()).not.toMatch(/ KILL /);
      expect(b.proc.exitCode).toBeNull();
    });

    it("speaks French, and shows hostile upload text as text", async () => {
      const chanPort = await freeUdpPort();
      const filePort = await freeTcpPort();
      const sup = await supervisor(chanPort, filePort);
      const page = await open(`${sup.url}&lang=fr`);
      await page.waitForFunction(() => document.querySelector(".roster h2")?.textContent === "Membres");
      expect(await page.getAttribute("html", "lang")).toBe("fr");
      expect(await page.textContent('#cards [data-card="members"] .k')).toBe("Membres");
      expect(await page.textContent("#c-send")).toBe("Envoyer");
      expect(await page.title()).toBe("Superviseur MCastBots");
      bot(chanPort, filePort);
      const [id] = await until("the bot joined", () => {
        const j = joinedIds(sup.out());
        return j.length >= 1 ? j : undefined;
      });
      await page.waitForFunction(
        (want) => document.querySelector("#timeline")?.textContent?.includes(`+ ${want} est arrivé`),
        id as string,
        { timeout: 20_000 },
      );

      // UPLD from the page (as its script sends it), then an upload full of markup and terminal
      // escapes straight to the upload port, as a hostile bot would answer.
      const sent = await page.evaluate(async () => {
        const r = await fetch("/api/command", {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-Token": sessionStorage.getItem("mcb-token") ?? "" },
          body: JSON.stringify({ opcode: "UPLD", dests: ["DEADBEEF"], file: "evil.txt" }),
        });
        return r.json();
      });
      expect(sent).toEqual({ outcomes: [{ dest: "DEADBEEF", seq: expect.any(Number) }] });
      await until("the UPLD on the console", () => / UPLD DEADBEEF evil\.txt/.test(sup.out()));
      const evil = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script>';
      // The upload is listed as under way while it comes, then among those received.
      const s = connect(filePort, "127.0.0.1");
      const closed = new Promise<void>((resolve, reject) => {
        s.on("close", () => resolve());
        s.on("error", reject);
      });
      s.write(`200 DEADBEEF:evil.txt\n${evil}\n`);
      await page.waitForFunction(
        () => (document.querySelector("#uploading")?.textContent ?? "").includes("DEADBEEF : evil.txt — en cours"),
        null,
        { timeout: 20_000 },
      );
      s.end("\x1b[2Jred\n");
      await closed;
      await page.waitForSelector("#uploads li button", { timeout: 20_000 });
      await page.click("#uploads li button");
      await page.waitForFunction(() => (document.querySelector("#uploadtext")?.textContent ?? "").includes("<img"));
      const shown = await page.textContent("#uploadtext");
      expect(shown).toContain(evil);
      expect(shown).toContain("\\x1b[2Jred");
      expect(await page.$$eval("img, #uploadview script", (els) => els.length)).toBe(0);
      expect(await page.title()).toBe("Superviseur MCastBots");
    });

    it("renders and filters a 10,000-member roster without stalling", async () => {
      const chanPort = await freeUdpPort();
      const filePort = await freeTcpPort();
      // A long heartbeat: the invented members beat once and must not age out during the test.
      const sup = await supervisor(chanPort, filePort, "-heartbeat=60", "-quiet");
      const page = await open(sup.url);
      await page.waitForSelector("#conn[data-state=open]");
      await page.evaluate(`
        window.longTasks = [];
        new PerformanceObserver((l) => {
          for (const e of l.getEntries()) window.longTasks.push(e.duration);
        }).observe({ entryTypes: ["longtask"] });
      `);
      const flood = await openFlood(chanPort);
      cleanups.push(() => flood.close());
      const N = 10_000;
      const t0 = Date.now();
      // Loopback may drop a datagram when the supervisor is busy: another round fills the gaps.
      for (let round = 0; round < 10; round++) {
        await flood.round(N);
        const ok = await page
          .waitForFunction(() => document.querySelector("#rostercount")?.textContent === "10,000 members", null, {
            timeout: 3000,
          })
          .then(() => true)
          .catch(() => false);
        if (ok) break;
      }
      expect(await page.textContent("#rostercount")).toBe("10,000 members");
      const shownAfter = Date.now() - t0;
      await page.waitForFunction(
        () => document.querySelector('#cards [data-card="members"] .v')?.textContent === "10,000",
      );
      expect((await rowIds(page)).length).toBe(100);

      // Filter by id: every row shown matches, and the count is the number of matching ids.
      const needle = "AB";
      const matching = Array.from({ length: N }, (_, i) => floodId(i)).filter((id) => id.includes(needle)).length;
      const f0 = Date.now();
      await page.fill("#f-id", needle.toLowerCase());
      await page.waitForFunction(
        (n) =>
          document.querySelector("#rostercount")?.textContent === `${n.toLocaleString("en")} of 10,000 members match`,
        matching,
      );
      const filtered = Date.now() - f0;
      const ids = await rowIds(page);
      expect(ids.length).toBe(Math.min(100, matching));
      expect(ids.every((id) => id.includes(needle))).toBe(true);

      // Sort by id, descending, and by state: the first rows follow.
      await page.click('th[data-sort="id"]');
      await page.waitForFunction(
        () => document.querySelector('th[data-sort="id"]')?.getAttribute("aria-sort") === "descending",
      );
      const desc = await rowIds(page);
      expect(desc).toEqual([...desc].sort().reverse());
      await page.fill("#f-id", "");
      await page.selectOption("#f-state", "frankenstein");
      // Members i with i % 7 === 3 are Frankenstein, except every fifth (the original's, no state).
      const frankensteins = Array.from({ length: N }, (_, i) => i).filter((i) => i % 7 === 3 && i % 5 !== 4).length;
      await page.waitForFunction(
        (n) =>
          document.querySelector("#rostercount")?.textContent === `${n.toLocaleString("en")} of 10,000 members match`,
        frankensteins,
      );
      const states = await page.$$eval("#roster tbody td:nth-child(3)", (tds) => tds.map((td) => td.textContent));
      expect(new Set(states)).toEqual(new Set(["Frankenstein"]));

      // The page kept taking live batches all along.
      const stats = await page.evaluate(() => window.mcbStats);
      expect(stats.batches).toBeGreaterThan(0);
      const longTasks = await page.evaluate(() => window.longTasks);
      // Figures for the reader of the log (the README's come from npm run bench:web).
      console.log(
        `10,000 members: shown ${shownAfter} ms after the first BEAT; id filter ${filtered} ms; ` +
          `last roster request ${stats.lastRosterMs.toFixed(0)} ms; long tasks ${longTasks.length} (longest ${Math.max(0, ...longTasks).toFixed(0)} ms)`,
      );
    });

    it("opens the load report's HTML file without a network, every chart drawn", async () => {
      const tmp = tempDir("web-load-");
      cleanups.push(() => tmp.cleanup());
      const file = join(tmp.dir, "report.html");
      const run = start(["3", "3", "-perProcess=1", "-heartbeat=1", "-backoff=1", `-html=${file}`], {
        cwd: REPO,
        program: join("tools", "bin", "load.js"),
      });
      expect(await run.exited).toBe(0);
      expect(existsSync(file)).toBe(true);
      const context = await browser.newContext({ offline: true });
      cleanups.push(() => context.close());
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("request", (r) => {
        if (!r.url().startsWith("file:")) problems.push(`fetched ${r.url()}`);
      });
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => document.querySelectorAll("#charts figure canvas").length === 5);
      expect(await page.$$eval("figcaption", (f) => f.map((x) => x.textContent))).toContain("Bots heard");
      expect(await page.textContent("pre")).toContain("Heartbeats (BEAT/NEWS):");
      expect(problems).toEqual([]);
    });
  },
);
