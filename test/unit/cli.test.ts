import { afterEach, describe, expect, it, vi } from "vitest";
import {
  describeConfigError,
  describeWarning,
  normaliseArgs,
  parseArgs,
  printWarnings,
  unknownOption,
  usage,
} from "../../shared/cli.js";
import { ConfigError, formatValue, KEYS } from "../../shared/config.js";
import { initI18n } from "../../shared/i18n.js";
import { levelFromFlags } from "../../shared/log.js";
import { sink } from "../helpers/sink.js";

const FLAGS = ["fg", "info", "debug", "help"];
const KEYNAMES = Object.keys(KEYS);
const parse = (...argv: string[]) => parseArgs(argv, FLAGS, KEYNAMES);

afterEach(() => {
  vi.restoreAllMocks();
  initI18n("en");
});

describe("parseArgs", () => {
  it("reads -fg -debug -config FILE -key=value as the original does", () => {
    const a = parse("-fg", "-debug", "-config", "my.ini", "-lifespan=30", "-chanAddr=239.1.2.5");
    expect(a.flags).toEqual({ fg: true, info: false, debug: true, help: false });
    expect(a.configFile).toBe("my.ini");
    expect(a.overrides).toEqual({ lifespan: "30", chanAddr: "239.1.2.5" });
    expect(a.positional).toEqual([]);
  });

  it("does not read -fg as the letters f and g", () => {
    expect(normaliseArgs(["-fg", "-lifespan=3", "--info", "5", "-"])).toEqual([
      "--fg",
      "--lifespan=3",
      "--info",
      "5",
      "-",
    ]);
  });

  it("matches keys and flags case-insensitively, spelled as declared", () => {
    const a = parse("-LIFESPAN=5", "-pkt_size=2048", "-FG", "-Config=x.ini");
    expect(a.overrides).toEqual({ lifespan: "5", PKT_SIZE: "2048" });
    expect(a.flags.fg).toBe(true);
    expect(a.configFile).toBe("x.ini");
  });

  it("keeps values as text: no numbers made of 007, 0x10 or 1e3", () => {
    const a = parse("-seed=007", "-RESULTS=0x10", "-lifespan=1e3", "-LANG=fr");
    expect(a.overrides).toEqual({ seed: "007", results: "0x10", lifespan: "1e3", lang: "fr" });
  });

  it("keeps = inside a value, and the last of a repeated key", () => {
    const a = parse("-results=a=b.data", "-lifespan=1", "-lifespan=2");
    expect(a.overrides).toEqual({ results: "a=b.data", lifespan: "2" });
  });

  it("takes -config=FILE and -key value forms too", () => {
    const a = parse("-config=f.ini", "-lifespan", "9");
    expect(a.configFile).toBe("f.ini");
    expect(a.overrides.lifespan).toBe("9");
  });

  it("passes unknown options through, for the unknown-option warning", () => {
    const a = parse("-lifespn=5", "-verbose");
    expect(a.overrides).toEqual({ lifespn: "5", verbose: "" });
  });

  it("reads -h and --help as -help; keeps positional arguments", () => {
    expect(parse("-h").flags.help).toBe(true);
    expect(parse("--help").flags.help).toBe(true);
    expect(parse("12", "-fg", "30").positional).toEqual(["12", "30"]);
  });

  it("-config with no file name gives an empty name (startProgram refuses it)", () => {
    expect(parse("-config").configFile).toBe("");
  });
});

describe("log level", () => {
  it("is warn by default, -info, -debug (debug wins)", () => {
    expect(levelFromFlags({})).toBe("warn");
    expect(levelFromFlags({ info: true })).toBe("info");
    expect(levelFromFlags({ debug: true, info: true })).toBe("debug");
  });
});

describe("usage", () => {
  const spec = {
    name: "dnabot",
    summary: "A test program.",
    flags: { quiet: "print only events, uploads and errors" },
    keys: { ...KEYS, uploadWait: { kind: "duration" as const, default: 15, min: 0, max: 60, help: "an extra key" } },
  };

  it("lists every flag, -config, and every key with its default", () => {
    const text = usage(spec);
    expect(text.startsWith("Usage: dnabot [options] [-key=value ...]\nA test program.\n")).toBe(true);
    for (const f of ["-fg", "-info", "-debug", "-help", "-quiet", "-config FILE"]) expect(text).toContain(`  ${f}`);
    for (const [k, d] of Object.entries(KEYS)) {
      expect(text).toMatch(new RegExp(`^  ${k} +${reEscape(d.help)} \\[${reEscape(formatValue(d.default))}\\]$`, "m"));
    }
    expect(text).toMatch(/^ {2}uploadWait +an extra key \[15\]$/m);
  });

  it("is translated, help texts held in data included", () => {
    initI18n("fr");
    const text = usage(spec);
    expect(text).toContain("Utilisation : dnabot");
    expect(text).toContain("-config FICHIER");
    expect(text).toContain("durée de vie d'un bot avant son départ, en secondes [120]");
    expect(text).toContain("niveau de journalisation debug");
  });
});

function reEscape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("messages", () => {
  it("a config error is one line naming key, value and source, in the user's language", () => {
    const e = new ConfigError("chanPort", "70000", { kind: "cli" }, "port-range", { min: 1, max: 65535 });
    expect(describeConfigError("dnabot", e)).toBe(
      'dnabot: bad configuration chanPort="70000" (command line): a port must be from 1 to 65535',
    );
    initI18n("fr");
    expect(describeConfigError("dnabot", e)).toBe(
      'dnabot : configuration incorrecte chanPort="70000" (ligne de commande) : un port doit être compris entre 1 et 65535',
    );
  });

  it("an unknown option in a tool's bot options: a guess among the bot's flags and keys", () => {
    const e = new ConfigError("lifespna", "3", { kind: "cli" }, "unknown-option");
    expect(describeConfigError("spawnBots", e)).toBe("spawnBots: unknown option -lifespna (did you mean -lifespan?)");
    expect(unknownOption("spawnBots", "v")).toBe("spawnBots: unknown option -v (did you mean -version?)");
    expect(unknownOption("spawnBots", "qqqq")).toBe("spawnBots: unknown option -qqqq; -help lists the options");
  });

  it("a bounds error says the bounds", () => {
    const e = new ConfigError("chanTTL", "300", { kind: "file", file: "a.ini" }, "out-of-range", { min: 0, max: 255 });
    expect(describeConfigError("dnabot", e)).toBe(
      'dnabot: bad configuration chanTTL="300" (file a.ini): must be from 0 to 255',
    );
  });

  it("warnings print one line each on the given stream", () => {
    const out = sink();
    printWarnings(
      "dnabot",
      [{ kind: "unknown-key", key: "hartbeat", source: { kind: "file", file: "./dnabot.ini" } }],
      out.stream,
    );
    expect(out.text()).toBe("dnabot: warning: unknown configuration key hartbeat in file ./dnabot.ini, ignored\n");
    expect(describeWarning({ kind: "no-section", source: { kind: "file", file: "x.ini" } })).toBe(
      "file x.ini has no [DNABot] section; its settings are ignored",
    );
  });
});
