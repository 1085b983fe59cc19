#!/usr/bin/env node
// `npm run i18n:check`: fails (exit 1) when the code translates a string that is missing from the
// English or the French catalogue, when a French value is empty, or when a translation lacks a
// {{placeholder}} of its key. It reads the code with the extraction's own lexer settings
// (i18next-parser.config.js) and never writes the catalogues; `npm run i18n:extract` updates them.
//
//   node i18n/check.js [--root DIR] [--locales DIR]
//     --root     repository root whose dnabot/ supervisor/ shared/ tools/ are scanned (default: ..)
//     --locales  folder holding <lang>/translation.json (default: i18n/locales)
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parser as Parser } from "i18next-parser";
import config, { LOCALES, SCAN_DIRS } from "./i18next-parser.config.js";

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

/** Keys the code translates, each with the files that use it. */
export function usedKeys(root) {
  const parser = new Parser({ lexers: config.lexers });
  parser.on("warning", () => {}); // t(variable): the data it holds is marked with N_() instead
  const used = new Map();
  for (const dir of SCAN_DIRS) {
    for (const file of tsFiles(join(root, dir))) {
      for (const entry of parser.parse(readFileSync(file, "utf8"), file)) {
        if (!entry.key) continue;
        const files = used.get(entry.key) ?? new Set();
        files.add(relative(root, file));
        used.set(entry.key, files);
      }
    }
  }
  return used;
}

function placeholders(s) {
  return [...s.matchAll(/\{\{\s*([\w.]+)\s*\}\}/g)].map((m) => m[1]).sort();
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
    for (const [key, files] of used) {
      const where = [...files].join(", ");
      if (!Object.hasOwn(catalogue, key)) {
        problems.push(`${lang}: missing ${JSON.stringify(key)} (used in ${where})`);
        continue;
      }
      const value = catalogue[key];
      if (typeof value !== "string" || value.trim() === "") {
        problems.push(`${lang}: empty translation of ${JSON.stringify(key)} (used in ${where})`);
      } else if (placeholders(value).join() !== placeholders(key).join()) {
        problems.push(`${lang}: placeholders differ in ${JSON.stringify(value)} for ${JSON.stringify(key)}`);
      }
    }
    for (const [key, value] of Object.entries(catalogue)) {
      if (used.has(key)) continue;
      notes.push(`${lang}: ${JSON.stringify(key)} is not used by the code (npm run i18n:extract drops it)`);
      if (lang !== "en" && (typeof value !== "string" || value.trim() === "")) {
        problems.push(`${lang}: empty translation of ${JSON.stringify(key)}`);
      }
    }
  }
  return { used: used.size, problems, notes };
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
  for (const n of notes) console.log(`i18n:check: note: ${n}`);
  for (const p of problems) console.error(`i18n:check: ${p}`);
  if (problems.length > 0) {
    console.error(
      `i18n:check: ${problems.length} problem(s); run npm run i18n:extract, then translate the new French strings`,
    );
    process.exit(1);
  }
  console.log(`i18n:check: ${used} strings in use, all translated in ${LOCALES.join(" and ")}`);
}
