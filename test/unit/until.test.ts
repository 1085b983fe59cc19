/** The tests' one polling helper: returns what it waited for, names it on timeout, or resolves undefined. */
import { describe, expect, it } from "vitest";
import { until } from "../helpers/until.js";

describe("until", () => {
  it("returns the first value that is not undefined or false", async () => {
    let n = 0;
    expect(await until("n to reach 3", () => (++n >= 3 ? n : false), { step: 1 })).toBe(3);
  });

  it("throws naming what it waited for, read at the timeout", async () => {
    let calls = 0;
    await expect(
      until(
        () => `the answer (${calls} calls)`,
        () => {
          calls++;
          return undefined;
        },
        { ms: 30, step: 5 },
      ),
    ).rejects.toThrow(/timed out after 30 ms waiting for the answer \(\d+ calls\)/);
  });

  it("resolves undefined on timeout with orUndefined, so a test can assert that nothing came", async () => {
    expect(await until("nothing", () => false, { ms: 30, step: 5, orUndefined: true })).toBeUndefined();
  });
});
