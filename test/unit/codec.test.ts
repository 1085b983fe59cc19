/** Wire codec: the original's format byte for byte, every rejection reason, and properties. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  afterFields,
  bodyOf,
  DEFAULT_PKT_SIZE,
  encodeLine,
  formatBody,
  formatLine,
  formatMessage,
  isPeerId,
  isTag,
  parseDatagram,
  parseLine,
  splitTags,
  withoutTag,
  withTags,
} from "../../shared/codec.js";
import { WILDCARD } from "../../shared/protocol.js";

const bytes = (s: string) => Buffer.from(s, "utf8");

describe("format", () => {
  it("writes the original's lines byte for byte", () => {
    expect(formatLine("E26CB171", 7, formatBody("BEAT", WILDCARD, ["Beep"]))).toBe("E26CB171 7 BEAT * Beep");
    expect(formatLine("HUMAN", 2, formatBody("UPLD", "*", ["results.data"]))).toBe("HUMAN 2 UPLD * results.data");
    expect(formatMessage({ sender: "HUMAN", seq: 3, opcode: "KILL", dest: "E26CB171", words: [], tags: {} })).toBe(
      "HUMAN 3 KILL E26CB171",
    );
    expect([...encodeLine("E26CB171 1 BEAT * Bip")]).toEqual([...bytes("E26CB171 1 BEAT * Bip")]);
  });
});

describe("parse", () => {
  it("reads the original's messages", () => {
    const r = parseDatagram(bytes("E26CB171 7 BEAT * All meatbags must die"));
    expect(r).toEqual({
      ok: true,
      msg: {
        sender: "E26CB171",
        seq: 7,
        opcode: "BEAT",
        dest: "*",
        words: ["All", "meatbags", "must", "die"],
        tags: {},
        text: "E26CB171 7 BEAT * All meatbags must die",
      },
    });
    const u = parseLine("HUMAN 2 UPLD * results.data");
    expect(u.ok && u.msg.words).toEqual(["results.data"]);
    const k = parseLine("HUMAN-3fa2 0 KILL E26CB171");
    expect(k.ok && [k.msg.seq, k.msg.dest, k.msg.words, k.msg.tags]).toEqual([0, "E26CB171", [], {}]);
  });

  it("keeps the line verbatim in text; the body after SENDER SEQ comes from it (RSND embeds a whole message)", () => {
    const r = parseLine("AAAA0001 0 RSND * E26CB171  7 BEAT *   Beep  ");
    expect(r.ok && r.msg.text).toBe("AAAA0001 0 RSND * E26CB171  7 BEAT *   Beep");
    expect(r.ok && bodyOf(r.msg)).toBe("RSND * E26CB171  7 BEAT *   Beep");
    expect(r.ok && r.msg.words).toEqual(["E26CB171", "7", "BEAT", "*", "Beep"]);
  });

  it("parses trailing tags once, in the codec: words before, tags after", () => {
    const r = parseLine("9F00AA11 12 EXIT * Offline now state=frankenstein reason=lifespan");
    expect(r.ok && [r.msg.words, r.msg.tags]).toEqual([
      ["Offline", "now"],
      { state: "frankenstein", reason: "lifespan" },
    ]);
    // A tag-looking word inside the text stays a word; only the trailing run is tags.
    const m = parseLine("E26CB171 3 NEWS * a=b found state=asimov");
    expect(m.ok && [m.msg.words, m.msg.tags]).toEqual([["a=b", "found"], { state: "asimov" }]);
    // Tag names an object already has are plain keys; names not present read as undefined.
    // Tags keep their wire order; a repeated key counts once, where it last stands.
    const r2 = parseLine("E26CB171 7 BEAT * Beep prior=5 state=asimov prior=6");
    expect(r2.ok && Object.entries(r2.msg.tags)).toEqual([
      ["state", "asimov"],
      ["prior", "6"],
    ]);
    const o = parseLine("E26CB171 3 BEAT * Beep constructor=1");
    expect(o.ok && [o.msg.tags.constructor, o.msg.tags.toString, o.msg.tags.hasOwnProperty]).toEqual([
      "1",
      undefined,
      undefined,
    ]);
  });

  it("accepts tabs and surrounding whitespace between fields, as Python's split() does", () => {
    const r = parseLine("\t E26CB171\t7  BEAT\t* Beep\r\n");
    expect(r.ok && [r.msg.sender, r.msg.seq, r.msg.opcode, r.msg.dest, r.msg.words]).toEqual([
      "E26CB171",
      7,
      "BEAT",
      "*",
      ["Beep"],
    ]);
  });

  const rejected: [string, string | Buffer, string][] = [
    ["fewer than 4 fields", "E26CB171 7 BEAT", "too-few-fields"],
    ["empty datagram", "", "too-few-fields"],
    ["only whitespace", " \n\t ", "too-few-fields"],
    ["negative SEQ", "E26CB171 -1 BEAT * Beep", "bad-seq"],
    ["fractional SEQ", "E26CB171 1.5 BEAT * Beep", "bad-seq"],
    ["SEQ not a number", "E26CB171 x BEAT * Beep", "bad-seq"],
    ["SEQ beyond safe integers", "E26CB171 9999999999999999 BEAT * Beep", "bad-seq"],
    ["SEQ of 17 digits", "E26CB171 12345678901234567 BEAT * Beep", "bad-seq"],
    ["sender with a bad character", "E26C/B171 1 BEAT * Beep", "bad-sender"],
    ["sender starting with -", "-E26CB171 1 BEAT * Beep", "bad-sender"],
    ["sender over 32 characters", `${"A".repeat(33)} 1 BEAT * Beep`, "bad-sender"],
    ["lower-case opcode", "E26CB171 1 beat * Beep", "bad-opcode"],
    ["five-letter opcode", "E26CB171 1 BEATS * Beep", "bad-opcode"],
    ["bad destination", "E26CB171 1 PING ** ", "bad-dest"],
    ["datagram over PKT_SIZE", `E26CB171 1 BEAT * ${"x".repeat(DEFAULT_PKT_SIZE)}`, "oversize"],
  ];
  it.each(rejected)("rejects %s", (_what, input, reason) => {
    const r = typeof input === "string" ? parseDatagram(bytes(input)) : parseDatagram(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it("accepts exactly PKT_SIZE bytes and rejects one more, for any PKT_SIZE", () => {
    const head = "E26CB171 1 BEAT * ";
    const fit = bytes(head + "x".repeat(100 - head.length));
    expect(parseDatagram(fit, 100).ok).toBe(true);
    const over = bytes(head + "x".repeat(101 - head.length));
    const r = parseDatagram(over, 100);
    expect(r.ok === false && r.reason).toBe("oversize");
    // The reason's text is cut at PKT_SIZE, so an attacker's megabyte never reaches a log whole.
    expect(r.ok === false && Buffer.byteLength(r.text)).toBeLessThanOrEqual(100);
  });

  it("replaces invalid UTF-8 instead of failing", () => {
    const raw = Buffer.concat([bytes("E26CB171 3 NEWS * caf"), Buffer.from([0xc3, 0x28, 0xff]), bytes(" ok")]);
    const r = parseDatagram(raw);
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.msg.words[0]).toContain("\uFFFD");
      expect(r.msg.words[0]?.startsWith("caf")).toBe(true);
      expect(r.msg.words[1]).toBe("ok");
    }
    const badSender = parseDatagram(Buffer.concat([Buffer.from([0xff, 0xfe]), bytes(" 1 BEAT * x")]));
    expect(badSender.ok === false && badSender.reason).toBe("bad-sender");
  });

  it("decodes French text (multi-byte UTF-8) unchanged", () => {
    const r = parseDatagram(bytes("E26CB171 4 NEWS * Découverte state=asimov"));
    expect(r.ok && [r.msg.words, r.msg.tags]).toEqual([["Découverte"], { state: "asimov" }]);
  });
});

describe("peer ids", () => {
  it("accepts bot ids, HUMAN and HUMAN-xxxx; refuses the wildcard and oddities", () => {
    for (const id of ["E26CB171", "HUMAN", "HUMAN-3fa2", "a_b"]) expect(isPeerId(id)).toBe(true);
    for (const id of ["*", "", "-x", "a b", "é", "A".repeat(33)]) expect(isPeerId(id)).toBe(false);
  });
});

describe("tags", () => {
  it("splits trailing key=value tags off the human text", () => {
    expect(splitTags(["Offline", "state=asimov", "reason=killed"])).toEqual({
      words: ["Offline"],
      tags: { state: "asimov", reason: "killed" },
    });
    expect(splitTags(["results.data", "port=8001"])).toEqual({ words: ["results.data"], tags: { port: "8001" } });
    // Only trailing ones: a tag-looking word inside the text stays text.
    expect(splitTags(["a=b", "text"])).toEqual({ words: ["a=b", "text"], tags: {} });
    // The last occurrence of a repeated key is the one closest to the end: the first one kept wins.
    expect(splitTags(["x", "state=asimov", "state=frankenstein"]).tags.state).toBe("frankenstein");
    expect(splitTags(["x", "toString=1", "constructor=2"]).tags).toEqual({ toString: "1", constructor: "2" });
  });

  it("withoutTag removes one tag from tags and text, and nothing else", () => {
    const r = parseLine("AAAA0001 1 BEAT * Beep  state=asimov prior=3");
    if (!r.ok) throw new Error("parse");
    const m = withoutTag(r.msg, "prior");
    expect([m.text, m.words, m.tags]).toEqual(["AAAA0001 1 BEAT * Beep  state=asimov", ["Beep"], { state: "asimov" }]);
    expect(withoutTag(r.msg, "port")).toBe(r.msg);
    // The token itself, not a longer one that ends the same way.
    const q = parseLine("AAAA0001 1 BEAT * xprior=3 prior=3");
    expect(q.ok && withoutTag(q.msg, "prior").text).toBe("AAAA0001 1 BEAT * xprior=3");
    const p = parseLine("AAAA0001 1 BEAT * Beep prior=3 xprior=3");
    expect(p.ok && withoutTag(p.msg, "prior").text).toBe("AAAA0001 1 BEAT * Beep xprior=3");
  });

  it("afterFields gives the text after n fields verbatim", () => {
    expect(afterFields("A 0 RSND B  7 BEAT *  Beep", 5)).toBe("BEAT *  Beep");
    expect(afterFields(" \tA 0 X", 2)).toBe("X");
    expect(afterFields("A 0", 2)).toBeUndefined();
    expect(afterFields("A 0 ", 2)).toBeUndefined();
  });

  it("appends tags in order and skips empty ones", () => {
    expect(withTags(["Beep"], { state: "asimov", reason: undefined, port: 8001, x: "" })).toEqual([
      "Beep",
      "state=asimov",
      "port=8001",
    ]);
  });
});

// --- Properties -------------------------------------------------------------------------------

const idChar = fc.constantFrom(..."ABCDEFabcdef0123456789_-".split(""));
const peerId = fc
  .tuple(fc.constantFrom(..."ABCDEF0123456789HUMN".split("")), fc.array(idChar, { maxLength: 31 }))
  .map(([first, rest]) => first + rest.join(""));
const opcode = fc.array(fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZ".split("")), { minLength: 4, maxLength: 4 });
/** Argument words: any non-whitespace text, including non-ASCII. */
const word = fc
  .string({ unit: "grapheme", minLength: 1, maxLength: 12 })
  .filter((s) => !/\s/.test(s) && s !== "" && !isTag(s));

describe("properties", () => {
  it("format → parse round-trips every well-formed message", () => {
    fc.assert(
      fc.property(
        peerId,
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        opcode,
        fc.oneof(fc.constant(WILDCARD), peerId),
        fc.array(word, { maxLength: 8 }),
        (sender, seq, op, dest, args) => {
          const line = formatLine(sender, seq, formatBody(op.join(""), dest, args));
          const r = parseDatagram(encodeLine(line), 1 << 16);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.msg).toMatchObject({ sender, seq, opcode: op.join(""), dest });
          expect([...r.msg.words, ...Object.entries(r.msg.tags).map(([k, v]) => `${k}=${v}`)]).toEqual(args);
          expect(formatMessage(r.msg)).toBe(line);
          expect(bodyOf(r.msg)).toBe(formatBody(op.join(""), dest, args));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("parsing arbitrary bytes never throws and always gives a message or a known reason", () => {
    const reasons = new Set(["oversize", "too-few-fields", "bad-sender", "bad-seq", "bad-opcode", "bad-dest"]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), fc.integer({ min: 1, max: 1100 }), (data, pkt) => {
        const r = parseDatagram(Buffer.from(data), pkt);
        if (r.ok) expect(Buffer.byteLength(r.msg.text)).toBeGreaterThan(0);
        else expect(reasons.has(r.reason)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("parsing arbitrary text never throws", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 300 }), (s) => {
        expect(() => parseLine(s)).not.toThrow();
      }),
      { numRuns: 1000 },
    );
  });

  it("tags survive a round trip through the wire", () => {
    // Names an object already has (toString, constructor) are tags like any other.
    const tagKey = fc.oneof(fc.stringMatching(/^[a-z][a-zA-Z]{0,8}$/), fc.constantFrom("toString", "constructor"));
    const tagValue = fc.stringMatching(/^[A-Za-z0-9.]{1,10}$/);
    fc.assert(
      fc.property(fc.dictionary(tagKey, tagValue, { maxKeys: 4 }), (tags) => {
        const line = formatLine("E26CB171", 1, formatBody("BEAT", "*", withTags(["Beep"], tags)));
        const r = parseLine(line);
        expect(r.ok).toBe(true);
        if (r.ok) expect({ words: r.msg.words, tags: r.msg.tags }).toEqual({ words: ["Beep"], tags });
      }),
    );
  });
});
