/**
 * Bot identity, derived as the original does: the top 32 bits of the MD5 digest of a random
 * 16-bit integer (as 4 big-endian bytes), in uppercase hex. The original notes that these never
 * collide for distinct integers, so two bots share an id only if they drew the same number.
 */
import { createHash } from "node:crypto";
import { type Rng, randInt } from "../shared/random.js";

/** The id for one integer in [1, 65535]. */
export function nameFor(n: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(n >>> 0);
  return createHash("md5").update(bytes).digest("hex").slice(0, 8).toUpperCase();
}

/** A fresh random id; `avoid` (the id that just collided) is never returned. */
export function newName(rng: Rng, avoid?: string): string {
  for (;;) {
    const name = nameFor(randInt(rng, 1, 65535));
    if (name !== avoid) return name;
  }
}
