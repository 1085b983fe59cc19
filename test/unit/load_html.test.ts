/**
 * The load report's HTML file: self-contained (nothing fetched), its scripts and style allowed by
 * their hashes and nothing else, the text report escaped, the data block unable to end itself,
 * and the charts' series taken from the result's time series.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { htmlTargetProblem, inlineJson, loadReportHtml, reportData, writeNewFile } from "../../tools/load_html.js";
import type { LoadInterval, LoadResult } from "../../tools/load_stats.js";
import { REPO, tempDir } from "../helpers/net.js";

const point = (t: number, over: Partial<LoadInterval> = {}): LoadInterval => ({
  t,
  botsHeard: 10,
  beatsReceived: 10,
  beatsExpected: 10,
  messages: 12,
  messagesPerSecond: 12,
  gaps: 0,
  nacks: 0,
  repairs: 0,
  rssBytes: 50 * 1024 * 1024,
  cpuPercent: 3,
  ...over,
});

function result(series: LoadInterval[]): LoadResult {
  return {
    kind: "ours",
    bots: 10,
    botsStarted: 10,
    processes: 10,
    perProcess: 1,
    seconds: 3,
    heartbeat: 1,
    joinSeconds: 1,
    botsHeard: 10,
    renamedBots: 0,
    botsHeardAtStart: 10,
    heartbeatsExpected: 30,
    heartbeatsReceived: 30,
    worstBotRatio: 1,
    sequenceGaps: 0,
    sequenceSpan: 30,
    messages: 36,
    messagesPerSecond: 12,
    byOpcode: { BEAT: 30 },
    malformed: 0,
    peakRssBytes: 1,
    rssBytesPerBot: 1,
    cpuSeconds: 0.1,
    cpuSecondsBefore: 0.1,
    recorderCpuSeconds: 0.01,
    crashed: 0,
    endings: { lifespan: 0, killed: 0, signalled: 10, crashed: 0, forced: 0 } as LoadResult["endings"],
    intervalSeconds: 1,
    series,
  };
}

const built = existsSync(join(REPO, "dist", "supervisor", "web", "client", "report.js"));
const temp = tempDir("load-html-");
afterAll(() => temp.cleanup());

describe("load report as HTML", () => {
  it("charts every measure of the time series, leaving out a last sliver of an interval", () => {
    const d = reportData(result([point(1), point(2, { gaps: 4, repairs: 3 }), point(3), point(3.0002)]));
    expect(d.t).toEqual([1, 2, 3]);
    const titles = d.charts.map((c) => c.title);
    expect(titles).toHaveLength(5);
    const gaps = d.charts[4]?.series.map((s) => s.values);
    expect(gaps).toEqual([
      [0, 4, 0],
      [0, 0, 0],
      [0, 3, 0],
    ]);
    expect(d.charts[3]?.series[0]?.values).toEqual([50, 50, 50]);
  });

  it("keeps JSON from closing its script block", () => {
    expect(inlineJson({ a: "</script><!--" })).toBe('{"a":"\\u003c/script>\\u003c!--"}');
    expect(JSON.parse(inlineJson({ a: "</script>" }))).toEqual({ a: "</script>" });
  });

  it.skipIf(!built)("is one self-contained file whose inline scripts and style are allowed by hash only", () => {
    const html = loadReportHtml(result([point(1), point(2)]), {
      lang: "en",
      at: new Date(0),
      lines: ["Bots started: 10 of 10 <b>&amp;</b>"],
    });
    expect(html).not.toMatch(/\s(src|href)=/);
    const csp = (/http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? "").replace(/&#39;/g, "'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain("unsafe-inline");
    const scripts = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1] ?? "");
    expect(scripts).toHaveLength(2);
    for (const s of scripts) {
      expect(csp).toContain(`'sha256-${createHash("sha256").update(s).digest("base64")}'`);
    }
    const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? "";
    expect(csp).toContain(`'sha256-${createHash("sha256").update(style).digest("base64")}'`);
    expect(html).toContain("Bots started: 10 of 10 &#60;b&#62;&#38;amp;&#60;/b&#62;");
  });

  it("writes a new file only, and says why a target will not do before the run", () => {
    const file = join(temp.dir, "r.html");
    expect(htmlTargetProblem(file)).toBeUndefined();
    writeNewFile(file, "one");
    expect(htmlTargetProblem(file)).toMatch(/exists/);
    expect(() => writeNewFile(file, "two")).toThrow(/EEXIST/);
    expect(readFileSync(file, "utf8")).toBe("one");
    expect(htmlTargetProblem(join(temp.dir, "nope", "r.html"))).toMatch(/does not exist/);
    expect(htmlTargetProblem("")).toMatch(/file name/);
  });
});
