/**
 * The wiring of adversarial mode (`node dnabot -rogue=MODE -rogueRate=N`): the generator of
 * rogue.ts on a raw group transport (no Channel: a rogue forges ids and numbers), paced by the
 * clock, for `lifespan` seconds or until stopped. It listens too, to learn real bots' ids and
 * numbers (the victims of rsnd and nack). It sends only where the configuration says (the
 * group on chanIface, loopback by default), like every other program.
 */
import { describeTransportError } from "../shared/cli.js";
import type { Clock, TimerId } from "../shared/clock.js";
import { parseDatagram } from "../shared/codec.js";
import type { Config } from "../shared/config.js";
import { formatFixed, t } from "../shared/i18n.js";
import type { Logger } from "../shared/log.js";
import { isBotId } from "../shared/protocol.js";
import type { Rng } from "../shared/random.js";
import type { Transport } from "../shared/transport.js";
import { dueCount, isRogueMode, RogueGenerator, VictimTable } from "./rogue.js";

/** Most datagrams sent in one turn of the event loop (rate 0) or one 10 ms tick. */
export const ROGUE_BATCH = 256;
const TICK_MS = 10;

export interface RogueDeps {
  transport: Transport;
  clock: Clock;
  rng: Rng;
  logger: Logger;
  /** Runs fn soon, letting I/O in (main: setImmediate); default a 0 ms timer of the clock. */
  defer?: (fn: () => void) => void;
}

export interface RogueStats {
  sent: number;
  /** Send errors the transport reported (ENOBUFS under a flood, ...). */
  errors: number;
  seconds: number;
  victims: number;
}

export class Rogue {
  private readonly gen: RogueGenerator;
  private readonly victims = new VictimTable();
  private timer: TimerId | undefined;
  private startedAt = 0;
  private stopped = false;
  private resolveFinished: (s: RogueStats) => void = () => {};
  readonly finished: Promise<RogueStats>;
  readonly stats: RogueStats = { sent: 0, errors: 0, seconds: 0, victims: 0 };
  private readonly onDatagram = (bytes: Buffer): void => {
    const r = parseDatagram(bytes, this.config.PKT_SIZE);
    if (r.ok && r.msg.seq > 0 && isBotId(r.msg.sender)) this.victims.heard(r.msg.sender, r.msg.seq);
  };
  private readonly onWarning = (): void => {
    this.stats.errors++;
  };

  constructor(
    private readonly config: Config,
    private readonly deps: RogueDeps,
  ) {
    const mode = config.rogue;
    if (!isRogueMode(mode)) throw new Error(`not a rogue mode: ${mode}`);
    this.gen = new RogueGenerator(mode, deps.rng, config.PKT_SIZE);
    this.finished = new Promise((r) => {
      this.resolveFinished = r;
    });
  }

  start(): void {
    const { transport, clock } = this.deps;
    transport.on("datagram", this.onDatagram);
    transport.on("warning", this.onWarning);
    this.startedAt = clock.now();
    const what = { mode: this.gen.mode, rate: this.config.rogueRate, seconds: this.config.lifespan };
    this.deps.logger.warn(
      this.config.rogueRate === 0
        ? t("Rogue mode {{mode}}: sending as fast as it can for {{seconds}} s", what)
        : t("Rogue mode {{mode}}: sending at {{rate}} datagrams/s for {{seconds}} s", what),
    );
    this.timer = clock.setTimeout(() => void this.stop(), this.config.lifespan * 1000);
    this.pump();
  }

  private pump(): void {
    if (this.stopped) return;
    const { clock, transport } = this.deps;
    const elapsed = clock.now() - this.startedAt;
    // Paced, a tick may send twice its share, so rates above ROGUE_BATCH per tick are reached.
    const rate = this.config.rogueRate;
    const batch = rate > 0 ? Math.max(ROGUE_BATCH, Math.ceil((2 * rate * TICK_MS) / 1000)) : ROGUE_BATCH;
    const n = dueCount(rate, elapsed, this.stats.sent, batch);
    const victims = this.victims.victims();
    for (let i = 0; i < n; i++) transport.send(this.gen.next(victims));
    this.stats.sent += n;
    if (this.config.rogueRate === 0) {
      const defer = this.deps.defer ?? ((fn: () => void) => clock.setTimeout(fn, 0));
      defer(() => this.pump());
    } else {
      clock.setTimeout(() => this.pump(), TICK_MS);
    }
  }

  /** Stop sending, close the transport, report. Idempotent. */
  async stop(): Promise<RogueStats> {
    if (this.stopped) return this.finished;
    this.stopped = true;
    const { transport, clock, logger } = this.deps;
    if (this.timer !== undefined) clock.clearTimeout(this.timer);
    this.stats.seconds = (clock.now() - this.startedAt) / 1000;
    this.stats.victims = this.victims.size;
    transport.off("datagram", this.onDatagram);
    try {
      await transport.close();
    } catch (e) {
      logger.debug(t("transport close failed: {{error}}", { error: String(e) }));
    }
    transport.off("warning", this.onWarning);
    const s = this.stats;
    const rate = s.seconds > 0 ? Math.round(s.sent / s.seconds) : s.sent;
    // Fields for tools (npm run attack reads them from the JSON log), text for people.
    logger.warn(
      { rogue: this.gen.mode, rogueSent: s.sent, rogueSeconds: s.seconds, rogueErrors: s.errors, rogueRate: rate },
      t("Rogue mode {{mode}}: {{count}} datagrams sent in {{seconds}} s ({{rate}}/s), {{errors}} send errors", {
        mode: this.gen.mode,
        count: s.sent,
        seconds: formatFixed(s.seconds, 1),
        rate,
        errors: s.errors,
      }),
    );
    this.resolveFinished(s);
    return s;
  }
}

/** main.ts: run a rogue on the group until its lifespan ends or a signal; the exit status. */
export async function runRogueProgram(
  config: Config,
  deps: Omit<RogueDeps, "defer"> & {
    onSignal: (handler: () => void) => () => void;
    stderr: { write(s: string): unknown };
  },
): Promise<number> {
  try {
    await deps.transport.ready();
  } catch (e) {
    const message = describeTransportError(e);
    deps.logger.error(message);
    deps.stderr.write(`dnabot: ${message}\n`);
    await deps.transport.close().catch(() => undefined);
    return 1;
  }
  const rogue = new Rogue(config, { ...deps, defer: (fn) => setImmediate(fn) });
  const stopSignals = deps.onSignal(() => void rogue.stop());
  rogue.start();
  await rogue.finished;
  stopSignals();
  return 0;
}
