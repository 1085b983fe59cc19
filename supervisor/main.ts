/** Entry point of `node supervisor`: wires the group, the upload server and the console. */
import { closeSync, openSync, writeSync } from "node:fs";
import { describeTransportError, startProgram } from "../shared/cli.js";
import { SystemClock } from "../shared/clock.js";
import { isPeerId } from "../shared/codec.js";
import { t } from "../shared/i18n.js";
import { createLogger, levelFromFlags } from "../shared/log.js";
import { openChannel } from "../shared/open.js";
import { makeRng } from "../shared/random.js";
import { complete } from "./commands.js";
import { CommandQueue, SupervisorConsole, wantColour } from "./console.js";
import { randomSupervisorId, SUPERVISOR_FLAGS, SUPERVISOR_KEYS, type SupervisorSettings } from "./options.js";
import { Supervisor } from "./supervisor.js";
import { UploadServer } from "./upload_server.js";
import type { ViewLine } from "./watch.js";

const NAME = "supervisor";
const prog = startProgram({
  name: NAME,
  summary: t("A supervisor: prints the group's traffic and sends commands to the bots."),
  flags: SUPERVISOR_FLAGS,
  extraKeys: SUPERVISOR_KEYS,
});
const { config } = prog;
const settings = prog.extra as unknown as SupervisorSettings;

// The supervisor's own log goes to stderr; stdout is the traffic view.
const logger = createLogger({ level: levelFromFlags(prog.flags), pretty: process.stderr });

function die(code: 1 | 2, message: string): never {
  process.stderr.write(`${NAME}: ${message}\n`);
  process.exit(code);
}

const id = settings.supervisorId === "" ? randomSupervisorId(makeRng(config.seed)) : settings.supervisorId;
if (!isPeerId(id)) {
  die(
    2,
    t("bad configuration supervisorId={{value}}: an id is 1 to 32 letters, digits, _ or -", {
      value: JSON.stringify(id),
    }),
  );
}

/** An append-only log file (access or error log); undefined when off. */
function appender(path: string, key: string): { write: (line: string) => void; close: () => void } | undefined {
  if (path === "") return undefined;
  let fd: number;
  try {
    fd = openSync(path, "a");
  } catch (e) {
    die(2, t("cannot open {{key}} file {{path}}: {{error}}", { key, path, error: (e as Error).message }));
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
}
const accessLog = appender(settings.accessLog, "accessLog");
const errorLog = appender(settings.errorLog, "errorLog");

const uploads = new UploadServer({
  host: config.chanIface,
  port: config.filePort,
  dir: settings.uploadDir === "" ? undefined : settings.uploadDir,
  maxBytes: settings.maxUpload,
  idleTimeoutMs: settings.uploadTimeout * 1000,
});
let listening: { port: number; fallback: boolean };
try {
  listening = await uploads.listen();
} catch (e) {
  die(
    1,
    t("cannot listen for uploads on {{host}} port {{port}}: {{error}}", {
      host: config.chanIface,
      port: config.filePort,
      error: (e as Error).message,
    }),
  );
}

let opened: Awaited<ReturnType<typeof openChannel>>;
try {
  opened = await openChannel(config, id, { logger });
} catch (e) {
  die(1, describeTransportError(e));
}
const { channel } = opened;

const interactive = Boolean(process.stdin.isTTY);
const clock = new SystemClock();
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
  uploadsInProgress: () => uploads.inProgress,
  accessLog: accessLog?.write,
  errorLog: errorLog?.write,
  logger,
});
uploads.on("upload", (u) => sup.onUpload(u));
uploads.on("warning", (err, from) =>
  logger.warn({ from: from.address }, t("upload: {{error}}", { error: err.message })),
);

let stopping = false;
async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  sup.stop();
  cons?.close();
  // Leave the group first (no new UPLDs answered), then finish what is being received.
  await channel.close().catch(() => undefined);
  await uploads.close().catch(() => undefined);
  accessLog?.close();
  errorLog?.close();
  logger.info(t("Supervisor shutdown"));
  process.exit(code);
}

channel.on("error", (e) => {
  process.stderr.write(`${NAME}: ${describeTransportError(e)}\n`);
  void shutdown(1);
});
process.on("SIGINT", () => void shutdown(0));
process.on("SIGTERM", () => void shutdown(0));

const queue = new CommandQueue(
  (line) => sup.run(line, interactive),
  (how) => {
    if (how === "eof" && !interactive) {
      void sup.settle(settings.uploadWait * 1000).then(() => shutdown(0));
    } else {
      void shutdown(0);
    }
  },
  () => cons?.prompt(),
  (e) => logger.error({ err: e }, "command failed"),
);

cons = new SupervisorConsole({
  input: process.stdin,
  output: process.stdout,
  interactive,
  colour: wantColour(process.stdout, process.env),
  complete: (line) => complete(line, sup.roster.botIds()),
  onLine: (line) => queue.push(line),
  onEnd: () => queue.end(),
  onInterrupt: () => void shutdown(0),
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
if (interactive)
  sup.view.show({ kind: "notice", text: t("Type HELP for the commands; a blank line pauses the display.") });
sup.start();
