#!/usr/bin/env node
// `npm run i18n:check`: fails (exit 1) when the code translates a string that is missing from the
// English or the French catalogue (a plural: one of its forms, key_one, key_other, key_many in
// French), when a French value is empty, or when a translation lacks a {{placeholder}} of its key.
// It reads the code with the extraction's own lexer settings (i18next-parser.config.js) and never
// writes the catalogues; `npm run i18n:extract` updates them.
//
// Then it runs the built programs in-process (dist/, so `npm run i18n:check` builds first) in
// English and in French: dnabot, supervisor, spawnBots, demo and load, -help and the one-line
// refusals, line by line. A French line equal to
// the English one that still holds English words fails the check: it catches a string left
// untranslated and a string translated before the language was chosen (at import time).
// A bot's -fg -debug life in both languages (in-process, in-memory group, a peer sending it
// commands) fails the check for a log line left in English, and so does a logger call in the
// code whose message is an English literal instead of t("…") (read with the TypeScript parser).
//
//   node i18n/check.js [--root DIR] [--locales DIR]
//     --root     repository root whose dnabot/ supervisor/ shared/ tools/ are scanned, and whose
//                dist/ holds the built programs (default: ..; no dist/ there: outputs not run)
//     --locales  folder holding <lang>/translation.json (default: i18n/locales)
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { PassThrough } from "node:stream";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parser as Parser } from "i18next-parser";
import ts from "typescript";
import config, { LOCALES, pluralForms, SCAN_DIRS } from "./i18next-parser.config.js";

const here = dirname(fileURLToPath(import.meta.url));

/** Every *.ts file under dir (what the extraction's `dir/**\/*.ts` globs match). */
function tsFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(p);
    return e.isFile() && e.name.endsWith(".ts") ? [p] : [];
  });
}

/** Keys the code translates, each with the files that use it, and which are plurals ({ count }). */
export function usedKeys(root) {
  const parser = new Parser({ lexers: config.lexers });
  parser.on("warning", () => {}); // t(variable): the data it holds is marked with N_() instead
  const used = new Map();
  const plurals = new Set();
  for (const dir of SCAN_DIRS) {
    for (const file of tsFiles(join(root, dir))) {
      for (const entry of parser.parse(readFileSync(file, "utf8"), file)) {
        if (!entry.key) continue;
        const files = used.get(entry.key) ?? new Set();
        files.add(relative(root, file));
        used.set(entry.key, files);
        if (entry.count !== undefined) plurals.add(entry.key);
      }
    }
  }
  return Object.assign(used, { plurals });
}

/** Levels of a pino logger: a call `<…log…>.debug(message)` or `.debug({ fields }, message)`. */
const LOG_LEVELS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);

/** The literal text a message expression writes itself ("…", `…${x}…`, "…" + x), or undefined. */
function literalText(node) {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node))
    return [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(" ");
  if (ts.isParenthesizedExpression(node)) return literalText(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    const parts = [literalText(node.left), literalText(node.right)].filter((p) => p !== undefined);
    return parts.length > 0 ? parts.join(" ") : undefined;
  }
  return undefined;
}

/**
 * Log lines written in English in the code: a logger call (on anything named …log or …logger)
 * whose message is a string or template literal holding a word, instead of t("…"). A message
 * held in a variable or made by a function is not judged here (the bot's live run below is).
 */
export function untranslatedLogCalls(root) {
  const problems = [];
  for (const dir of SCAN_DIRS) {
    for (const file of tsFiles(join(root, dir))) {
      const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
      const visit = (node) => {
        if (
          ts.isCallExpression(node) &&
          ts.isPropertyAccessExpression(node.expression) &&
          LOG_LEVELS.has(node.expression.name.text) &&
          /log(ger)?$/i.test(node.expression.expression.getText(src).replace(/\?$/, ""))
        ) {
          const [first, second] = node.arguments;
          const message = first && ts.isObjectLiteralExpression(first) ? second : first;
          const text = message && literalText(message);
          if (text !== undefined && /[A-Za-z]{2,}/.test(text)) {
            const { line } = src.getLineAndCharacterOfPosition(node.getStart(src));
            problems.push(
              `log line not translated (use t()): ${relative(root, file)}:${line + 1}: ${message.getText(src)}`,
            );
          }
        }
        ts.forEachChild(node, visit);
      };
      visit(src);
    }
  }
  return problems;
}

/** The {{names}} of a string ({{n, number}} counts as n). */
function placeholders(s) {
  return [...s.matchAll(/\{\{\s*([\w.]+)\s*(?:,[^}]*)?\}\}/g)].map((m) => m[1]).sort();
}

/** Problems (each one line) and notes (unused keys), comparing the code with the catalogues. */
export function check(root, localesDir) {
  const used = usedKeys(root);
  const problems = [];
  const notes = [];
  for (const lang of LOCALES) {
    const path = join(localesDir, lang, "translation.json");
    let catalogue;
    try {
      catalogue = JSON.parse(readFileSync(path, "utf8"));
    } catch (e) {
      problems.push(`${lang}: cannot read ${path}: ${e.message}`);
      continue;
    }
    const forms = pluralForms(lang);
    const inCatalogue = new Set();
    for (const [key, files] of used) {
      const where = [...files].join(", ");
      const entries = used.plurals.has(key) ? forms.map((f) => `${key}_${f}`) : [key];
      for (const entry of entries) {
        inCatalogue.add(entry);
        if (!Object.hasOwn(catalogue, entry)) {
          problems.push(`${lang}: missing ${JSON.stringify(entry)} (used in ${where})`);
          continue;
        }
        const value = catalogue[entry];
        if (typeof value !== "string" || value.trim() === "") {
          problems.push(`${lang}: empty translation of ${JSON.stringify(entry)} (used in ${where})`);
        } else if (placeholders(value).join() !== placeholders(key).join()) {
          problems.push(`${lang}: placeholders differ in ${JSON.stringify(value)} for ${JSON.stringify(entry)}`);
        }
      }
    }
    for (const [key, value] of Object.entries(catalogue)) {
      if (inCatalogue.has(key)) continue;
      notes.push(`${lang}: ${JSON.stringify(key)} is not used by the code (npm run i18n:extract drops it)`);
      if (lang !== "en" && (typeof value !== "string" || value.trim() === "")) {
        problems.push(`${lang}: empty translation of ${JSON.stringify(key)}`);
      }
    }
  }
  problems.push(...untranslatedLogCalls(root).map((p) => `fr: ${p}`));
  return { used: used.size, problems, notes };
}

/** Output to compare: each program (dist/ path) with these arguments, in English and in French. */
const REFUSALS = [["-debgu"], ["stray"], ["-chanPort=70000"], ["-heartbeat=0"], ["-config"]];
const OUTPUT_CASES = {
  dnabot: ["dnabot/main.js", [["-help"], ...REFUSALS]],
  supervisor: ["supervisor/main.js", [["-help"], ...REFUSALS]],
  spawnBots: ["tools/spawnBots.js", [["-help"], ["2", "-debgu"], ["many"]]],
  demo: ["tools/demo.js", [["-help"], ["-bots=x"]]],
  load: ["tools/load.js", [["-help"], ["2", "-debgu"]]],
};

/** A stream that keeps what is written. */
function sink() {
  let text = "";
  return {
    isTTY: false,
    write: (chunk) => {
      text += String(chunk);
      return true;
    },
    text: () => text,
  };
}

/**
 * A line of French output that is still English: equal to the English line and holding an
 * English word once the names that stay as they are (options, keys, values, paths, file names,
 * upper-case labels) are taken out.
 */
export function englishLeft(enLine, frLine, names) {
  if (enLine !== frLine) return false;
  const words = enLine
    .replace(/"[^"]*"/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/(^|\s)-+[\w=.:/-]*/g, " ")
    .replace(/[\w.-]*[/.][\w./-]*/g, " ")
    .split(/[^A-Za-z_]+/)
    .filter((w) => w.length >= 3 && !names.has(w) && w !== w.toUpperCase());
  return words.length > 0;
}

/**
 * Run each program's main() in English and in French (catalogues from localesDir) and return a
 * problem for every French line left in English. Undefined when root has no built programs.
 */
export async function outputProblems(root, localesDir) {
  const programs = Object.entries(OUTPUT_CASES).map(([name, [path, cases]]) => [name, join(root, "dist", path), cases]);
  const i18nModule = join(root, "dist", "shared", "i18n.js");
  if (!existsSync(i18nModule) || programs.some(([, p]) => !existsSync(p))) return undefined;
  const { useLocales } = await import(pathToFileURL(i18nModule).href);
  const { KEYS } = await import(pathToFileURL(join(root, "dist", "shared", "config.js")).href);
  const { SUPERVISOR_KEYS } = await import(pathToFileURL(join(root, "dist", "supervisor", "options.js")).href);
  const names = new Set([
    ...Object.keys(KEYS),
    ...Object.keys(SUPERVISOR_KEYS),
    ...Object.keys(OUTPUT_CASES),
    "DNABot",
  ]);
  useLocales(localesDir);
  const problems = [];
  try {
    for (const [name, path, cases] of programs) {
      const { main } = await import(pathToFileURL(path).href);
      for (const args of cases) {
        const run = async (lang) => {
          const out = sink();
          const err = sink();
          const io = { stdout: out, stderr: err, stdin: sink(), cwd: root, onSignal: () => () => {} };
          await main([...args, `-lang=${lang}`], { LANG: "C" }, io);
          return `${out.text()}${err.text()}`.split("\n");
        };
        const en = await run("en");
        const fr = await run("fr");
        for (let i = 0; i < Math.max(en.length, fr.length); i++) {
          if (englishLeft(en[i] ?? "", fr[i] ?? "", names)) {
            problems.push(`fr: English left in \`${name} ${args.join(" ")}\` -lang=fr: ${JSON.stringify(fr[i])}`);
          }
        }
      }
    }
  } finally {
    useLocales(undefined);
  }
  return problems;
}

/**
 * A bot's life in English and in French (in-process, on an in-memory group, -seed so both runs
 * make the same choices), with a peer that sends it a PING, a KILL for another bot, an opcode
 * nobody knows and a malformed datagram: every -fg -debug log line of the French run left in
 * English is a problem. A French line is English when it is one of the English run's lines
 * holding an English word, or starts with the same lower-case word as an English line does.
 * Returns the problems and the French lines (tests look at them).
 */
export async function liveProblems(root, localesDir) {
  const dist = (p) => pathToFileURL(join(root, "dist", p)).href;
  if (!existsSync(join(root, "dist", "shared", "memory_transport.js"))) return { problems: [], lines: [] };
  const { useLocales } = await import(dist("shared/i18n.js"));
  const { MemoryNetwork } = await import(dist("shared/memory_transport.js"));
  const { channelOver } = await import(dist("shared/open.js"));
  const { main } = await import(dist("dnabot/main.js"));
  const { KEYS } = await import(dist("shared/config.js"));
  const names = new Set([...Object.keys(KEYS), "dnabot"]);
  useLocales(localesDir);
  const run = async (lang) => {
    const dir = mkdtempSync(join(tmpdir(), "i18n-check-"));
    const timers = [];
    try {
      const net = new MemoryNetwork();
      // A real stream: pino-pretty pipes into it.
      const out = Object.assign(new PassThrough(), { isTTY: false });
      let text = "";
      out.on("data", (d) => {
        text += d;
      });
      const peer = net.endpoint("127.0.0.2");
      const traffic = ["HUMAN-CHK 1 PING *", "HUMAN-CHK 2 KILL 0BADBEEF", "HUMAN-CHK 3 ZZZZ * hello", "not a datagram"];
      const io = {
        stdout: out,
        stderr: out,
        stdin: sink(),
        cwd: dir,
        onSignal: () => () => {},
        openChannel: async (config, id, deps) => {
          const transport = net.endpoint();
          traffic.forEach((line, i) => {
            timers.push(setTimeout(() => peer.send(Buffer.from(line)), 150 + 20 * i));
          });
          return { channel: channelOver(transport, config, id, deps), transport };
        },
      };
      const args = ["-fg", "-debug", "-seed=7", "-lifespan=0.6", "-backoff=0.1", "-heartbeat=0.2", "-discovery=1"];
      await main([...args, "-linger=0", `-lang=${lang}`], { LANG: "C", NO_COLOR: "1" }, io);
      // Without the time stamps and the level label, numbers and ids as N.
      return text
        .split("\n")
        .filter((l) => l.trim() !== "")
        .map((l) => l.replace(/^\[[\d:.]+\] /, "").replace(/^[^\s:]+ ?: /, ""));
    } finally {
      for (const t of timers) clearTimeout(t);
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    const en = await run("en");
    const fr = await run("fr");
    const shape = (l) => l.replace(/[0-9A-F]{8}/g, "ID").replace(/\d+([.,]\d+)?/g, "N");
    const firstWord = (l) => /^([a-z]{3,})\b/.exec(l)?.[1];
    const enShapes = new Set(en.map(shape));
    const enFirst = new Set(en.map(firstWord).filter((w) => w !== undefined));
    const left = new Set();
    for (const f of fr) {
      const same = enShapes.has(shape(f)) && englishLeft(f, f, names);
      const word = firstWord(f);
      if (same || (word !== undefined && enFirst.has(word))) left.add(shape(f));
    }
    const problems = [...left].map((l) => `fr: a bot's -debug log line left in English: ${JSON.stringify(l)}`);
    return { problems, lines: fr };
  } finally {
    useLocales(undefined);
  }
}

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const root = option(args, "--root", join(here, ".."));
  const localesDir = option(args, "--locales", join(here, "locales"));
  const { used, problems, notes } = check(root, localesDir);
  const outputs = await outputProblems(root, localesDir);
  if (outputs === undefined) notes.push(`no built programs in ${join(root, "dist")}: outputs not compared`);
  else problems.push(...outputs);
  const live = await liveProblems(root, localesDir);
  problems.push(...live.problems);
  if (process.env.I18N_CHECK_SHOW === "1") for (const l of live.lines) console.log(`i18n:check: fr: ${l}`);
  for (const n of notes) console.log(`i18n:check: note: ${n}`);
  for (const p of problems) console.error(`i18n:check: ${p}`);
  if (problems.length > 0) {
    console.error(
      `i18n:check: ${problems.length} problem(s); run npm run i18n:extract, then translate the new French strings`,
    );
    process.exit(1);
  }
  console.log(`i18n:check: ${used} strings in use, all translated in ${LOCALES.join(" and ")}`);
  if (outputs !== undefined) console.log("i18n:check: the programs' French output holds no English line");
}
