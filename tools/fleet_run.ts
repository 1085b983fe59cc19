/**
 * The run of a fleet tool (spawnBots, the demo, the load report): its own fresh run directory,
 * the fleet made in it, what happens to both however the tool ends, the stop on Ctrl-C /
 * SIGTERM, start failures reported, and the exit status. One copy for the three tools.
 */
import { rmSync } from "node:fs";
import { t } from "../shared/i18n.js";
import { BotFleet, FleetError, type FleetOptions, makeRunDir } from "./botfleet.js";
import { fleetErrorText } from "./fleet_text.js";

/** What becomes of the run directory when the tool exits: kept, removed, or the tool decides. */
export type RunDirFate = "keep" | "remove" | ((run: FleetRun) => void);

/** Print one line on stderr and exit with this status. */
export function fail(message: string, code: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

export class FleetRun {
  /** This run's own directory, made now (mkdtemp). */
  readonly runDir: string;
  readonly fleet: BotFleet;
  /** Keep the run directory even if its fate is "remove" (e.g. a bot crashed: its output tells why). */
  keep = false;

  constructor(
    readonly prog: string,
    opts: Omit<FleetOptions, "runDir" | "protoDir"> & { protoDir: string | undefined | ((runDir: string) => string) },
    private readonly fate: RunDirFate,
  ) {
    this.runDir = makeRunDir(prog);
    const protoDir = typeof opts.protoDir === "function" ? opts.protoDir(this.runDir) : opts.protoDir;
    this.fleet = new BotFleet({ ...opts, protoDir, runDir: this.runDir });
    // Never leave a bot behind, however we end; then the run directory's fate.
    process.on("exit", () => {
      this.fleet.killNow();
      this.finish();
    });
    this.fleet.on("spawnError", (p, err) =>
      process.stderr.write(
        `${t("{{prog}}: cannot start {{name}}: {{error}}", { prog, name: p.name, error: err.message })}\n`,
      ),
    );
    try {
      this.fleet.prepare();
    } catch (e) {
      // Nothing ran: the run directory (ours, made just now) goes.
      this.keep = false;
      rmSync(this.runDir, { recursive: true, force: true });
      if (e instanceof FleetError) fail(fleetErrorText(prog, e), 1);
      throw e;
    }
  }

  private finished = false;
  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (typeof this.fate === "function") this.fate(this);
    else if (this.fate === "remove" && !this.keep) rmSync(this.runDir, { recursive: true, force: true });
  }

  /**
   * SIGINT, SIGTERM, SIGHUP: the first stops every bot cleanly (after `say` returns a line to
   * print, if any), the next kills them at once.
   */
  stopOnSignals(say?: () => string | undefined): void {
    let signals = 0;
    for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
      process.on(sig, () => {
        signals++;
        if (signals === 1) {
          const line = say?.();
          if (line) process.stdout.write(`${line}\n`);
          void this.fleet.stop();
        } else {
          this.fleet.killNow();
        }
      });
    }
  }

  /** 1 if a bot crashed, had to be SIGKILLed, or could not be started; else 0. */
  status(): number {
    const tally = this.fleet.tally();
    const failedToStart = this.fleet.processes.some((p) => p.pid === undefined && p.ended);
    return tally.crashed + tally.forced > 0 || failedToStart ? 1 : 0;
  }
}
