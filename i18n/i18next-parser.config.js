// i18next-parser configuration: `npm run i18n:extract` rewrites i18n/locales/{en,fr}/translation.json
// from the t("...") calls in the code, and from N_("...") marks on strings kept in data (help texts
// of keys and flags, translated later by t(variable)). i18n/check.js reads the same settings.
//
// Keys are the English source strings, as gettext msgids are: no key or namespace separators.
// English values are the key itself; a new French value is "" until someone translates it, which
// `npm run i18n:check` reports. Keys no longer used are dropped; output is sorted.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { JavascriptLexer } from "i18next-parser";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));

/** Folders scanned for *.ts, relative to the repository root. */
export const SCAN_DIRS = ["dnabot", "supervisor", "shared", "tools"];
/** Function names whose first argument is a key. */
export const FUNCTIONS = ["t", "N_"];
export const LOCALES = ["en", "fr"];

/**
 * i18next-parser 9.4 copies every interpolation option onto the entry it extracts, so
 * t("bad {{key}}", { key }) is recorded under the key "" (and `context`, `defaultValue` options
 * change the key or value). Our options are interpolation values: keep the literal key, and
 * `count` alone, which makes the string a plural (key_one, key_other; key_many too in French,
 * as Intl.PluralRules says).
 */
export class KeyOnlyLexer extends JavascriptLexer {
  expressionExtractor(node) {
    const first = node.arguments?.[0];
    const literal =
      first && (ts.isStringLiteral(first) || ts.isNoSubstitutionTemplateLiteral(first)) ? first.text : undefined;
    const entries = super.expressionExtractor(node);
    if (!entries) return entries;
    const [head, ...nested] = entries;
    const key = literal ?? head.key;
    const plural = head.count !== undefined ? { count: head.count } : {};
    return [...(key === undefined ? [] : [{ key, ...plural }]), ...nested.map((e) => ({ key: e.key }))];
  }
}

/** The plural forms a language's catalogue holds for a string used with {count}. */
export function pluralForms(locale) {
  return new Intl.PluralRules(locale).resolvedOptions().pluralCategories.filter((c) => c !== "zero" || locale !== "en");
}

export default {
  input: SCAN_DIRS.map((d) => `../${d}/**/*.ts`),
  output: join(here, "locales", "$LOCALE", "$NAMESPACE.json"),
  locales: LOCALES,
  defaultNamespace: "translation",
  keySeparator: false,
  namespaceSeparator: false,
  // t("{{count}} bots", { count }) is a plural: key_one, key_other (and key_many in French).
  pluralSeparator: "_",
  defaultValue: (locale, _namespace, key) => (locale === "en" ? key : ""),
  // Code-point order, as a plain `Object.keys(c).sort()` writes it, so hand edits don't reorder.
  sort: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  keepRemoved: false,
  createOldCatalogs: false,
  indentation: 2,
  lineEnding: "\n",
  lexers: {
    ts: [{ lexer: KeyOnlyLexer, functions: FUNCTIONS }],
    default: [{ lexer: KeyOnlyLexer, functions: FUNCTIONS }],
  },
  verbose: false,
  failOnWarnings: false,
};
