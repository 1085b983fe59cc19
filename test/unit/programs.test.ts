/**
 * The programs' wiring, in-process: main(argv, env, io) of dnabot and supervisor over an
 * in-memory group, with captured streams, a temporary working directory and signals we send.
 * What only a real process shows (the launchers, stdio of a child) stays in test/process.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main as dnabot } from "../../dnabot/main.js";
import { type ProgramIO, type Signal, startProgram } from "../../shared/cli.js";
import { KEYS } from "../../shared/config.js";
import { initI18n } from "../../shared/i18n.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { channelOver } from "../../shared/open.js";
import { TransportError } from "../../shared/transport.js";
import { main as supervisor } from "../../supervisor/main.js";
import { SUPERVISOR_KEYS } from "../../supervisor/options.js";
import { NODE_FLAGS } from "../../tools/botfleet.js";
import { freeTcpPort, tempDir } from "../helpers/net.js";
import { sink } from "../helpers/sink.js";
import { until } from "../helpers/until.js";

const ENV = { LANG: "C", NO_COLOR: "1" };

interface TestIO extends ProgramIO {
  out: () => string;
  err: () => string;
  signal: (s: Signal) => void;
  input: PassThrough;
}

function testIO(cwd: string): TestIO {
  const stdout = sink();
  const stderr = sink();
  const handlers = new Set<(s: Signal) => void>();
  const input = new PassThrough();
  return {
    stdout: stdout.stream,
    stderr: stderr.stream,
    stdin: input,
    input,
    cwd,
    onSignal: (h) => {
      handlers.add(h);
      return () => handlers.delete(h);
    },
    out: stdout.text,
    err: stderr.text,
    signal: (s) => {
      for (const h of [...handlers]) h(s);
    },
  };
}

let tmp: ReturnType<typeof tempDir>;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.cleanup();
  initI18n("en");
});

describe("start-up: strict command lines", () => {
  const spec = { name: "dnabot", summary: "A test program." };
  const start = (...argv: string[]) => {
    const io = testIO(tmp.dir);
    const r = startProgram(spec, argv, ENV, io);
    return { code: r.exit, prog: r.exit === undefined ? r.prog : undefined, out: io.out(), err: io.err() };
  };

  it("-help, -h, --help: usage on stdout, exit 0", () => {
    for (const h of ["-help", "-h", "--help", "-HELP"]) {
      const r = start(h, "-lifespan=oops");
      expect([r.code, r.err]).toEqual([0, ""]);
      expect(r.out).toMatch(/^Usage: dnabot \[options\]/);
    }
  });

  it("-version, --version: name and version, exit 0", () => {
    const version = JSON.parse(readFileSync(join(import.meta.dirname, "..", "..", "package.json"), "utf8")).version;
    for (const v of ["-version", "--version"]) expect(start(v)).toMatchObject({ code: 0, out: `dnabot ${version}\n` });
  });

  it("an unknown option: one line naming it (with a guess when close), exit 2", () => {
    expect(start("-debgu")).toMatchObject({
      code: 2,
      out: "",
      err: "dnabot: unknown option -debgu (did you mean -debug?)\n",
    });
    expect(start("--lifespn=3").err).toBe("dnabot: unknown option -lifespn (did you mean -lifespan?)\n");
    expect(start("-v")).toMatchObject({ code: 2, err: "dnabot: unknown option -v (did you mean -version?)\n" });
    expect(start("-zz")).toMatchObject({ code: 2, err: "dnabot: unknown option -zz; -help lists the options\n" });
  });

  it("a stray word: one line naming it, exit 2", () => {
    expect(start("-fg", "30")).toMatchObject({
      code: 2,
      err: 'dnabot: unexpected argument "30"; options start with -, e.g. -lifespan=30\n',
    });
  });

  it("a config mistake: one line, exit 2; warnings on stderr and the program runs", () => {
    expect(start("-chanPort=70000")).toMatchObject({ code: 2, out: "" });
    writeFileSync(join(tmp.dir, "dnabot.ini"), "[DNABot]\nlifespan = 7\nlifespn = 8\n");
    const r = start("-backoff=0.5");
    expect(r.code).toBeUndefined();
    expect([r.prog?.config.lifespan, r.prog?.config.backoff]).toEqual([7, 0.5]);
    expect(r.err).toBe(
      "dnabot: warning: unknown configuration key lifespn in file ./dnabot.ini (did you mean lifespan?), ignored\n",
    );
  });

  it("value options that are not config keys (e.g. -hostList=FILE) come apart, and usage names them", () => {
    const io = testIO(tmp.dir);
    const withValues = {
      ...spec,
      values: { hostList: { help: "run one bot per directory listed", placeholder: "FILE" } },
    };
    const r = startProgram(withValues, ["-HOSTLIST=bots.txt", "-lifespan=3"], ENV, io);
    expect(r.exit).toBeUndefined();
    if (r.exit === undefined) {
      expect(r.prog.values).toEqual({ hostList: "bots.txt" });
      expect(r.prog.config.lifespan).toBe(3);
    }
    expect(
      startProgram(withValues, [], ENV, io).exit === undefined && startProgram(withValues, [], ENV, io),
    ).toMatchObject({ prog: { values: {} } });
    const help = testIO(tmp.dir);
    startProgram(withValues, ["-help"], ENV, help);
    expect(help.out()).toMatch(/^ {2}-hostList=FILE +run one bot per directory listed$/m);
  });

  it("-config=/dev/zero fails fast with one line", () => {
    expect(start("-config=/dev/zero")).toMatchObject({
      code: 2,
      err: 'dnabot: bad configuration config="/dev/zero" (command line): the file is larger than 1,048,576 bytes\n',
    });
  });

  it("-help under -lang=fr is French from its first line to its last", async () => {
    const help = async (...argv: string[]) => {
      const io = testIO(tmp.dir);
      expect(await dnabot(argv, ENV, io)).toBe(0);
      return io.out().split("\n");
    };
    const en = await help("-help");
    const fr = await help("-help", "-lang=fr");
    expect(fr).toHaveLength(en.length);
    expect(fr[0]).toMatch(/^Utilisation : dnabot/);
    for (let i = 0; i < en.length; i++) if (/[a-z]{4,}/.test(en[i] as string)) expect(fr[i]).not.toBe(en[i]);
  });
});

describe("dnabot main(): refusals are one line on stderr, exit 2, and nothing is started", () => {
  const cases: [string[], string][] = [
    [["-chanPort=70000"], 'dnabot: bad configuration chanPort="70000" (command line): a port must be from 1 to 65535'],
    [["-filePort=0"], 'dnabot: bad configuration filePort="0" (command line): a port must be from 1 to 65535'],
    [["-config", "missing.ini"], 'dnabot: bad configuration config="missing.ini" (command line): no such file'],
    [["-config"], "dnabot: -config needs a file name"],
    [["-config", "."], 'dnabot: bad configuration config="." (command line): the file cannot be read'],
    [["-lifespan=soon"], 'dnabot: bad configuration lifespan="soon" (command line): not a number'],
    [["-backoff=-2"], 'dnabot: bad configuration backoff="-2" (command line): a duration cannot be negative'],
    [["-heartbeat=0"], 'dnabot: bad configuration heartbeat="0" (command line): must be more than 0 seconds'],
    [["-discovery=1.5"], 'dnabot: bad configuration discovery="1.5" (command line): a probability must be from 0 to 1'],
    [
      ["-chanAddr=10.0.0.1"],
      'dnabot: bad configuration chanAddr="10.0.0.1" (command line): not a multicast address (224.0.0.0/4 or ff00::/8)',
    ],
    [["-chanTTL=300"], 'dnabot: bad configuration chanTTL="300" (command line): must be from 0 to 255'],
    [["-CHANPORT=x"], 'dnabot: bad configuration chanPort="x" (command line): not a number'],
    [["-debgu"], "dnabot: unknown option -debgu (did you mean -debug?)"],
    [["--verbose"], "dnabot: unknown option -verbose; -help lists the options"],
    [["-fg", "stray"], 'dnabot: unexpected argument "stray"; options start with -, e.g. -lifespan=30'],
    [
      ["-heartbeat=2147484"],
      'dnabot: bad configuration heartbeat="2147484" (command line): must be more than 0 and at most 86,400',
    ],
    [["-lifespan=2147484"], 'dnabot: bad configuration lifespan="2147484" (command line): must be from 0 to 2,147,483'],
    [
      ["-config=/dev/zero"],
      'dnabot: bad configuration config="/dev/zero" (command line): the file is larger than 1,048,576 bytes',
    ],
  ];
  it.each(cases)("dnabot %j", async (args, line) => {
    const io = testIO(tmp.dir);
    expect(await dnabot(args, ENV, io)).toBe(2);
    expect([io.out(), io.err()]).toEqual(["", `${line}\n`]);
    // Nothing started: no log, no results file where it was run.
    expect(readdirSync(tmp.dir)).toEqual([]);
  });

  it("the supervisor reports them the same way", async () => {
    const io = testIO(tmp.dir);
    expect(await supervisor(["-chanPort=70000"], ENV, io)).toBe(2);
    expect(io.err()).toBe(
      'supervisor: bad configuration chanPort="70000" (command line): a port must be from 1 to 65535\n',
    );
  });

  it("a bad value in ./dnabot.ini names the file", async () => {
    writeFileSync(join(tmp.dir, "dnabot.ini"), '[DNABot]\nchanAddr = "192.168.1.1"\n');
    const io = testIO(tmp.dir);
    expect(await dnabot([], ENV, io)).toBe(2);
    expect(io.err()).toBe(
      'dnabot: bad configuration chanAddr="192.168.1.1" (file ./dnabot.ini): not a multicast address (224.0.0.0/4 or ff00::/8)\n',
    );
  });
});

/** A program's io in the temp directory on an in-memory network: each channel it opens is a new endpoint. */
const ioOn = (net: MemoryNetwork) => ({
  ...testIO(tmp.dir),
  openChannel: async (config: Parameters<typeof channelOver>[1], id: string) => {
    const transport = net.endpoint();
    return { channel: channelOver(transport, config, id), transport };
  },
});

/** Every datagram sent on `net` from now on, as text. */
function hearAll(net: MemoryNetwork): string[] {
  const heard: string[] = [];
  net.endpoint().on("datagram", (b) => heard.push(b.toString()));
  return heard;
}

describe("dnabot main()", () => {
  it("runs a bot on the group until its lifespan: results and log in its directory, exit 0", async () => {
    const net = new MemoryNetwork();
    const heard = hearAll(net);
    const io = ioOn(net);
    const code = await dnabot(["-lifespan=0.3", "-backoff=0", "-linger=0", "-info"], ENV, io);
    expect(code).toBe(0);
    expect(io.err()).toMatch(/^dnabot: bot [0-9A-F]{8} running, log in .*dnabot\.log \(-fg logs here\)\n$/);
    expect(existsSync(join(tmp.dir, "results.data"))).toBe(true);
    expect(readFileSync(join(tmp.dir, "dnabot.log"), "utf8")).toContain("Lifespan reached");
    expect(heard.some((l) => / EXIT \* .*reason=lifespan/.test(l))).toBe(true);
  });

  it("-fg logs on stdout, and a signal makes the bot leave with reason signal, exit 0", async () => {
    const net = new MemoryNetwork();
    const heard = hearAll(net);
    const io = ioOn(net);
    const running = dnabot(["-fg", "-info", "-backoff=0", "-linger=0"], ENV, io);
    await until("the bot's first message", () => heard.length > 0);
    io.signal("SIGTERM");
    expect(await running).toBe(0);
    expect(heard.some((l) => l.includes(" EXIT ") && l.includes("reason=signal"))).toBe(true);
    expect(io.out()).toContain("stopped by signal SIGTERM");
    expect(existsSync(join(tmp.dir, "dnabot.log"))).toBe(false);
  });

  it("-fg log colour: FORCE_COLOR=0 turns it off on a terminal, FORCE_COLOR=1 on in a pipe", async () => {
    const colourOf = async (isTTY: boolean, env: Record<string, string>) => {
      const io = ioOn(new MemoryNetwork());
      Object.assign(io.stdout, { isTTY });
      expect(
        await dnabot(["-fg", "-info", "-lifespan=0.05", "-backoff=0", "-linger=0"], { LANG: "C", ...env }, io),
      ).toBe(0);
      expect(io.out()).toContain("Lifespan reached");
      return io.out().includes("\u001b[");
    };
    expect(await colourOf(true, {})).toBe(true);
    expect(await colourOf(true, { FORCE_COLOR: "0" })).toBe(false);
    expect(await colourOf(true, { NO_COLOR: "1" })).toBe(false);
    expect(await colourOf(false, { FORCE_COLOR: "1" })).toBe(true);
  });

  it("a group that cannot be opened: one line, exit 1", async () => {
    const io = {
      ...testIO(tmp.dir),
      openChannel: async () => {
        throw new TransportError("bind failed", "EADDRINUSE", undefined, "open", {
          group: "239.1.2.4",
          port: 8421,
          iface: "127.0.0.1",
        });
      },
    };
    expect(await dnabot(["-fg"], ENV, io)).toBe(1);
    expect(io.err()).toMatch(/^dnabot: cannot open the group 239\.1\.2\.4 port 8421 on 127\.0\.0\.1: EADDRINUSE/);
  });

  it("a bad command line starts nothing: no log, no results file", async () => {
    const io = testIO(tmp.dir);
    expect(await dnabot(["-debgu"], ENV, io)).toBe(2);
    expect(existsSync(join(tmp.dir, "dnabot.log"))).toBe(false);
    expect(existsSync(join(tmp.dir, "results.data"))).toBe(false);
  });
});

describe("supervisor main()", () => {
  it("piped commands are sent; the end of input ends it with status 0", async () => {
    const net = new MemoryNetwork();
    const heard = hearAll(net);
    const io = ioOn(net);
    const port = await freeTcpPort();
    const running = supervisor([`-filePort=${port}`, "-uploadWait=0.1", "-linger=0", "-supervisorId=HUMAN-t"], ENV, io);
    io.input.end("PING *\n");
    expect(await running).toBe(0);
    expect(heard.some((l) => /^HUMAN-t \d+ PING \*/.test(l))).toBe(true);
    expect(io.out()).toContain("Supervisor HUMAN-t on group 239.1.2.4 port 8421");
  });

  /** Can this program listen on 127.0.0.1 port `port` (nothing holds it any more)? */
  const portIsFree = (port: number) =>
    new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once("error", () => done(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
    });

  it("a group that cannot be opened: one line, exit 1, and the upload port is let go", async () => {
    const filePort = await freeTcpPort();
    const io = {
      ...testIO(tmp.dir),
      openChannel: async () => {
        throw new Error("no group today");
      },
    };
    expect(await supervisor([`-filePort=${filePort}`, "-linger=0"], ENV, io)).toBe(1);
    expect(io.err()).toBe("supervisor: the group channel failed: no group today\n");
    expect(await portIsFree(filePort)).toBe(true);
  });

  it("a web address it cannot listen on: one line, exit 1; the upload port is let go and the group left", async () => {
    const filePort = await freeTcpPort();
    const net = new MemoryNetwork();
    const io = ioOn(net);
    // 192.0.2.1 (TEST-NET-1) is no address of this host: listening there fails, nothing is sent.
    const argv = [`-filePort=${filePort}`, "-web=0", "-webHost=192.0.2.1", "-linger=0"];
    expect(await supervisor(argv, ENV, io)).toBe(1);
    expect(io.err()).toMatch(/^supervisor: cannot serve the web page on 192\.0\.2\.1 port 0: .*EADDRNOTAVAIL.*\n$/);
    expect(net.size).toBe(0);
    expect(await portIsFree(filePort)).toBe(true);
  });

  it("Ctrl-C or SIGTERM: status 130 or 143", async () => {
    for (const [signal, status] of [
      ["SIGINT", 130],
      ["SIGTERM", 143],
    ] as const) {
      const io = ioOn(new MemoryNetwork());
      const running = supervisor([`-filePort=${await freeTcpPort()}`, "-linger=0"], ENV, io);
      await until("the supervisor's banner", () => io.out().includes("Supervisor "));
      io.signal(signal);
      expect(await running).toBe(status);
    }
  });

  it("at a terminal, Ctrl-C leaves the shell's prompt on a fresh line", async () => {
    const io = ioOn(new MemoryNetwork());
    Object.assign(io.input, { isTTY: true });
    const running = supervisor([`-filePort=${await freeTcpPort()}`, "-linger=0"], ENV, io);
    await until("the prompt", () => io.out().includes("> "));
    io.signal("SIGINT");
    expect(await running).toBe(130);
    // The prompt, then one line end (readline's cursor moves aside).
    expect(io.out()).toMatch(/> (\u001b\[\d+G)?\n$/);
  });

  it("takes only the keys it uses: a bot-only key is an unknown option; -help lists only its keys", async () => {
    const io = ioOn(new MemoryNetwork());
    expect(await supervisor(["-lifespan=5"], ENV, io)).toBe(2);
    expect(io.err()).toBe("supervisor: unknown option -lifespan; -help lists the options\n");
    const help = ioOn(new MemoryNetwork());
    expect(await supervisor(["-help"], ENV, help)).toBe(0);
    for (const k of Object.keys(SUPERVISOR_KEYS)) expect(help.out()).toMatch(new RegExp(`^  ${k} `, "m"));
    for (const k of Object.keys(KEYS).filter((k) => !(k in SUPERVISOR_KEYS)))
      expect(help.out()).not.toMatch(new RegExp(`^  ${k} `, "m"));
  });

  it("a bad supervisorId or an access log that cannot be opened: one line, exit 2", async () => {
    const io = ioOn(new MemoryNetwork());
    expect(await supervisor(["-supervisorId=a b"], ENV, io)).toBe(2);
    const io2 = ioOn(new MemoryNetwork());
    expect(await supervisor([`-accessLog=${join(tmp.dir, "no", "such", "dir.log")}`], ENV, io2)).toBe(2);
    expect(io2.err()).toMatch(/^supervisor: cannot open accessLog file /);
  });
});

describe("package commands", () => {
  it("are lower-case, hyphenated, prefixed with the project's name, and their launchers exist", () => {
    const root = join(import.meta.dirname, "..", "..");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
      bin: Record<string, string>;
      scripts: Record<string, string>;
    };
    // The tools never run a stale dist/: their scripts build first (incrementally).
    for (const tool of ["demo", "spawnBots", "load"]) expect(pkg.scripts[tool]).toMatch(/^npm run build --silent && /);
    expect(Object.keys(pkg.bin).sort()).toEqual(["mcastbots-dnabot", "mcastbots-spawnbots", "mcastbots-supervisor"]);
    for (const [name, file] of Object.entries(pkg.bin)) {
      expect(name).toMatch(/^mcastbots-[a-z0-9]+(-[a-z0-9]+)*$/);
      // The programs under floods take the same V8 flags as when the tools start them.
      const program = name !== "mcastbots-spawnbots";
      const shebang = program ? `#!/usr/bin/env -S node ${NODE_FLAGS.join(" ")}\n` : "#!/usr/bin/env node\n";
      expect(readFileSync(join(root, file), "utf8").startsWith(shebang), name).toBe(true);
    }
  });
});
