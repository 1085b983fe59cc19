/**
 * Translation: i18next with English source strings as keys (as gettext does), loaded
 * synchronously from i18n/locales/<lang>/translation.json by i18next-fs-backend.
 * Call initI18n() once at start-up; t() before that returns English with interpolation.
 */
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import i18next, { type TOptions } from "i18next";
import Backend from "i18next-fs-backend";

export const SUPPORTED = ["en", "fr"] as const;
export type Lang = (typeof SUPPORTED)[number];

let localesOverride: string | undefined;

/** Load the catalogues from this folder from the next initI18n() on (i18n:check tries others). */
export function useLocales(dir: string | undefined): void {
  localesOverride = dir;
}

/** i18n/locales, found from this file both in shared/ (tests) and in dist/shared/ (built). */
export function localesDir(): string {
  if (localesOverride !== undefined) return localesOverride;
  const here = dirname(fileURLToPath(import.meta.url));
  const up = here.includes(`${join("dist", "shared")}`) ? join(here, "..", "..") : join(here, "..");
  return join(up, "i18n", "locales");
}

/**
 * Pick the language: an explicit setting (-lang) wins, then LC_ALL, LC_MESSAGES, LANG as POSIX
 * orders them. `fr_FR.UTF-8` → fr; C, POSIX and anything we don't ship → en.
 */
export function resolveLang(explicit: string | undefined, env: NodeJS.ProcessEnv): Lang {
  const candidates = [explicit, env.LC_ALL, env.LC_MESSAGES, env.LANG];
  for (const c of candidates) {
    if (!c) continue;
    const base = (c.split(/[_.@-]/)[0] ?? "").toLowerCase();
    if (base === "" || base === "c" || base === "posix") return "en";
    return (SUPPORTED as readonly string[]).includes(base) ? (base as Lang) : "en";
  }
  return "en";
}

let ready = false;
let numbers = new Intl.NumberFormat("en", { maximumFractionDigits: 3 });
let bytes = new Intl.NumberFormat("en", { style: "unit", unit: "byte", unitDisplay: "long" });

/** A number written for the current language: 1,234.5 in English, 1 234,5 in French. */
export function formatNumber(n: number | undefined): string {
  return n === undefined ? "" : numbers.format(n);
}

/** A number with exactly `digits` decimals, for the current language: 1,234.50 / 1 234,50. */
export function formatFixed(n: number, digits: number): string {
  return new Intl.NumberFormat(numbers.resolvedOptions().locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(n);
}

/** A duration in seconds, for the current language: 1.5 s, 1,5 s. */
export function formatSeconds(n: number): string {
  return `${numbers.format(n)}\u00a0s`;
}

/** A size in bytes, for the current language: 1,048,576 bytes, 1 048 576 octets. */
export function formatBytes(n: number): string {
  return bytes.format(n);
}

/**
 * Set the language. Numbers: {{n, number}} in a string formats n for the language (Intl), as do
 * {{n, seconds}} and {{n, bytes}}; formatNumber() and friends do the same in code. Plurals: a
 * string used with { count } has the forms key_one, key_other (and key_many in French) in the
 * catalogues, as i18next and Intl.PluralRules choose them.
 */
export function initI18n(lang: Lang): void {
  numbers = new Intl.NumberFormat(lang, { maximumFractionDigits: 3 });
  bytes = new Intl.NumberFormat(lang, { style: "unit", unit: "byte", unitDisplay: "long" });
  const instance = i18next.use(Backend);
  void instance.init({
    lng: lang,
    fallbackLng: "en",
    supportedLngs: [...SUPPORTED],
    ns: ["translation"],
    defaultNS: "translation",
    initAsync: false,
    keySeparator: false,
    nsSeparator: false,
    returnNull: false,
    returnEmptyString: false,
    interpolation: { escapeValue: false },
    backend: { loadPath: join(localesDir(), "{{lng}}", "{{ns}}.json") },
    showSupportNotice: false,
  } as Parameters<typeof instance.init>[0]);
  instance.services.formatter?.add("seconds", (value: number) => formatSeconds(value));
  instance.services.formatter?.add("bytes", (value: number) => formatBytes(value));
  ready = true;
}

/**
 * Marks an English string kept in data (help texts of keys and flags) for extraction by
 * `npm run i18n:extract`; it returns the string unchanged, and t() translates it where shown.
 */
export function N_<S extends string>(s: S): S {
  return s;
}

/**
 * Translate an English source string; `{{name}}` placeholders are filled from values. Before
 * initI18n() it is English (a string translated before the language is chosen stays English:
 * `npm run i18n:check` compares the programs' French output with the English to catch it).
 */
export function t(key: string, values?: TOptions): string {
  if (!ready) initI18n("en");
  return i18next.t(key, values ?? {}) as string;
}
