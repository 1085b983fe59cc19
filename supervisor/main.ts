/**
 * The `supervisor` program: wires the group, the upload server and the console. main() returns
 * the exit status (0 done, 1 fatal, 2 bad command line or config, 130 Ctrl-C, 143 SIGTERM);
 * supervisor/index.js is the launcher that exits with it.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import { describeTransportError, type ProgramIO, processIO, signalStatus, startKeyedProgram } from "../shared/cli.js";
import { type Clock, SystemClock } from "../shared/clock.js";
import { isPeerId } from "../shared/codec.js";
import { KEYS } from "../shared/config.js";
import { N_, resolveLang, t } from "../shared/i18n.js";
import { keyringLine } from "../shared/keys/setup.js";
import { colourFor, createLogger, levelFromFlags } from "../shared/log.js";
import { type OpenedChannel, openChannel, type StackDeps } from "../shared/open.js";
import { makeRng } from "../shared/random.js";
import { complete } from "./commands.js";
import { CommandQueue, SupervisorConsole, wantColour } from "./console.js";
import { randomSupervisorId, SUPERVISOR_FLAGS, SUPERVISOR_KEYS, type SupervisorConfig } from "./options.js";
import { Supervisor } from "./supervisor.js";
import { UploadServer } from "./upload_server.js";
import type { ViewLine } from "./watch.js";
import { parseWebSetting } from "./web/setting.js";
import type { WebView } from "./web/view.js";

export const NAME = "supervisor";

/** What the supervisor's wiring uses besides the process; the real ones by default. */
export interface SupervisorIO extends ProgramIO {
  openChannel?: (config: SupervisorConfig, id: string, deps: StackDeps) => Promise<OpenedChannel>;
  clock?: Clock;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: SupervisorIO): Promise<number> {
  const started = startKeyedProgram(
    {
      name: NAME,
      summary: N_("A supervisor: prints the group's traffic and sends commands to the bots."),
      flags: SUPERVISOR_FLAGS,
      keys: SUPERVISOR_KEYS,
      alsoKnown: KEYS,
    },
    argv,
    env,
    io,
  );
  if (started.exit !== undefined) return started.exit;
  const { prog, keyring } = started;
  const { config } = prog;

  // The supervisor's own log goes to stderr; stdout is the traffic view.
  const logger = createLogger({
    level: levelFromFlags(prog.flags),
    pretty: io.stderr,
    colour: colourFor(io.stderr, env),
  });
  const refuse = (code: 1 | 2, message: string): number => {
    io.stderr.write(`${NAME}: ${message}\n`);
    return code;
  };

  const id = config.supervisorId === "" ? randomSupervisorId(makeRng(config.seed)) : config.supervisorId;
  if (!isPeerId(id)) {
    return refuse(
      2,
      t("bad configuration supervisorId={{value}}: an id is 1 to 32 letters, digits, _ or -", {
        value: JSON.stringify(id),
      }),
    );
  }

  const web = parseWebSetting(config.web);
  if ("problem" in web) {
    return refuse(
      2,
      t("bad configuration web={{value}}: {{problem}}", { value: JSON.stringify(config.web), problem: web.problem }),
    );
  }

  /** An append-only log file (access or error log); undefined when off. */
  type Appender = { write: (line: string) => void; close: () => void };
  const appender = (path: string, key: string): Appender | undefined | string => {
    if (path === "") return undefined;
    let fd: number;
    try {
      fd = openSync(resolve(io.cwd, path), "a");
    } catch (e) {
      return t("cannot open {{key}} file {{path}}: {{error}}", { key, path, error: (e as Error).message });
    }
    return {
      write: (line) => {
        try {
          writeSync(fd, `${line}\n`);
        } catch (e) {
          logger.warn(`${key}: ${(e as Error).message}`);
        }
      },
      close: () => closeSync(fd),
    };
  };
  const access = appender(config.accessLog, "accessLog");
  if (typeof access === "string") return refuse(2, access);
  const error = appender(config.errorLog, "errorLog");
  if (typeof error === "string") {
    access?.close();
    return refuse(2, error);
  }
  const accessLog = access;
  const errorLog = error;
  const closeLogs = (): void => {
    accessLog?.close();
    errorLog?.close();
  };
  /** What start-up has opened (logs, upload server, channel), closed last first at the end. */
  const openedSoFar: (() => unknown)[] = [closeLogs];
  const closeOpened = async (): Promise<void> => {
    for (const close of openedSoFar.splice(0).reverse()) await close();
  };
  /** A start-up step failed: close what is open, one line, exit 1. */
  const startFailed = async (message: string): Promise<number> => {
    await closeOpened();
    return refuse(1, message);
  };

  const uploads = new UploadServer({
    host: config.chanIface,
    port: config.filePort,
    dir: config.uploadDir === "" ? undefined : resolve(io.cwd, config.uploadDir),
    maxBytes: config.maxUpload,
    idleTimeoutMs: config.uploadTimeout * 1000,
    totalTimeoutMs: config.uploadTotal * 1000,
    maxConnections: config.uploadConnections,
    maxFiles: config.maxUploadFiles,
  });
  let listening: { port: number; fallback: boolean };
  try {
    listening = await uploads.listen();
  } catch (e) {
    return startFailed(
      t("cannot listen for uploads on {{host}} port {{port}}: {{error}}", {
        host: config.chanIface,
        port: config.filePort,
        error: (e as Error).message,
      }),
    );
  }
  openedSoFar.push(() => uploads.close().catch(() => undefined));

  let opened: OpenedChannel;
  try {
    opened = await (io.openChannel ?? openChannel)(config, id, { logger, keyring });
  } catch (e) {
    return startFailed(describeTransportError(e));
  }
  const { channel } = opened;
  openedSoFar.push(() => channel.close().catch(() => undefined));

  const interactive = Boolean(io.stdin.isTTY);
  const clock = io.clock ?? new SystemClock();
  let cons: SupervisorConsole | undefined;
  const early: ViewLine[] = [];
  const sink = (line: ViewLine): void => {
    if (cons) cons.write(line);
    else early.push(line);
  };

  const sup = new Supervisor({
    channel,
    clock,
    heartbeat: config.heartbeat,
    backoff: config.backoff,
    results: config.results,
    pktSize: config.PKT_SIZE,
    uploadPort: listening.port,
    sink,
    quiet: prog.flags.quiet,
    uploadWait: config.uploadWait,
    summaryRate: config.summaryRate,
    eventRate: config.eventRate,
    accessLog: accessLog?.write,
    errorLog: errorLog?.write,
    logger,
    keyed: keyring !== undefined,
    hideUnverified: prog.flags.hideUnverified,
  });
  sup.attachUploads(uploads);
  uploads.on("warning", (err, from) =>
    logger.warn({ from: from.address }, t("upload: {{error}}", { error: err.message })),
  );

  // The web page (-web): on 127.0.0.1 unless webHost says otherwise; its URL carries the token.
  let webView: WebView | undefined;
  if (web.port !== undefined) {
    try {
      const { startWebView } = await import("./web/view.js");
      webView = await startWebView({
        supervisor: sup,
        channel,
        uploads,
        clock,
        host: config.webHost === "" ? "127.0.0.1" : config.webHost,
        port: web.port,
        lang: resolveLang(config.lang === "" ? undefined : config.lang, env),
        about: { id, group: config.chanAddr, port: config.chanPort },
      });
    } catch (e) {
      return startFailed(
        t("cannot serve the web page on {{host}} port {{port}}: {{error}}", {
          host: config.webHost,
          port: web.port,
          error: (e as Error).message,
        }),
      );
    }
    webView.server.on("warning", (err) => logger.warn(t("web: {{error}}", { error: err.message })));
  }

  return new Promise<number>((done) => {
    let stopping = false;
    let stopSignals = (): void => {};
    const shutdown = async (code: number): Promise<void> => {
      if (stopping) return;
      stopping = true;
      stopSignals();
      sup.stop();
      await webView?.close().catch(() => undefined);
      cons?.close();
      // Leave the group first (no new UPLDs answered), then finish what is being received.
      await closeOpened();
      logger.info(t("Supervisor shutdown"));
      done(code);
    };
    /** At a terminal, leave the cursor at the start of a line: the shell's prompt goes there. */
    const freshLine = (): void => {
      if (interactive && !stopping) io.stdout.write("\n");
    };
    /** Ctrl-C or SIGTERM: the status says so. */
    const interrupted = (code: number): void => {
      freshLine();
      void shutdown(code);
    };

    channel.on("error", (e) => {
      io.stderr.write(`${NAME}: ${describeTransportError(e)}\n`);
      void shutdown(1);
    });
    stopSignals = io.onSignal((signal) => interrupted(signalStatus(signal)));

    const queue = new CommandQueue(
      (line) => sup.run(line, interactive),
      (how) => {
        if (how === "eof" && !interactive) {
          void sup.settle((config.backoff + config.uploadWait) * 1000).then((code) => shutdown(code));
        } else {
          // Ctrl-D at the prompt (QUIT's line already ended).
          if (how === "eof") freshLine();
          void shutdown(0);
        }
      },
      () => cons?.prompt(),
      (e) => logger.error({ err: e }, t("command failed")),
    );

    cons = new SupervisorConsole({
      input: io.stdin,
      output: io.stdout,
      interactive,
      colour: wantColour(io.stdout, env),
      json: prog.flags.json,
      complete: (line) => complete(line, sup.roster.botIds()),
      onLine: (line) => queue.push(line),
      onEnd: () => queue.end(),
      onInterrupt: () => interrupted(signalStatus("SIGINT")),
    });
    for (const line of early) cons.write(line);

    sup.view.show({
      kind: "notice",
      text: t("Supervisor {{id}} on group {{group}} port {{port}}; uploads to {{host}} port {{uploadPort}}", {
        id,
        group: config.chanAddr,
        port: config.chanPort,
        host: config.chanIface,
        uploadPort: listening.port,
      }),
    });
    if (keyring) sup.view.show({ kind: "notice", text: keyringLine(keyring) });
    if (listening.fallback) {
      sup.view.show({
        kind: "warning",
        text: t(
          "Upload port {{wanted}} is taken: uploads come to port {{port}} (our bots are told; the original's only use {{wanted}})",
          {
            wanted: config.filePort,
            port: listening.port,
          },
        ),
      });
    }
    if (webView) {
      // Whoever can read this console may use the page (Jupyter's way): shown even with -quiet.
      sup.view.show({ kind: "reply", text: t("Web page: {{url}}", { url: webView.server.url() }) });
      if (webView.fallback) {
        sup.view.show({
          kind: "warning",
          text: t("Web port {{wanted}} is taken: the page is on port {{port}}", {
            wanted: web.port,
            port: webView.server.port,
          }),
        });
      }
    }
    if (interactive)
      sup.view.show({ kind: "notice", text: t("Type HELP for the commands; a blank line pauses the display.") });
    sup.start();
  });
}

/** Used by the launcher: the real process. */
export { processIO };
