/**
 * i18n: the language choice, French lookups, and the catalogue check (`npm run i18n:check`),
 * which must fail when the code translates a string the French catalogue lacks.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { KEYS } from "../../shared/config.js";
import { initI18n, N_, resolveLang, t } from "../../shared/i18n.js";
import { SUPERVISOR_FLAGS, SUPERVISOR_KEYS } from "../../supervisor/options.js";
import { REPO, tempDir } from "../helpers/net.js";

const LOCALES = join(REPO, "i18n", "locales");
const catalogue = (lang: string, dir = LOCALES): Record<string, string> =>
  JSON.parse(readFileSync(join(dir, lang, "translation.json"), "utf8"));

afterEach(() => initI18n("en"));

describe("language choice", () => {
  const env = (e: Record<string, string>) => e as NodeJS.ProcessEnv;
  it("-lang wins, then LC_ALL, LC_MESSAGES, LANG", () => {
    expect(resolveLang("fr", env({ LANG: "en_GB.UTF-8" }))).toBe("fr");
    expect(resolveLang("en", env({ LC_ALL: "fr_FR.UTF-8" }))).toBe("en");
    expect(resolveLang(undefined, env({ LANG: "fr_FR.UTF-8" }))).toBe("fr");
    expect(resolveLang(undefined, env({ LC_ALL: "fr_CA", LANG: "en_US.UTF-8" }))).toBe("fr");
    expect(resolveLang(undefined, env({ LC_MESSAGES: "fr_BE@euro", LANG: "en_US" }))).toBe("fr");
    expect(resolveLang(undefined, env({ LC_ALL: "", LC_MESSAGES: "", LANG: "fr" }))).toBe("fr");
  });

  it("C, POSIX, unknown languages and nothing at all → English", () => {
    expect(resolveLang(undefined, env({ LANG: "C" }))).toBe("en");
    expect(resolveLang(undefined, env({ LC_ALL: "POSIX", LANG: "fr_FR.UTF-8" }))).toBe("en");
    expect(resolveLang(undefined, env({ LANG: "C.UTF-8" }))).toBe("en");
    expect(resolveLang(undefined, env({ LANG: "de_DE.UTF-8" }))).toBe("en");
    expect(resolveLang(undefined, env({}))).toBe("en");
  });
});

describe("lookups", () => {
  it("French strings, with interpolation", () => {
    initI18n("fr");
    expect(t("Beep")).toBe("Bip");
    expect(t("a port must be from 1 to 65535")).toBe("un port doit être compris entre 1 et 65535");
    expect(t("{{prog}}: -config needs a file name", { prog: "dnabot" })).toBe(
      "dnabot : -config attend un nom de fichier",
    );
  });

  it("English is the key; unknown keys fall back to themselves", () => {
    initI18n("en");
    expect(t("Beep")).toBe("Beep");
    initI18n("fr");
    expect(t("A string nobody translated {{x}}", { x: 1 })).toBe("A string nobody translated 1");
  });

  it("N_ marks a string and returns it unchanged", () => {
    expect(N_("print this help and exit")).toBe("print this help and exit");
  });
});

describe("real programs speak French", () => {
  const run = (args: string[], env: Record<string, string>) =>
    spawnSync(process.execPath, [join(REPO, "dnabot"), ...args], {
      env: { ...process.env, LC_ALL: "", LC_MESSAGES: "", LANG: "", ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
  const french = 'dnabot : configuration incorrecte chanPort="70000" (ligne de commande) : un port doit être';

  it("with -lang=fr", () => {
    const r = run(["-lang=fr", "-chanPort=70000"], { LANG: "C" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(french);
  });

  it("with LANG=fr_FR.UTF-8, and not with LANG=C", () => {
    const fr = run(["-chanPort=70000"], { LANG: "fr_FR.UTF-8" });
    expect(fr.stderr).toContain(french);
    const c = run(["-chanPort=70000"], { LANG: "C" });
    expect(c.stderr).toContain('dnabot: bad configuration chanPort="70000" (command line)');
  });
});

describe("catalogues", () => {
  it("every help text held in data (keys, flags) has a real French translation", () => {
    const fr = catalogue("fr");
    const texts = [
      ...Object.values(KEYS).map((d) => d.help),
      ...Object.values(SUPERVISOR_KEYS).map((d) => d.help),
      ...Object.values(SUPERVISOR_FLAGS),
    ];
    const missing = texts.filter((s) => !fr[s] || fr[s].trim() === "");
    expect(missing).toEqual([]);
  });

  it("both catalogues are sorted, 2-space JSON with a final newline, English values = keys", () => {
    for (const lang of ["en", "fr"]) {
      const text = readFileSync(join(LOCALES, lang, "translation.json"), "utf8");
      const c = JSON.parse(text) as Record<string, string>;
      const sorted = Object.fromEntries(
        Object.keys(c)
          .sort()
          .map((k) => [k, c[k]]),
      );
      expect(text).toBe(`${JSON.stringify(sorted, null, 2)}\n`);
    }
    const en = catalogue("en");
    // Plural forms (key_one, key_other) are the English of each form; every other value is its key.
    const plural = /_(zero|one|two|few|many|other)$/;
    expect(Object.entries(en).filter(([k, v]) => k !== v && !plural.test(k))).toEqual([]);
  });
});

describe("npm run i18n:check", () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  let n = 0;

  const check = (args: string[] = []) =>
    spawnSync(process.execPath, [join(REPO, "i18n", "check.js"), ...args], {
      cwd: REPO,
      encoding: "utf8",
      timeout: 60_000,
    });

  /** A copy of the catalogues, changed by `edit`. */
  function locales(edit: (en: Record<string, string>, fr: Record<string, string>) => void): string {
    const dir = join(tmp.dir, `locales${n++}`);
    cpSync(LOCALES, dir, { recursive: true });
    const en = catalogue("en", dir);
    const fr = catalogue("fr", dir);
    edit(en, fr);
    writeFileSync(join(dir, "en", "translation.json"), JSON.stringify(en));
    writeFileSync(join(dir, "fr", "translation.json"), JSON.stringify(fr));
    return dir;
  }

  it("passes on the repository: every string the code translates is in en and fr", () => {
    const r = check();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/\d+ strings in use, all translated in en and fr/);
  });

  it("fails when a string the code uses is missing from French", () => {
    const dir = locales((_en, fr) => {
      delete fr.Beep;
    });
    const r = check(["--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('fr: missing "Beep" (used in dnabot/research.ts)');
  });

  it("fails when a help text held in data is missing (t(d.help) in usage)", () => {
    const help = KEYS.lifespan.help;
    const dir = locales((en, fr) => {
      delete en[help];
      delete fr[help];
    });
    const r = check(["--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`en: missing ${JSON.stringify(help)} (used in shared/config.ts)`);
    expect(r.stderr).toContain(`fr: missing ${JSON.stringify(help)}`);
  });

  it("fails on an empty French value, and on a placeholder lost in translation", () => {
    const dir = locales((_en, fr) => {
      fr.Offline = "";
      fr["Bot {{id}} activated"] = "Bot activé";
    });
    const r = check(["--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('fr: empty translation of "Offline"');
    expect(r.stderr).toContain('fr: placeholders differ in "Bot activé" for "Bot {{id}} activated"');
  });

  it("fails on an English line left in the programs' French output (-help, refusals)", () => {
    const dir = locales((_en, fr) => {
      fr["print this help and exit"] = "print this help and exit";
    });
    const r = check(["--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      'fr: English left in `dnabot -help` -lang=fr: "  -help           print this help and exit"',
    );
  });

  it("wants every plural form of a string used with { count }: _one and _other, and _many in French", () => {
    const root = join(tmp.dir, `root${n++}`);
    mkdirSync(join(root, "shared"), { recursive: true });
    writeFileSync(
      join(root, "shared", "p.ts"),
      'import { t } from "./i18n.js";\nexport const a = (count: number) => t("{{count}} probes", { count });\n',
    );
    const dir = locales((en, fr) => {
      en["{{count}} probes_one"] = "{{count}} probe";
      en["{{count}} probes_other"] = "{{count}} probes";
      fr["{{count}} probes_one"] = "{{count}} sonde";
      fr["{{count}} probes_other"] = "{{count}} sondes";
    });
    const r = check(["--root", root, "--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('fr: missing "{{count}} probes_many" (used in shared/p.ts)');
    expect(r.stderr).not.toContain("en: missing");
  });

  it("finds new strings in code, including ones with a {{key}} placeholder, and leaves the catalogues alone", () => {
    const root = join(tmp.dir, `root${n++}`);
    mkdirSync(join(root, "shared", "deep"), { recursive: true });
    writeFileSync(
      join(root, "shared", "deep", "x.ts"),
      'import { t } from "../../i18n.js";\nexport const a = t("bad {{key}} here", { key: "k" });\n' +
        'export const b = { help: N_("a marked help text") };\n',
    );
    const dir = locales(() => {});
    const before = readFileSync(join(dir, "fr", "translation.json"), "utf8");
    const r = check(["--root", root, "--locales", dir]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('en: missing "bad {{key}} here" (used in shared/deep/x.ts)');
    expect(r.stderr).toContain('fr: missing "a marked help text"');
    expect(readFileSync(join(dir, "fr", "translation.json"), "utf8")).toBe(before);
  });
});
