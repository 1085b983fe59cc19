/**
 * Injected randomness. A seeded generator (sfc32, seeded through splitmix32) makes a bot's
 * choices repeatable with -seed=N; without a seed we draw the seed from crypto so bots started
 * in the same millisecond never run in lockstep.
 */
import { randomInt } from "node:crypto";

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
}

export function seededRng(seed: number): Rng {
  let s = seed >>> 0;
  const split = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = split();
  let b = split();
  let c = split();
  let d = split();
  return {
    next(): number {
      const t = (((a + b) >>> 0) + d) >>> 0;
      d = (d + 1) >>> 0;
      a = b ^ (b >>> 9);
      b = (c + (c << 3)) >>> 0;
      c = ((c << 21) | (c >>> 11)) >>> 0;
      c = (c + t) >>> 0;
      return t / 4294967296;
    },
  };
}

export function randomSeed(): number {
  return randomInt(0, 2 ** 32 - 1);
}

export function makeRng(seed?: number): Rng {
  return seededRng(seed ?? randomSeed());
}

/** Uniform integer in [lo, hi] inclusive. */
export function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng.next() * (hi - lo + 1));
}

export function choice<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError("choice from empty list");
  return items[Math.floor(rng.next() * items.length)] as T;
}
