/**
 * The run of a fleet tool (spawnBots, the demo, the load report): its own fresh run directory,
 * the fleet made in it, what happens to both however the tool ends (close(), from the tool's
 * `finally`), the stop on Ctrl-C / SIGTERM, start failures reported, and the exit status; a
 * mistake in the tool's or the bots' options as ToolExit. One copy for the tools. Nothing here
 * exits the process.
 */
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import type { ProgramIO } from "../shared/cli.js";
import type { Config } from "../shared/config.js";
import { t } from "../shared/i18n.js";
import { BotFleet, FleetError, type FleetOptions, makeRunDir } from "./botfleet.js";
import { fleetErrorText } from "./fleet_text.js";
import { checkBotArgs, parseToolArgs, type ToolArgs, type ToolSpec } from "./toolargs.js";

/** What becomes of the run directory when the tool ends: kept, removed, or the tool decides. */
export type RunDirFate = "keep" | "remove" | ((run: FleetRun) => void);

/** A tool's early end: print this line on stderr and exit with this status. */
export class ToolExit extends Error {
  constructor(
    readonly line: string,
    readonly status: number,
  ) {
    super(line);
    this.name = "ToolExit";
  }
}

/** A tool's argv split and checked (parseToolArgs); a mistake is ToolExit (2) with its line. */
export function toolArgs(prog: string, argv: readonly string[], spec: ToolSpec): ToolArgs {
  const parsed = parseToolArgs(prog, argv, spec);
  if (!parsed.ok) throw new ToolExit(parsed.error, 2);
  return parsed.args;
}

/**
 * The config the bots' options give (checkBotArgs); a mistake is ToolExit (2) with its line.
 * The warnings go to `warnings` when given, a line each.
 */
export function botConfig(prog: string, botArgs: readonly string[], warnings?: NodeJS.WritableStream): Config {
  const checked = checkBotArgs(prog, botArgs);
  if (!checked.ok) throw new ToolExit(checked.error, 2);
  if (warnings) for (const w of checked.warnings) warnings.write(`${w}\n`);
  return checked.config;
}

/** The system temp directory as the tool's environment names it (TMPDIR), else the default. */
export function tempBase(env: NodeJS.ProcessEnv): string {
  return env.TMPDIR && env.TMPDIR !== "" ? env.TMPDIR : tmpdir();
}

export type RunOptions = Omit<FleetOptions, "runDir" | "protoDir"> & {
  /** The prototype directory, or a function making one in the run directory. */
  protoDir: string | undefined | ((runDir: string) => string);
};

export class FleetRun {
  /** This run's own directory, made now (mkdtemp). */
  readonly runDir: string;
  readonly fleet: BotFleet;
  /** Keep the run directory even if its fate is "remove" (e.g. a bot crashed: its output tells why). */
  keep = false;
  private closed = false;
  private readonly unsubscribe: (() => void)[] = [];

  /** Make the run directory and the bots' directories; a missing prototype throws ToolExit (1). */
  constructor(
    readonly prog: string,
    opts: RunOptions,
    private readonly fate: RunDirFate,
    private readonly io: ProgramIO,
    env: NodeJS.ProcessEnv,
  ) {
    this.runDir = makeRunDir(prog, tempBase(env));
    try {
      const protoDir = typeof opts.protoDir === "function" ? opts.protoDir(this.runDir) : opts.protoDir;
      this.fleet = new BotFleet({ ...opts, protoDir, runDir: this.runDir });
      this.fleet.prepare();
    } catch (e) {
      // Nothing ran: the run directory (ours, made just now) goes.
      rmSync(this.runDir, { recursive: true, force: true });
      if (e instanceof FleetError) throw new ToolExit(fleetErrorText(prog, e), 1);
      throw e;
    }
    this.fleet.on("spawnError", (p, err) =>
      io.stderr.write(
        `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog, name: p.name, error: err.message })}\n`,
      ),
    );
  }

  /**
   * SIGINT, SIGTERM: the first stops every bot cleanly (after printing what `say` returns, if
   * anything), the next kills them at once.
   */
  stopOnSignals(say?: () => string | undefined): void {
    let signals = 0;
    this.unsubscribe.push(
      this.io.onSignal(() => {
        signals++;
        if (signals === 1) {
          const line = say?.();
          if (line) this.io.stdout.write(`${line}\n`);
          void this.fleet.stop();
        } else {
          this.fleet.killNow();
        }
      }),
    );
  }

  /** The end of the run, however it ends: no bot left running, then the run directory's fate. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.unsubscribe) off();
    this.fleet.killNow();
    if (typeof this.fate === "function") this.fate(this);
    else if (this.fate === "remove" && !this.keep) rmSync(this.runDir, { recursive: true, force: true });
  }

  /** 1 if a bot crashed, had to be SIGKILLed, or could not be started; else 0. */
  status(): number {
    const tally = this.fleet.tally();
    const failedToStart = this.fleet.processes.some((p) => p.pid === undefined && p.ended);
    return tally.crashed + tally.forced > 0 || failedToStart ? 1 : 0;
  }
}

/** Run a tool's body: a ToolExit is its line on stderr and its status. */
export async function runTool(io: ProgramIO, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (e) {
    if (e instanceof ToolExit) {
      io.stderr.write(`${e.line}\n`);
      return e.status;
    }
    throw e;
  }
}
