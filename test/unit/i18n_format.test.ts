import { afterEach, describe, expect, it } from "vitest";
import { formatBytes, formatFixed, formatNumber, formatSeconds, initI18n, t } from "../../shared/i18n.js";
import { colourFor, createLogger } from "../../shared/log.js";
import { sink } from "../helpers/sink.js";

afterEach(() => initI18n("en"));

describe("plurals with i18next's forms", () => {
  it("choose one or other in English, one, many or other in French", () => {
    const key = "{{count}} lines were dropped while paused";
    expect(t(key, { count: 1 })).toBe("1 line was dropped while paused");
    expect(t(key, { count: 3 })).toBe("3 lines were dropped while paused");
    initI18n("fr");
    expect(t(key, { count: 1 })).toBe("1 ligne a été abandonnée pendant la pause");
    expect(t(key, { count: 3 })).toBe("3 lignes ont été abandonnées pendant la pause");
    expect(t(key, { count: 1_000_000 })).toBe("1000000 lignes ont été abandonnées pendant la pause");
  });
});

describe("numbers and units for the language", () => {
  it("English: 1,234.5; French: 1 234,5 (Intl)", () => {
    expect(formatNumber(1234.5)).toBe("1,234.5");
    expect(formatSeconds(1.5)).toBe("1.5\u00a0s");
    expect(formatBytes(1048576)).toBe("1,048,576 bytes");
    expect(t("{{n, number}} x", { n: 12345.6 })).toBe("12,345.6 x");
    initI18n("fr");
    expect(formatNumber(1234.5)).toBe("1\u202f234,5");
    expect(formatSeconds(1.5)).toBe("1,5\u00a0s");
    expect(formatBytes(1048576)).toBe("1\u202f048\u202f576\u00a0octets");
    expect(t("{{n, number}} x", { n: 12345.6 })).toBe("12\u202f345,6 x");
    expect(t("{{n, seconds}}", { n: 2.5 })).toBe("2,5\u00a0s");
  });
});

describe("logs", () => {
  const lines = (lang: "en" | "fr") => {
    initI18n(lang);
    const out = sink();
    const log = createLogger({ level: "debug", pretty: out.stream });
    log.warn("w");
    log.error("e");
    log.debug("d");
    return out.text();
  };

  it("level labels are translated in readable lines", () => {
    expect(lines("en")).toMatch(/WARN.*w\n.*ERROR.*e\n.*DEBUG.*d\n/);
    const fr = lines("fr");
    expect(fr).toMatch(/ATTENTION.*w\n.*ERREUR.*e\n.*DÉBOG.*d\n/);
    expect(fr).not.toContain("WARN");
  });

  it("colour: NO_COLOR and FORCE_COLOR=0 turn it off, FORCE_COLOR on, else a terminal decides", () => {
    const tty = { isTTY: true };
    const pipe = { isTTY: false };
    expect(colourFor(tty, {})).toBe(true);
    expect(colourFor(pipe, {})).toBe(false);
    expect(colourFor(tty, { NO_COLOR: "1" })).toBe(false);
    expect(colourFor(tty, { FORCE_COLOR: "0" })).toBe(false);
    expect(colourFor(tty, { FORCE_COLOR: "false" })).toBe(false);
    expect(colourFor(pipe, { FORCE_COLOR: "1" })).toBe(true);
    expect(colourFor(tty, { TERM: "dumb" })).toBe(false);
  });

  it("a coloured line has escape codes, an uncoloured one none", () => {
    const run = (colour: boolean) => {
      const out = sink();
      createLogger({ level: "warn", pretty: out.stream, colour }).warn("w");
      return out.text();
    };
    expect(run(true)).toContain("\u001b[");
    expect(run(false)).not.toContain("\u001b[");
  });
});

describe("the supervisor's HELP in French", () => {
  it("translates its placeholders and keeps the command words", async () => {
    const { helpLines } = await import("../../supervisor/commands.js");
    initI18n("fr");
    const text = helpLines("results.data").join("\n");
    expect(text).toContain("UPLD cible [fichier]");
    expect(text).toContain("WAIT secondes");
    expect(text).toContain("WHO [filtres]");
    expect(text).not.toMatch(/\b(dest|file|seconds|filters)\b/);
  });
});

describe("the tools' tally line", () => {
  it("uses plural forms and numbers for the language", async () => {
    const { tallyLine } = await import("../../tools/fleet_text.js");
    const tally = { lifespan: 0, killed: 1, signalled: 0, crashed: 0, forced: 0 };
    expect(tallyLine(1, tally)).toBe("1 bot started: 0 lifespan, 1 killed, 0 signalled, 0 crashed, 0 forced");
    expect(tallyLine(1200, tally)).toMatch(/^1,200 bots started: /);
    initI18n("fr");
    expect(tallyLine(1, tally)).toMatch(/^1 bot lancé : /);
    expect(tallyLine(3, tally)).toMatch(/^3 bots lancés : /);
    expect(tallyLine(1200, tally)).toMatch(/^1\u202f200 bots lancés : /);
  });
});

describe("fixed decimals for the language", () => {
  it("writes 1,234.50 in English and 1 234,50 in French", () => {
    expect(formatFixed(1234.5, 2)).toBe("1,234.50");
    expect(formatFixed(0.25, 1)).toBe("0.3");
    initI18n("fr");
    expect(formatFixed(1234.5, 2)).toBe("1\u202f234,50");
    expect(formatFixed(12, 0)).toBe("12");
  });
});
