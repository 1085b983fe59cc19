/** Config: defaults < ./dnabot.ini [DNABot] (or -config FILE) < -key=value, and every bad input. */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeConfigError, readIfExists } from "../../shared/cli.js";
import {
  type Config,
  ConfigError,
  type ConfigWarning,
  configWith,
  FileTooLargeError,
  formatValue,
  KEYS,
  type LoadOptions,
  lanPreset,
  loadConfig,
  MAX_CONFIG_BYTES,
  MAX_TIMER_SECONDS,
  PRESETS,
  presetArgs,
  stripQuotes,
} from "../../shared/config.js";
import { SUPERVISOR_KEYS, type SupervisorConfig } from "../../supervisor/options.js";
import { tempDir } from "../helpers/net.js";

/** loadConfig over in-memory files: name → text. */
function load(files: Record<string, string>, overrides: Record<string, string> = {}, configFile?: string) {
  const opts: LoadOptions = {
    overrides,
    configFile,
    readFile: (p) => files[p],
  };
  return loadConfig(opts);
}

/** The ConfigError a load throws (fails the test if it does not throw one). */
function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

const ini = (body: string) => ({ "./dnabot.ini": `[DNABot]\n${body}\n` });

describe("defaults", () => {
  it("are the original's, plus ours, with no file and no warnings", () => {
    const { config, warnings, file, sources } = load({});
    expect(config).toMatchObject({
      lifespan: 120,
      backoff: 5,
      heartbeat: 10,
      results: "results.data",
      discovery: 0.01,
      frankenstein: 0.001,
      killBoost: 0.01,
      chanAddr: "239.1.2.4",
      chanPort: 8421,
      chanIface: "127.0.0.1",
      PKT_SIZE: 1024,
      QUEUE_SIZE: 512,
      filePort: 8000,
      chanTTL: 1,
      lang: "",
      seed: undefined,
    });
    expect(warnings).toEqual([]);
    expect(file).toBeUndefined();
    expect(sources.lifespan).toEqual({ kind: "default" });
  });

  it("scope the group to this host: loopback of the group's family", () => {
    expect(load({}, { chanAddr: "ff05::ef:1:2:4" }).config.chanIface).toBe("::1");
    expect(load({}, { chanAddr: "239.9.9.9" }).config.chanIface).toBe("127.0.0.1");
  });

  it("every key's default is a typed value that passes its own checks when written out", () => {
    const { config } = load({});
    for (const [k, d] of Object.entries(KEYS)) {
      expect(k in config).toBe(true);
      const written = formatValue(d.default);
      const again = load({}, { [k]: written }).config as Record<string, unknown>;
      expect(again[k]).toEqual(k === "chanIface" ? "127.0.0.1" : d.default);
    }
    expect(typeof KEYS.lifespan.default).toBe("number");
    expect(typeof KEYS.reliable.default).toBe("boolean");
  });
});

describe("order and sources", () => {
  it("file beats defaults, command line beats file", () => {
    const r = load(ini("lifespan = 60\nbackoff = 2\nresults = mine.data"), { backoff: "0.5" });
    expect(r.config.lifespan).toBe(60);
    expect(r.config.backoff).toBe(0.5);
    expect(r.config.results).toBe("mine.data");
    expect(r.file).toBe("./dnabot.ini");
    expect(r.sources.lifespan).toEqual({ kind: "file", file: "./dnabot.ini" });
    expect(r.sources.backoff).toEqual({ kind: "cli" });
  });

  it("-config FILE is read instead of ./dnabot.ini", () => {
    const files = { ...ini("lifespan = 60"), "other.ini": "[DNABot]\nlifespan = 7\n" };
    const r = load(files, {}, "other.ini");
    expect(r.config.lifespan).toBe(7);
    expect(r.file).toBe("other.ini");
  });

  it("durations take fractions of a second", () => {
    const r = load({}, { lifespan: "0.25", heartbeat: ".5", backoff: "1e-2" });
    expect([r.config.lifespan, r.config.heartbeat, r.config.backoff]).toEqual([0.25, 0.5, 0.01]);
  });

  it("keys are matched case-insensitively, in the file and on the command line", () => {
    const r = load(ini("LIFESPAN = 30\npkt_size = 2048"), { ChanPort: "9000" });
    expect([r.config.lifespan, r.config.PKT_SIZE, r.config.chanPort]).toEqual([30, 2048, 9000]);
    expect(r.warnings).toEqual([]);
  });

  it("only the [DNABot] section counts", () => {
    const r = load({ "./dnabot.ini": "[Other]\nlifespan = 1\n[DNABot]\nlifespan = 2\n" });
    expect(r.config.lifespan).toBe(2);
    expect(r.warnings).toEqual([]);
  });
});

describe("ini text", () => {
  it("strips quotes as the original does: key = \"value\", 'value', and stray ones", () => {
    const r = load(ini(`results = "quoted.data"\nchanAddr = '239.1.2.5'\nlang = "fr`));
    expect([r.config.results, r.config.chanAddr, r.config.lang]).toEqual(["quoted.data", "239.1.2.5", "fr"]);
    expect(load({}, { results: '"cli.data"' }).config.results).toBe("cli.data");
    expect(stripQuotes(` "'x'" `)).toBe("x");
    expect(stripQuotes(`a"b`)).toBe(`a"b`);
  });

  it("takes `key: value` lines, as Python's ConfigParser does", () => {
    const r = load(ini("lifespan: 45\nchanAddr: ff05::ef:1:2:4\nresults = a:b.data"));
    expect([r.config.lifespan, r.config.chanAddr, r.config.results]).toEqual([45, "ff05::ef:1:2:4", "a:b.data"]);
  });

  it("keeps words ini would turn into values as text", () => {
    expect(load(ini("results = null")).config.results).toBe("null");
    expect(load(ini("reliable = false")).config.reliable).toBe(false);
    expect(load(ini("results[] = a\nresults[] = b")).config.results).toBe("b");
  });

  it("ignores comment lines", () => {
    const r = load(ini("# lifespan = 1\n; backoff = 1\nheartbeat = 3"));
    expect([r.config.lifespan, r.config.backoff, r.config.heartbeat]).toEqual([120, 5, 3]);
  });
});

describe("warnings", () => {
  it("name an unknown key in the file; an unknown option is an error", () => {
    const r = load(ini("lifespn = 3\nlifespan = 4"));
    expect(r.config.lifespan).toBe(4);
    expect(r.warnings).toEqual<ConfigWarning[]>([
      { kind: "unknown-key", key: "lifespn", source: { kind: "file", file: "./dnabot.ini" }, guess: "lifespan" },
    ]);
    expect(load(ini("frobnicate = 1")).warnings).toEqual([
      { kind: "unknown-key", key: "frobnicate", source: { kind: "file", file: "./dnabot.ini" } },
    ]);
    const e = errorOf(() => load({}, { hartbeat: "2" }));
    expect([e.key, e.problem, e.source]).toEqual(["hartbeat", "unknown-option", { kind: "cli" }]);
  });

  it("name keys above the section header, and a file without [DNABot]", () => {
    const top = load({ "./dnabot.ini": "lifespan = 3\n[DNABot]\nbackoff = 1\n" });
    expect(top.config.lifespan).toBe(120);
    expect(top.warnings).toEqual([
      { kind: "outside-section", key: "lifespan", source: { kind: "file", file: "./dnabot.ini" } },
    ]);
    const none = load({ "./dnabot.ini": "[dnabot]\nlifespan = 3\n" });
    expect(none.config.lifespan).toBe(120);
    expect(none.warnings).toEqual([{ kind: "no-section", source: { kind: "file", file: "./dnabot.ini" } }]);
  });

  it("an empty or comment-only file is silent", () => {
    expect(load({ "./dnabot.ini": "" }).warnings).toEqual([]);
    expect(load({ "./dnabot.ini": "# nothing\n[DNABot]\n#lifespan = 60\n" }).warnings).toEqual([]);
  });
});

describe("bad input: one ConfigError naming key, value and source", () => {
  const cases: [string, Record<string, string>, string, string][] = [
    ["port above 65535", { chanPort: "70000" }, "chanPort", "port-range"],
    ["port 0", { filePort: "0" }, "filePort", "port-range"],
    ["negative port", { chanPort: "-5" }, "chanPort", "port-range"],
    ["port not a number", { chanPort: "http" }, "chanPort", "not-a-number"],
    ["fractional port", { chanPort: "80.5" }, "chanPort", "not-an-integer"],
    ["duration not a number", { lifespan: "abc" }, "lifespan", "not-a-number"],
    ["empty duration", { lifespan: "" }, "lifespan", "not-a-number"],
    ["infinite duration", { lifespan: "1e999" }, "lifespan", "not-a-number"],
    ["negative duration", { backoff: "-1" }, "backoff", "negative-duration"],
    ["zero heartbeat", { heartbeat: "0" }, "heartbeat", "duration-not-positive"],
    ["probability 1.5", { discovery: "1.5" }, "discovery", "probability-range"],
    ["negative probability", { killBoost: "-0.1" }, "killBoost", "probability-range"],
    ["probability not a number", { frankenstein: "often" }, "frankenstein", "not-a-number"],
    ["unicast group 10.0.0.1", { chanAddr: "10.0.0.1" }, "chanAddr", "not-multicast"],
    ["unicast IPv6 group", { chanAddr: "fe80::1" }, "chanAddr", "not-multicast"],
    ["group not an address", { chanAddr: "group" }, "chanAddr", "not-multicast"],
    ["interface not an address", { chanIface: "eth0" }, "chanIface", "not-an-address"],
    ["IPv6 interface for an IPv4 group", { chanIface: "::1" }, "chanIface", "family-mismatch"],
    ["TTL out of range", { chanTTL: "256" }, "chanTTL", "out-of-range"],
    ["PKT_SIZE not whole", { PKT_SIZE: "1024.5" }, "PKT_SIZE", "not-an-integer"],
    ["PKT_SIZE too small", { PKT_SIZE: "10" }, "PKT_SIZE", "out-of-range"],
    ["negative seed", { seed: "-1" }, "seed", "out-of-range"],
    ["seed not a number", { seed: "abc" }, "seed", "not-a-number"],
    ["bool not a bool", { reliable: "maybe" }, "reliable", "not-a-boolean"],
    ["language not a code", { lang: "français" }, "lang", "bad-lang"],
    ["choice not in the list", { lossDir: "sideways" }, "lossDir", "not-a-choice"],
    ["heartbeat that overflows Node's timers", { heartbeat: "2147484" }, "heartbeat", "out-of-range"],
    ["lifespan that overflows Node's timers", { lifespan: "2147484" }, "lifespan", "out-of-range"],
    ["linger above a minute", { linger: "61" }, "linger", "out-of-range"],
    ["backoff above an hour", { backoff: "3601" }, "backoff", "out-of-range"],
    ["a 20 MB value", { results: "x".repeat(20_000_000) }, "results", "too-long"],
  ];
  it.each(cases)("%s", (_what, overrides, key, problem) => {
    const e = errorOf(() => load({}, overrides));
    expect(e.key).toBe(key);
    expect(e.problem).toBe(problem);
    expect(e.value).toBe(stripQuotes(Object.values(overrides)[0] as string));
    expect(e.source).toEqual({ kind: "cli" });
    const line = describeConfigError("dnabot", e);
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(key);
    expect(line).toContain("command line");
  });

  it("a bad value in the file names the file", () => {
    const e = errorOf(() => load(ini("discovery = 2")));
    expect([e.key, e.value, e.problem]).toEqual(["discovery", "2", "probability-range"]);
    expect(e.source).toEqual({ kind: "file", file: "./dnabot.ini" });
    expect(describeConfigError("dnabot", e)).toBe(
      'dnabot: bad configuration discovery="2" (file ./dnabot.ini): a probability must be from 0 to 1',
    );
  });

  it("a bad value in the file is forgiven when the command line replaces it", () => {
    expect(load(ini("discovery = 2"), { discovery: "0.5" }).config.discovery).toBe(0.5);
  });

  it("-config naming a missing file", () => {
    const e = errorOf(() => load({}, {}, "missing.ini"));
    expect([e.key, e.value, e.problem]).toEqual(["config", "missing.ini", "missing-file"]);
  });

  it("a file that cannot be read", () => {
    const e = errorOf(() =>
      loadConfig({
        overrides: {},
        readFile: () => {
          throw Object.assign(new Error("EACCES"), { code: "EACCES" });
        },
      }),
    );
    expect(e.problem).toBe("unreadable-file");
    expect([e.key, e.value, e.source]).toEqual(["config", "./dnabot.ini", { kind: "default" }]);
  });
});

describe("limits Node can honour", () => {
  it("every duration's bound fits a Node timer, and the largest accepted one loads", () => {
    for (const [k, d] of Object.entries({ ...KEYS, ...SUPERVISOR_KEYS })) {
      if (d.kind !== "duration") continue;
      expect(d.max * 1000, k).toBeLessThanOrEqual(2 ** 31 - 1);
    }
    expect(load({}, { lifespan: String(MAX_TIMER_SECONDS) }).config.lifespan).toBe(MAX_TIMER_SECONDS);
  });

  it("an error line stays short whatever the value, and says every bound", () => {
    const e = errorOf(() => load({}, { chanAddr: "y".repeat(5000) }));
    const line = describeConfigError("dnabot", e);
    expect(line.length).toBeLessThan(300);
    expect(line).toContain("(5000)");
    expect(
      describeConfigError(
        "dnabot",
        errorOf(() => load({}, { linger: "61" })),
      ),
    ).toBe('dnabot: bad configuration linger="61" (command line): must be from 0 to 60');
    expect(
      describeConfigError(
        "dnabot",
        errorOf(() => load({}, { heartbeat: "86401" })),
      ),
    ).toBe('dnabot: bad configuration heartbeat="86401" (command line): must be more than 0 and at most 86,400');
  });

  it("a config file is read up to a cap: /dev/zero and a big file fail fast", () => {
    expect(() => readIfExists("/dev/zero")).toThrow(FileTooLargeError);
    const dir = tempDir();
    try {
      mkdirSync(dir.dir, { recursive: true });
      const big = join(dir.dir, "big.ini");
      writeFileSync(big, `[DNABot]\n${"; filler\n".repeat(MAX_CONFIG_BYTES / 8)}`);
      const e = errorOf(() => loadConfig({ overrides: {}, configFile: big, readFile: (p) => readIfExists(p) }));
      expect([e.key, e.problem]).toEqual(["config", "file-too-large"]);
      expect(describeConfigError("dnabot", e)).toContain("the file is larger than 1,048,576 bytes");
      const small = join(dir.dir, "small.ini");
      writeFileSync(small, "[DNABot]\nlifespan = 3\n");
      expect(loadConfig({ overrides: {}, configFile: small, readFile: (p) => readIfExists(p) }).config.lifespan).toBe(
        3,
      );
      expect(readIfExists(join(dir.dir, "none.ini"))).toBeUndefined();
    } finally {
      dir.cleanup();
    }
  });
});

describe("a program's own key table", () => {
  it("the supervisor's keys: shared ones and its own, typed, nothing bot-only", () => {
    const r = loadConfig({
      keys: SUPERVISOR_KEYS,
      alsoKnown: KEYS,
      overrides: { UPLOADWAIT: "2.5", heartbeat: "3" },
      readFile: () => "[DNABot]\nlifespan = 30\nmaxUpload = 1000\nfrobnicate = 1\n",
    });
    const config: SupervisorConfig = r.config;
    expect(config.uploadWait).toBe(2.5);
    expect(config.heartbeat).toBe(3);
    expect(config.maxUpload).toBe(1000);
    expect(config.chanIface).toBe("127.0.0.1");
    expect("lifespan" in config).toBe(false);
    // The bots' keys in a shared dnabot.ini are not the supervisor's business; a typo is.
    expect(r.warnings.map((w) => ("key" in w ? w.key : w.kind))).toEqual(["frobnicate"]);
    const e = errorOf(() =>
      loadConfig({ keys: SUPERVISOR_KEYS, overrides: { lifespan: "5" }, readFile: () => undefined }),
    );
    expect([e.key, e.problem]).toEqual(["lifespan", "unknown-option"]);
    expect(
      errorOf(() => loadConfig({ keys: SUPERVISOR_KEYS, overrides: { uploadWait: "-1" }, readFile: () => undefined }))
        .key,
    ).toBe("uploadWait");
  });
});

describe("presets", () => {
  it("are typed values over the defaults, checked like any value", () => {
    const demo: Config = configWith(PRESETS.demo);
    expect([demo.heartbeat, demo.backoff, demo.discovery, demo.lifespan]).toEqual([3, 2, 0.05, 120]);
    expect(configWith(PRESETS.local)).toEqual(configWith());
    expect(configWith(PRESETS.load).heartbeat).toBe(1);
    const lan = configWith(lanPreset("10.0.0.7"));
    expect([lan.chanIface, lan.chanTTL]).toEqual(["10.0.0.7", 1]);
    const e = errorOf(() => configWith({ heartbeat: 0 }));
    expect([e.key, e.source]).toEqual(["heartbeat", { kind: "preset" }]);
  });

  it("sit under the file and the command line", () => {
    const r = loadConfig({
      preset: PRESETS.demo,
      overrides: { backoff: "4" },
      readFile: () => "[DNABot]\nheartbeat = 7\n",
    });
    expect([r.config.heartbeat, r.config.backoff, r.config.discovery]).toEqual([7, 4, 0.05]);
    expect(r.sources.discovery).toEqual({ kind: "preset" });
  });

  it("become -key=value options for a program started as a process", () => {
    expect(presetArgs(PRESETS.demo)).toEqual(["-heartbeat=3", "-backoff=2", "-discovery=0.05", "-frankenstein=0.005"]);
    expect(presetArgs({ reliable: false, seed: 7 })).toEqual(["-reliable=false", "-seed=7"]);
    const back = loadConfig({
      overrides: Object.fromEntries(presetArgs(PRESETS.demo).map((a) => a.slice(1).split("="))),
      readFile: () => undefined,
    });
    expect(back.config).toEqual(configWith(PRESETS.demo));
  });
});
