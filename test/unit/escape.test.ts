/**
 * printable(): hostile texts (title-setting escapes, CR overwrites, C1 CSI, bidi overrides) come
 * out visible and inert; ordinary text of any script is unchanged; the escaping is reversible.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { needsEscape, printable, safeJson } from "../../shared/escape.js";

/** Undo printable() (the test's own reference decoder). */
function unprintable(s: string): string {
  return s.replace(/\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4})/g, (_m, e: string) => {
    if (e === "\\") return "\\";
    if (e === "t") return "\t";
    if (e === "n") return "\n";
    if (e === "r") return "\r";
    return String.fromCharCode(Number.parseInt(e.slice(1), 16));
  });
}

describe("printable", () => {
  it("keeps ordinary text of any script as it is", () => {
    for (const s of ["E26CB171 7 BEAT * Beep state=asimov", "Bip — café ünïcödé 日本語 🤖", "a\uFFFDb", ""]) {
      expect(printable(s)).toBe(s);
      expect(needsEscape(s)).toBe(false);
    }
  });

  it("escapes a title-setting sequence, a screen clear and colours visibly", () => {
    expect(printable("x \x1b]0;pwned\x07 y")).toBe("x \\x1b]0;pwned\\x07 y");
    expect(printable("\x1b[2J\x1b[H")).toBe("\\x1b[2J\\x1b[H");
    expect(printable("\x1b[31mred")).toBe("\\x1b[31mred");
  });

  it("a CR cannot draw a fake line over the real one", () => {
    const fake = "3F2A91BC 3 BEAT * Beep\r- 3F2A91BC left (killed)\n+ FAKE joined";
    const out = printable(fake);
    expect(out).toBe("3F2A91BC 3 BEAT * Beep\\r- 3F2A91BC left (killed)\\n+ FAKE joined");
    expect(out).not.toMatch(/[\r\n]/);
  });

  it("escapes DEL, C1 controls (8-bit CSI), bidi overrides, separators and lone surrogates", () => {
    expect(printable("a\x7fb")).toBe("a\\x7fb");
    expect(printable("\u009b2J\u0085")).toBe("\\x9b2J\\x85");
    expect(printable("abc\u202Edcba\u2066x\u2069")).toBe("abc\\u202edcba\\u2066x\\u2069");
    expect(printable("l\u2028p\u2029")).toBe("l\\u2028p\\u2029");
    expect(printable("s\ud800e")).toBe("s\\ud800e");
    expect(printable("\u{1F916}")).toBe("\u{1F916}"); // a surrogate pair is a character
    expect(printable("tab\there\0")).toBe("tab\\there\\x00");
  });

  it("doubles backslashes so a typed `\\x1b` cannot pass for an escaped ESC", () => {
    expect(printable("\\x1b")).toBe("\\\\x1b");
    expect(printable("\x1b")).not.toBe(printable("\\x1b"));
    expect(needsEscape(printable("\\x1b\x1b"))).toBe(false);
  });

  it("any string: the result has nothing dangerous and decodes back to the input", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const out = printable(s);
        expect(needsEscape(out)).toBe(false);
        expect(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(out)).toBe(false);
        expect(unprintable(out)).toBe(s);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("safeJson", () => {
  it("writes C1, DEL and bidi controls as \\u escapes and parses back to the same value", () => {
    const v = { text: "a\x1b[2J\u009b\u202e\x7f\r\n" };
    const json = safeJson(v);
    expect(needsEscape(json)).toBe(false);
    expect(JSON.parse(json)).toEqual(v);
  });

  it("any value round-trips", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (s) => {
        const json = safeJson({ s });
        expect(needsEscape(json)).toBe(false);
        expect(JSON.parse(json)).toEqual({ s });
      }),
    );
  });
});
