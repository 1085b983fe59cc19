/**
 * The one polling helper of the tests. until(what, f) calls f() every `step` ms until it returns
 * something other than undefined or false, and returns that. The limit only stops a broken test;
 * it measures nothing. When it runs out, until throws `timed out after N ms waiting for <what>`
 * (`what` may be a function, read then: a program's output, say), unless `orUndefined` is set: then
 * it resolves to undefined and the test asserts what it expects of a step that may not complete.
 */
export interface UntilOptions {
  /** How long to keep polling (default 15 s). */
  ms?: number;
  /** How often (default 20 ms). */
  step?: number;
  /** On timeout resolve to undefined instead of throwing. */
  orUndefined?: boolean;
}

export type What = string | (() => string);

export function until<T>(
  what: What,
  f: () => T | undefined | false,
  opts: UntilOptions & { orUndefined: true },
): Promise<T | undefined>;
export function until<T>(what: What, f: () => T | undefined | false, opts?: number | UntilOptions): Promise<T>;
export async function until<T>(
  what: What,
  f: () => T | undefined | false,
  opts: number | UntilOptions = {},
): Promise<T | undefined> {
  const { ms = 15_000, step = 20, orUndefined = false } = typeof opts === "number" ? { ms: opts } : opts;
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) {
      if (orUndefined) return undefined;
      throw new Error(`timed out after ${ms} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await new Promise((r) => setTimeout(r, step));
  }
}
