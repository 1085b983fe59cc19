#!/usr/bin/env node
// A git merge driver for the translation catalogues: a three-way merge by key, so two branches
// that each add strings never conflict. A key removed on one side and untouched on the other
// goes; a key changed on both sides differently keeps ours and exits 1 (a real conflict).
// Set up once per clone:
//   git config merge.i18n-catalogue.driver "node i18n/merge-catalogue.js %O %A %B"
// (.gitattributes names the catalogues.)
import { readFileSync, writeFileSync } from "node:fs";

const [basePath, oursPath, theirsPath] = process.argv.slice(2);
const read = (p) => {
  try {
    return JSON.parse(readFileSync(p, "utf8"));
  } catch {
    return {};
  }
};
const base = read(basePath);
const ours = read(oursPath);
const theirs = read(theirsPath);
const out = {};
let conflict = false;
for (const key of new Set([...Object.keys(ours), ...Object.keys(theirs)])) {
  const inO = Object.hasOwn(base, key);
  const inA = Object.hasOwn(ours, key);
  const inB = Object.hasOwn(theirs, key);
  if (!inA && inO && theirs[key] === base[key]) continue; // we removed it, they left it alone
  if (!inB && inO && ours[key] === base[key]) continue; // they removed it, we left it alone
  if (inA && inB && ours[key] !== theirs[key]) {
    if (inO && ours[key] === base[key]) out[key] = theirs[key];
    else if (inO && theirs[key] === base[key]) out[key] = ours[key];
    else {
      out[key] = ours[key];
      conflict = true;
    }
  } else out[key] = inA ? ours[key] : theirs[key];
}
const sorted = {};
for (const k of Object.keys(out).sort()) sorted[k] = out[k];
writeFileSync(oursPath, `${JSON.stringify(sorted, null, 2)}\n`);
process.exit(conflict ? 1 : 0);
