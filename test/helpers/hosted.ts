/** Bots for a BotHost under test. */
import type { Logger } from "pino";
import type { BotHost } from "../../dnabot/host.js";
import type { Config } from "../../shared/config.js";
import { seededRng } from "../../shared/random.js";

/**
 * Add `n` bots with this config to the host, in directories `${dirPrefix}0`, `${dirPrefix}1`, …,
 * bot i with the RNG seeded `seed + i` and a child of `logger`; their results go nowhere and
 * every upload is answered 200.
 */
export function addQuietBots(
  host: BotHost,
  n: number,
  opts: { config: Config; seed: number; logger: Logger; dirPrefix?: string },
): void {
  for (let i = 0; i < n; i++) {
    host.add({
      dir: `${opts.dirPrefix ?? "/bots/Bot"}${i}`,
      config: opts.config,
      rng: seededRng(opts.seed + i),
      results: { truncate: () => {}, append: () => {} },
      uploader: async () => ({ ok: true, status: 200 }),
      logger: opts.logger.child({}),
    });
  }
}
