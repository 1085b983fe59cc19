/**
 * npm run i18n:check fails on English left in French output: a logger call whose message is an
 * English literal instead of t(), and a bot's -debug log line that stays English under -lang=fr.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { liveProblems, untranslatedLogCalls } from "../../i18n/check.js";

const root = join(import.meta.dirname, "..", "..");
const locales = join(root, "i18n", "locales");

function withTemp<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "i18n-check-test-"));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("logger calls with an English literal", () => {
  it("are reported with file and line; t(), variables and wordless literals are not", () => {
    withTemp((dir) => {
      mkdirSync(join(dir, "dnabot"));
      const code = [
        'import { t } from "../shared/i18n.js";',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
        "this.deps.logger.debug(`sent ${id} ${seq}`);",
        'logger.warn({ reason }, "invalid datagram dropped");',
        'this.s.logger?.debug({ sender }, "gave up" + " waiting");',
        'logger.info(t("Bot {{id}} activated", { id }));',
        "logger.error(message);",
        // biome-ignore lint/suspicious/noTemplateCurlyInString: source text for the scanner
        "logger.warn(`${key}: ${error}`);",
        'console.log("not a logger");',
      ].join("\n");
      writeFileSync(join(dir, "dnabot", "x.ts"), code);
      const problems = untranslatedLogCalls(dir);
      expect(problems).toHaveLength(3);
      expect(problems[0]).toContain("dnabot/x.ts:2:");
      expect(problems[1]).toContain("dnabot/x.ts:3:");
      expect(problems[2]).toContain("dnabot/x.ts:4:");
    });
  });

  it("are none in the code", () => {
    expect(untranslatedLogCalls(root)).toEqual([]);
  });
});

const built = existsSync(join(root, "dist", "dnabot", "main.js"));

describe.skipIf(!built)("a bot's -debug life under -lang=fr (built programs)", () => {
  it("has no English line, and one left English is a problem", async () => {
    const ok = await liveProblems(root, locales);
    expect(ok.problems).toEqual([]);
    expect(ok.lines.some((l) => l.startsWith("envoyé "))).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), "i18n-check-test-"));
    try {
      cpSync(locales, dir, { recursive: true });
      const fr = join(dir, "fr", "translation.json");
      const catalogue = JSON.parse(readFileSync(fr, "utf8")) as Record<string, string>;
      catalogue["sent {{line}}"] = "sent {{line}}";
      catalogue["no handler for {{opcode}}: {{text}}"] = "no handler for {{opcode}}: {{text}}";
      writeFileSync(fr, JSON.stringify(catalogue));
      const bad = await liveProblems(root, dir);
      expect(bad.problems.some((p) => p.includes('"sent ID N BEAT'))).toBe(true);
      expect(bad.problems.some((p) => p.includes('"no handler for ZZZZ'))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 20_000);
});
