/** Group keys, the pure parts: keyring, MAC trailer, replay guard, GroupAuth. */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type ChanMessage, parseLine } from "../../shared/codec.js";
import { GroupAuth, refusedSummary, stripTrailer } from "../../shared/keys/auth.js";
import {
  generateKey,
  KEY_ENV,
  KeyError,
  Keyring,
  keyErrorText,
  loadKeyring,
  MAX_KEYS,
  readKeyFile,
} from "../../shared/keys/keyring.js";
import { AUTH_OVERHEAD, MAC_BYTES, newSessionId, signLine, splitTrailer, verifyMac } from "../../shared/keys/mac.js";
import { RECENT, ReplayGuard, SEQ_WINDOW } from "../../shared/keys/replay.js";
import { tempDir } from "../helpers/net.js";

const K1 = Buffer.alloc(32, 1);
const K2 = Buffer.alloc(32, 2);
const K3 = Buffer.alloc(32, 3);
const b64 = (k: Buffer): string => k.toString("base64");

function msg(line: string): ChanMessage {
  const r = parseLine(line);
  if (!r.ok) throw new Error(`does not parse: ${line} (${r.reason})`);
  return r.msg;
}

describe("keyring", () => {
  let dir: string;
  let cleanup: () => void;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir("keys-"));
  });
  afterEach(() => cleanup());

  function keyFile(text: string, mode = 0o600): string {
    const p = join(dir, "group.key");
    writeFileSync(p, text, { mode });
    chmodSync(p, mode);
    return p;
  }

  it("reads base64 keys one per line, the first signs, all verify, comments and blanks ignored", () => {
    const ring = readKeyFile(keyFile(`# group key\n${b64(K1)}\n\n${b64(K2)}  # old one\n`));
    expect(ring.size).toBe(2);
    expect(ring.signing.equals(K1)).toBe(true);
    expect(ring.verifying.map((k) => k.equals(K1) || k.equals(K2))).toEqual([true, true]);
  });

  it("refuses a key file other users can read or write, naming the file and the cure", () => {
    for (const mode of [0o644, 0o640, 0o604, 0o620]) {
      const p = keyFile(`${b64(K1)}\n`, mode);
      try {
        readKeyFile(p);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(KeyError);
        expect((e as KeyError).problem).toBe("readable-by-others");
        expect((e as KeyError).where).toBe(p);
        expect((e as KeyError).mode).toBe(mode);
      }
    }
    expect(readKeyFile(keyFile(`${b64(K1)}\n`, 0o400)).size).toBe(1);
  });

  it("refuses missing files, directories, empty rings, bad base64, short, long and too many keys, never quoting a key", () => {
    const problem = (f: () => unknown): string => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(KeyError);
        return (e as KeyError).problem;
      }
      return "accepted";
    };
    expect(problem(() => readKeyFile(join(dir, "nope")))).toBe("missing");
    const sub = join(dir, "sub");
    mkdirSync(sub, { mode: 0o700 });
    expect(problem(() => readKeyFile(sub))).toBe("not-a-file");
    expect(problem(() => readKeyFile(keyFile("# nothing\n\n")))).toBe("empty");
    expect(problem(() => Keyring.parse("not*base64!", "x"))).toBe("bad-base64");
    expect(problem(() => Keyring.parse(b64(Buffer.alloc(15, 1)), "x"))).toBe("too-short");
    expect(problem(() => Keyring.parse(b64(Buffer.alloc(65, 1)), "x"))).toBe("too-long");
    const many = Array.from({ length: MAX_KEYS + 1 }, (_, i) => b64(Buffer.alloc(32, i + 1))).join("\n");
    expect(problem(() => Keyring.parse(many, "x"))).toBe("too-many");
    expect(problem(() => readKeyFile(keyFile("A".repeat(20_000))))).toBe("too-large");
    const secret = b64(Buffer.alloc(15, 7));
    try {
      Keyring.parse(`${b64(K1)}\n${secret}`, "f");
    } catch (e) {
      expect((e as Error).message).toBe("f:2: too-short");
      expect((e as Error).message).not.toContain(secret);
    }
  });

  it("every key problem reads as one line naming the file or line, never the key", () => {
    const secret = b64(Buffer.alloc(15, 9));
    const problems: KeyError[] = [];
    for (const f of [
      () => readKeyFile(join(dir, "nope")),
      () => readKeyFile(keyFile(secret, 0o644)),
      () => Keyring.parse(secret, "MCASTBOTS_KEYS"),
      () => Keyring.parse("", "MCASTBOTS_KEYS"),
      () => Keyring.parse(`${b64(K1)}\n!!${secret}`, "k.key"),
    ]) {
      try {
        f();
      } catch (e) {
        problems.push(e as KeyError);
      }
    }
    const lines = problems.map(keyErrorText);
    expect(lines).toHaveLength(5);
    for (const l of lines) {
      expect(l).not.toContain("\n");
      expect(l).not.toContain(secret);
    }
    expect(lines[1]).toContain("chmod 600");
    expect(lines[1]).toContain("644");
    expect(lines[2]).toContain("MCASTBOTS_KEYS line 1");
    expect(lines[4]).toContain("k.key line 2");
  });

  it("never shows a key when logged, inspected or serialised", () => {
    const ring = Keyring.of(K1, K2);
    for (const shown of [inspect(ring), JSON.stringify(ring), String(ring), `${ring}`]) {
      expect(shown).not.toContain(b64(K1));
      expect(shown).not.toContain(K1.toString("hex"));
      expect(shown).toMatch(/[0-9a-f]{8}/);
    }
    expect(ring.fingerprints()).toHaveLength(2);
    expect(ring.fingerprints()[0]).not.toBe(ring.fingerprints()[1]);
  });

  it("takes the keys from MCASTBOTS_KEYS (commas or spaces) when no key file is named; the file wins", () => {
    expect(loadKeyring("", {})).toBeUndefined();
    expect(loadKeyring("", { [KEY_ENV]: "  " })).toBeUndefined();
    const fromEnv = loadKeyring("", { [KEY_ENV]: `${b64(K2)},${b64(K1)}` });
    expect(fromEnv?.size).toBe(2);
    expect(fromEnv?.signing.equals(K2)).toBe(true);
    const fromFile = loadKeyring(keyFile(b64(K3)), { [KEY_ENV]: b64(K2) });
    expect(fromFile?.signing.equals(K3)).toBe(true);
  });

  it("-keygen keys are 32 random bytes of base64 that a ring accepts", () => {
    const a = generateKey();
    const b = generateKey();
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64")).toHaveLength(32);
    expect(Keyring.parse(`${a}\n${b}`, "gen").size).toBe(2);
    // base64url spelling works too
    expect(
      Keyring.parse(Buffer.from(a, "base64").toString("base64url"), "gen").signing.equals(Buffer.from(a, "base64")),
    ).toBe(true);
  });
});

describe("MAC trailer", () => {
  const SID = newSessionId();
  const line = "E26CB171 7 BEAT * Beep state=asimov prior=3";

  it("appends ts, sid and a 16-byte MAC as the last tags, within AUTH_OVERHEAD bytes", () => {
    const signed = signLine(line, K1, 1_763_900_000_123, SID);
    expect(signed.startsWith(`${line} ts=1763900000123 sid=${SID} mac=`)).toBe(true);
    expect(Buffer.byteLength(signed) - Buffer.byteLength(line)).toBeLessThanOrEqual(AUTH_OVERHEAD);
    expect(Buffer.byteLength(signLine(line, K1, 9_999_999_999_999, SID)) - line.length).toBe(AUTH_OVERHEAD);
    const tr = splitTrailer(signed);
    expect(tr.kind).toBe("signed");
    if (tr.kind !== "signed") return;
    expect(tr.line).toBe(line);
    expect(tr.ts).toBe(1_763_900_000_123);
    expect(tr.sid).toBe(SID);
    expect(tr.mac).toHaveLength(MAC_BYTES);
    expect(tr.trailer).toBe(signed.slice(line.length + 1));
    expect(verifyMac([K1], tr.signed, tr.mac)).toBe(0);
    expect(verifyMac([K2, K1], tr.signed, tr.mac)).toBe(1);
    expect(verifyMac([K2], tr.signed, tr.mac)).toBe(-1);
    // A peer without the key parses it as an ordinary message with three more tags.
    const m = msg(signed);
    expect(Object.keys(m.tags).slice(-3)).toEqual(["ts", "sid", "mac"]);
  });

  it("tells a missing trailer from a malformed one", () => {
    const signed = signLine(line, K1, 1000, SID);
    expect(splitTrailer(line).kind).toBe("none");
    expect(splitTrailer(`${line} mac=x more`).kind).toBe("none");
    expect(splitTrailer(signed.slice(0, -1)).kind).toBe("malformed"); // truncated MAC
    expect(splitTrailer(signed.replace(" sid=", "  sid=")).kind).toBe("malformed");
    expect(splitTrailer(signed.replace(/ ts=\d+/, "")).kind).toBe("malformed");
    expect(splitTrailer(signed.replace(/ts=\d+/, "ts=12345678901234567")).kind).toBe("malformed");
    // The last base64url character of 16 bytes has 4 unused bits: other spellings are refused.
    const last = signed.at(-1) as string;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const idx = alphabet.indexOf(last);
    const twin = alphabet[(idx & ~15) | ((idx + 1) & 15)] as string;
    const respelt = signed.slice(0, -1) + twin;
    expect(Buffer.from(respelt.slice(-22), "base64url").equals(Buffer.from(signed.slice(-22), "base64url"))).toBe(true);
    expect(splitTrailer(respelt).kind).toBe("malformed");
  });
});

describe("replay guard", () => {
  const T0 = 1_000_000;
  const guard = (over: Partial<ConstructorParameters<typeof ReplayGuard>[0]> = {}) =>
    new ReplayGuard({ startedAt: T0, windowMs: 10_000, repairAgeMs: 60_000, ownSid: "OWNsession0", ...over });

  it("refuses the future, anything before our start, and anything older than the window", () => {
    const g = guard();
    const now = T0 + 100_000;
    expect(g.admit("A", "sessionAAAA", 1, now + 10_001, "m1", now)).toBe("future");
    expect(g.admit("A", "sessionAAAA", 1, now + 10_000, "m1", now)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 2, now - 10_001, "m2", now)).toBe("too-old");
    expect(g.admit("A", "sessionAAAA", 2, now - 10_001, "m2", now, true)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 3, now - 70_001, "m3", now, true)).toBe("too-old");
    const young = guard();
    expect(young.admit("A", "sessionAAAA", 1, T0 - 1, "m", T0 + 500)).toBe("before-start");
    expect(young.admit("A", "sessionAAAA", 1, T0 - 1, "m", T0 + 500, true)).toBe("before-start");
    expect(young.admit("A", "sessionAAAA", 1, T0, "m", T0 + 500)).toBe("ok");
  });

  it("refuses a sequenced message seen before in its session, in any order, and our own session", () => {
    const g = guard();
    const now = T0 + 5000;
    for (const seq of [5, 3, 9, 4]) expect(g.admit("A", "sessionAAAA", seq, now, "x", now)).toBe("ok");
    for (const seq of [5, 3, 9, 4]) expect(g.admit("A", "sessionAAAA", seq, now, "x", now)).toBe("replay");
    // Same numbers from another session (a restart) or another sender are new.
    expect(g.admit("A", "sessionBBBB", 5, now, "x", now)).toBe("ok");
    expect(g.admit("B", "sessionAAAA", 5, now, "x", now)).toBe("ok");
    expect(g.admit("A", "OWNsession0", 77, now, "x", now)).toBe("replay");
    // Far ahead, then the window slides: numbers too far below are refused, recent gaps fill.
    expect(g.admit("A", "sessionAAAA", 9 + SEQ_WINDOW + 10, now, "x", now)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 10, now, "x", now)).toBe("replay");
    expect(g.admit("A", "sessionAAAA", 9 + SEQ_WINDOW + 9, now, "x", now)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 9 + SEQ_WINDOW + 9, now, "x", now)).toBe("replay");
    // Within the window after a slide, bits of numbers never seen are clear.
    expect(g.admit("A", "sessionAAAA", 9 + SEQ_WINDOW + 200, now, "x", now)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 9 + SEQ_WINDOW + 100, now, "x", now)).toBe("ok");
  });

  it("refuses an unsequenced datagram whose MAC was seen, and anything older than those forgotten", () => {
    const g = guard();
    const now = T0 + 5000;
    expect(g.admit("A", "sessionAAAA", 0, now, "mac-1", now)).toBe("ok");
    expect(g.admit("A", "sessionAAAA", 0, now, "mac-1", now)).toBe("replay");
    expect(g.admit("A", "sessionAAAA", 0, now, "mac-2", now)).toBe("ok");
    for (let i = 0; i < RECENT; i++) expect(g.admit("A", "sessionAAAA", 0, now + 1 + i, `n${i}`, now)).toBe("ok");
    // mac-1 and mac-2 (ts = now) were forgotten: their time is now refused, even with the MAC unseen.
    expect(g.admit("A", "sessionAAAA", 0, now, "mac-1", now)).toBe("replay");
    expect(g.admit("A", "sessionAAAA", 0, now, "mac-3", now)).toBe("replay");
    expect(g.admit("A", "sessionAAAA", 0, now + 1000, "mac-4", now)).toBe("ok");
  });

  it("caps the sessions it tracks, and an evicted session's past stays refused", () => {
    const g = guard({ maxSessions: 3 });
    const now = T0 + 5000;
    expect(g.admit("A", "sessionAAAA", 1, now, "x", now)).toBe("ok");
    expect(g.admit("B", "sessionBBBB", 1, now + 1, "x", now)).toBe("ok");
    expect(g.admit("C", "sessionCCCC", 1, now + 2, "x", now)).toBe("ok");
    expect(g.admit("D", "sessionDDDD", 1, now + 3, "x", now)).toBe("ok");
    expect(g.size).toBe(3);
    expect(g.stats.evicted).toBe(1);
    // A's replay: A is unknown now, but its timestamp is not newer than what was evicted.
    expect(g.admit("A", "sessionAAAA", 1, now, "x", now)).toBe("replay");
    expect(g.admit("E", "sessionEEEE", 1, now + 10, "x", now)).toBe("ok");
  });

  it("forgets sessions once nothing of theirs could pass the time checks", () => {
    const g = guard();
    const now = T0 + 5000;
    g.admit("A", "sessionAAAA", 1, now, "x", now);
    const later = now + 2 * 10_000 + 60_000 + 1001 + 50_000;
    expect(g.admit("B", "sessionBBBB", 1, later, "x", later)).toBe("ok");
    expect(g.size).toBe(1);
    expect(g.stats.expired).toBe(1);
    // and a replay of A's message is refused by its age anyway
    expect(g.admit("A", "sessionAAAA", 1, now, "x", later, true)).toBe("too-old");
  });
});

describe("GroupAuth", () => {
  let wall = 1_763_900_000_000;
  const clock = () => wall;
  const auth = (ring: Keyring, over: Partial<ConstructorParameters<typeof GroupAuth>[0]> = {}) =>
    new GroupAuth({ ring, wallClock: clock, ...over });

  it("a signed message opens verified, without its trailer, keeping the trailer for resends", () => {
    const a = auth(Keyring.of(K1));
    const b = auth(Keyring.of(K1));
    const line = "HUMAN-0001 4 UPLD * results.data port=8001";
    const sent = a.sign(line);
    wall += 1;
    const o = b.open(msg(sent));
    expect(o.ok).toBe(true);
    if (!o.ok) return;
    expect(o.msg.verified).toBe(true);
    expect(o.msg.text).toBe(line);
    expect([o.msg.words, o.msg.tags]).toEqual([["results.data"], { port: "8001" }]);
    expect(o.msg.auth).toBe(sent.slice(line.length + 1));
    expect(b.stats.verified).toBe(1);
    expect(b.isVerifiedSender("HUMAN-0001")).toBe(true);
  });

  it("refuses forged, altered, truncated, replayed and wrongly keyed KILL, UPLD, RSET, EXIT and RSND, counting each reason", () => {
    const sup = auth(Keyring.of(K1));
    const bot = auth(Keyring.of(K1));
    const stranger = auth(Keyring.of(K2));
    const lines = [
      "HUMAN-0001 1 KILL *",
      "HUMAN-0001 2 UPLD 0A1B2C3D results.data port=8001",
      "HUMAN-0001 3 RSET *",
      "0A1B2C3D 9 EXIT * Offline state=asimov reason=killed",
      "HUMAN-0001 0 RSND 0A1B2C3D 9 EXIT * Offline state=asimov reason=killed",
    ];
    for (const line of lines) {
      const good = sup.sign(line);
      const refusedAs = (text: string) => {
        const o = bot.open(msg(text));
        return o.ok ? "accepted" : o.reason;
      };
      expect(refusedAs(line)).toBe("unsigned"); // forged: no MAC at all
      expect(refusedAs(stranger.sign(line))).toBe("bad-mac"); // another group's key
      expect(refusedAs(good.replace(/ \S+$/, (m) => m.slice(0, -3)))).toBe("bad-trailer"); // truncated
      expect(refusedAs(good.replace(line, line.replace("*", "FFFFFFFF").replace("0A1B2C3D", "FFFFFFFF")))).toBe(
        "bad-mac",
      ); // altered destination
      expect(refusedAs(good.replace(/ts=(\d+)/, (_m, d: string) => `ts=${Number(d) + 1}`))).toBe("bad-mac");
      expect(refusedAs(good)).toBe("accepted");
      expect(refusedAs(good)).toBe("replay"); // the same datagram again
    }
    expect(bot.stats.refusedByReason).toEqual({ unsigned: 5, "bad-mac": 15, "bad-trailer": 5, replay: 5 });
    expect(bot.stats.refused).toBe(30);
    expect(refusedSummary(bot.stats.refusedByReason)).toBe("unsigned 5, bad-trailer 5, bad-mac 15, replay 5");
  });

  it("a KILL captured before a bot restarted is refused by the restarted bot, and later ones by age", () => {
    const sup = auth(Keyring.of(K1));
    const kill = sup.sign("HUMAN-0001 5 KILL 0A1B2C3D");
    wall += 2000;
    const restarted = auth(Keyring.of(K1));
    const o = restarted.open(msg(kill));
    expect(o.ok ? "accepted" : o.reason).toBe("before-start");
    // A bot that was already running but never got it, 11 s later: too old.
    const running = auth(Keyring.of(K1));
    const kill2 = sup.sign("HUMAN-0001 6 KILL 0A1B2C3D");
    wall += 11_000;
    const o2 = running.open(msg(kill2));
    expect(o2.ok ? "accepted" : o2.reason).toBe("too-old");
  });

  it("rotation: old+new in every ring, then signing with new, then old removed: nothing is lost", () => {
    const old = Keyring.of(K1);
    const both = Keyring.of(K1, K2);
    const bothNewFirst = Keyring.of(K2, K1);
    const fresh = Keyring.of(K2);
    // Each step changes one peer at a time; every pair present at once must understand each other.
    const steps: Keyring[][] = [
      [old, old],
      [both, old],
      [both, both],
      [bothNewFirst, both],
      [bothNewFirst, bothNewFirst],
      [fresh, bothNewFirst],
      [fresh, fresh],
    ];
    let seq = 1;
    let lost = 0;
    let byOld = 0;
    for (const [supRing, botRing] of steps) {
      const sup = auth(supRing as Keyring);
      const bot = auth(botRing as Keyring);
      for (const peer of [
        [sup, bot],
        [bot, sup],
      ] as const) {
        wall += 1;
        const o = peer[1].open(msg(peer[0].sign(`HUMAN-0001 ${seq++} KILL *`)));
        if (!o.ok) lost++;
      }
      byOld += bot.stats.verifiedByOldKey + sup.stats.verifiedByOldKey;
    }
    expect(lost).toBe(0);
    expect(byOld).toBeGreaterThan(0);
    // A step skipped (old-only and new-only at once) is refused: the procedure matters.
    const o = auth(fresh).open(msg(auth(old).sign("HUMAN-0001 99 KILL *")));
    expect(o.ok ? "accepted" : o.reason).toBe("bad-mac");
  });

  it("acceptUnsigned lets unsigned sequenced messages through marked unverified, but not SEQ 0 nor a verified member's id", () => {
    const sup = auth(Keyring.of(K1), { acceptUnsigned: true });
    const bot = auth(Keyring.of(K1));
    const o1 = sup.open(msg("E26CB171 3 BEAT * Beep"));
    expect(o1.ok && o1.msg.verified).toBe(false);
    expect(sup.open(msg("E26CB171 0 NACK 0A1B2C3D 4")).ok).toBe(false);
    wall += 1;
    expect(sup.open(msg(bot.sign("0A1B2C3D 1 BEAT * Beep state=asimov"))).ok).toBe(true);
    const spoof = sup.open(msg("0A1B2C3D 2 EXIT * Offline state=asimov reason=killed"));
    expect(spoof.ok ? "accepted" : spoof.reason).toBe("unsigned");
    expect(sup.stats.unsignedAccepted).toBe(1);
  });

  it("an RSND's embedded copy is checked with the original's MAC, and may be older than the window", () => {
    const origin = auth(Keyring.of(K1));
    const holder = auth(Keyring.of(K1));
    const rcv = auth(Keyring.of(K1));
    const original = origin.sign("0A1B2C3D 9 EXIT * Offline state=asimov reason=killed");
    wall += 30_000;
    const inner = msg(original);
    expect(rcv.open(inner).ok).toBe(false); // as a direct datagram, too old
    const r = rcv.open(inner, true);
    expect(r.ok && r.msg.verified).toBe(true);
    // Not taken by the reliability layer (it had not asked for it yet): the same copy still passes.
    expect(rcv.open(inner, true).ok).toBe(true);
    // Taken: from then on the same copy, or the original datagram, is a replay.
    if (r.ok) rcv.confirmCopy(r.msg);
    expect(rcv.open(inner, true).ok).toBe(false);
    wall -= 25_000;
    const direct = rcv.open(inner);
    expect(direct.ok ? "accepted" : direct.reason).toBe("replay");
    wall += 25_000;
    // A copy whose body was altered by the resender fails.
    const altered = msg(original.replace("reason=killed", "reason=lifespan"));
    const r2 = auth(Keyring.of(K1)).open(altered, true);
    expect(r2.ok ? "accepted" : r2.reason).toBe("bad-mac");
    // The resender's own signature covers the whole RSND, the copy included.
    const rsnd = holder.sign(`HUMAN-0001 0 RSND 0A1B2C3D 9 ${original.slice("0A1B2C3D 9 ".length)}`);
    const outer = rcv.open(msg(rsnd));
    expect(outer.ok).toBe(true);
    if (outer.ok) expect(outer.msg.text.endsWith(inner.text.split(" ").slice(-3).join(" "))).toBe(true);
  });

  it("opening keeps the words and the message's own tags, even tags named like the trailer's", () => {
    const a = auth(Keyring.of(K1));
    const b = auth(Keyring.of(K1));
    const plain = a.sign("0A1B2C3D 1 BEAT * All meatbags must die state=frankenstein prior=0");
    const own = a.sign("0A1B2C3D 2 NEWS * Discovery ts=5 mac=x state=asimov");
    wall += 1;
    const o1 = b.open(msg(plain));
    const o2 = b.open(msg(own));
    expect(o1.ok && [o1.msg.words, { ...o1.msg.tags }, o1.msg.text]).toEqual([
      ["All", "meatbags", "must", "die"],
      { state: "frankenstein", prior: "0" },
      "0A1B2C3D 1 BEAT * All meatbags must die state=frankenstein prior=0",
    ]);
    const line1 = "0A1B2C3D 1 BEAT * All meatbags must die state=frankenstein prior=0";
    expect(o1.ok && o1.msg).toEqual(o1.ok && { ...msg(line1), verified: true, auth: o1.msg.auth });
    expect(o2.ok && [o2.msg.words, { ...o2.msg.tags }]).toEqual([
      ["Discovery"],
      { ts: "5", mac: "x", state: "asimov" },
    ]);
    expect(o2.ok && o2.msg).toEqual(
      o2.ok && { ...msg("0A1B2C3D 2 NEWS * Discovery ts=5 mac=x state=asimov"), verified: true, auth: o2.msg.auth },
    );
  });

  it("without a key, a trailer is only taken off (unverified), and kept for resends", () => {
    const signed = auth(Keyring.of(K1)).sign("E26CB171 7 BEAT * Beep state=asimov prior=3");
    const m = stripTrailer(msg(signed));
    expect(m.text).toBe("E26CB171 7 BEAT * Beep state=asimov prior=3");
    expect(m.verified).toBeUndefined();
    expect(m.auth).toMatch(/^ts=\d+ sid=\S{11} mac=\S{22}$/);
    const plain = msg("E26CB171 7 BEAT * Beep");
    expect(stripTrailer(plain)).toBe(plain);
  });

  it("signing timestamps never go backwards when the wall clock steps back", () => {
    const a = auth(Keyring.of(K1));
    const t1 = splitTrailer(a.sign("A 1 BEAT *"));
    wall -= 5000;
    const t2 = splitTrailer(a.sign("A 2 BEAT *"));
    expect(t1.kind === "signed" && t2.kind === "signed" && t2.ts >= t1.ts).toBe(true);
    wall += 5000;
  });
});

describe("GroupAuth, properties", () => {
  const line = fc
    .tuple(
      fc.constantFrom("HUMAN-0001", "0A1B2C3D", "E26CB171"),
      fc.integer({ min: 0, max: 1e6 }),
      fc.constantFrom("KILL", "UPLD", "RSET", "EXIT", "RSND", "BEAT", "NACK"),
      fc.constantFrom("*", "0A1B2C3D"),
      fc.array(fc.stringMatching(/^[!-~]{1,12}$/), { maxLength: 6 }),
    )
    .map(([s, q, o, d, a]) => [s, String(q), o, d, ...a].join(" "));

  it("any change to a signed datagram (one character replaced, inserted, removed, or a cut) is refused", () => {
    fc.assert(
      fc.property(
        line,
        fc.nat(),
        fc.integer({ min: 33, max: 126 }),
        fc.constantFrom("set", "insert", "delete", "cut"),
        (l, at, code, how) => {
          const wall = 1_763_900_000_000;
          const signer = new GroupAuth({ ring: Keyring.of(K1), wallClock: () => wall });
          const receiver = new GroupAuth({ ring: Keyring.of(K1), wallClock: () => wall });
          const good = signer.sign(l);
          const i = at % good.length;
          const ch = String.fromCharCode(code);
          const bad =
            how === "set"
              ? good.slice(0, i) + ch + good.slice(i + 1)
              : how === "insert"
                ? good.slice(0, i) + ch + good.slice(i)
                : how === "delete"
                  ? good.slice(0, i) + good.slice(i + 1)
                  : good.slice(0, Math.max(1, i));
          fc.pre(bad !== good);
          const parsed = parseLine(bad);
          // What no longer parses is dropped before the key is even consulted.
          if (!parsed.ok) return true;
          const o = receiver.open(parsed.msg);
          // A change that parses to the same message (spaces) is the same message, not a forgery.
          if (o.ok) return o.msg.text === l && parseLine(good).ok;
          return true;
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("a datagram signed with any other key is refused, whatever it says", () => {
    fc.assert(
      fc.property(line, fc.uint8Array({ minLength: 16, maxLength: 64 }), (l, other) => {
        fc.pre(!Buffer.from(other).equals(K1));
        const wall = 1_763_900_000_000;
        const forger = new GroupAuth({ ring: Keyring.of(Buffer.from(other)), wallClock: () => wall });
        const receiver = new GroupAuth({ ring: Keyring.of(K1, K2), wallClock: () => wall });
        const parsed = parseLine(forger.sign(l));
        if (!parsed.ok) return true;
        const o = receiver.open(parsed.msg);
        return !o.ok && o.reason === "bad-mac";
      }),
      { numRuns: 500 },
    );
  });
});
