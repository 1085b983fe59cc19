import { describe, expect, it } from "vitest";
import { ManualClock } from "../../shared/clock.js";
import { ConfigError, loadConfig } from "../../shared/config.js";
import { GilbertElliott, type LossSettings, LossSimulator } from "../../shared/loss.js";
import { MemoryNetwork } from "../../shared/memory_transport.js";
import { lossSettingsFrom } from "../../shared/open.js";
import { seededRng } from "../../shared/random.js";
import { drain } from "../helpers/reliable_group.js";

const none: LossSettings = { lossRate: 0, lossBurst: 1, lossDir: "recv", dupRate: 0, reorderRate: 0 };

/** Loss statistics of n steps: share dropped and mean length of runs of drops. */
function measure(ge: GilbertElliott, n: number): { rate: number; burst: number } {
  let drops = 0;
  let runs = 0;
  let inRun = false;
  for (let i = 0; i < n; i++) {
    const d = ge.drop();
    if (d) {
      drops++;
      if (!inRun) runs++;
    }
    inRun = d;
  }
  return { rate: drops / n, burst: runs ? drops / runs : 0 };
}

describe("GilbertElliott", () => {
  it("drops independently at the given rate with lossBurst 1", () => {
    const m = measure(new GilbertElliott(0.3, 1, seededRng(1)), 200_000);
    expect(m.rate).toBeCloseTo(0.3, 2);
    expect(m.burst).toBeCloseTo(1 / 0.7, 1); // runs of an independent process
  });

  it("drops in bursts of the given mean length, at the same average rate", () => {
    const m = measure(new GilbertElliott(0.2, 5, seededRng(2)), 400_000);
    expect(m.rate).toBeGreaterThan(0.19);
    expect(m.rate).toBeLessThan(0.21);
    expect(m.burst).toBeGreaterThan(4.7);
    expect(m.burst).toBeLessThan(5.3);
  });

  it("never drops at rate 0 and always at rate 1", () => {
    expect(measure(new GilbertElliott(0, 3, seededRng(3)), 1000).rate).toBe(0);
    expect(measure(new GilbertElliott(1, 3, seededRng(3)), 1000).rate).toBe(1);
  });

  it("is repeatable from a seed", () => {
    const run = (seed: number) => {
      const ge = new GilbertElliott(0.4, 3, seededRng(seed));
      return Array.from({ length: 200 }, () => ge.drop());
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });
});

function pair(a: Partial<LossSettings>, b: Partial<LossSettings>, seed = 7) {
  const net = new MemoryNetwork();
  const clock = new ManualClock();
  const sa = new LossSimulator(net.endpoint(), { ...none, ...a, rng: seededRng(seed), clock });
  const sb = new LossSimulator(net.endpoint(), { ...none, ...b, rng: seededRng(seed + 1), clock });
  const got: string[] = [];
  const sources: string[] = [];
  sb.on("datagram", (bytes, src) => {
    got.push(bytes.toString());
    sources.push(`${src.address}:${src.port}`);
  });
  return { net, clock, sa, sb, got, sources };
}

describe("LossSimulator", () => {
  it("drops on receive, counting every drop", async () => {
    const { sa, sb, got } = pair({}, { lossRate: 0.5 });
    for (let i = 0; i < 1000; i++) sa.send(Buffer.from(`m${i}`));
    await drain();
    const st = sb.stats.recv;
    expect(st.offered).toBe(1000);
    expect(got.length + st.dropped).toBe(1000);
    expect(st.dropped).toBeGreaterThan(400);
    expect(st.dropped).toBeLessThan(600);
    expect(sb.stats.send.dropped).toBe(0);
  });

  it("drops on send before the datagram reaches the network", async () => {
    const { net, sa, got } = pair({ lossRate: 0.5, lossDir: "send" }, {});
    for (let i = 0; i < 400; i++) sa.send(Buffer.from(`m${i}`));
    await drain();
    expect(net.sent.length).toBe(400 - sa.stats.send.dropped);
    expect(got.length).toBe(net.sent.length);
    expect(sa.stats.send.dropped).toBeGreaterThan(100);
  });

  it("impairs both directions with lossDir both", async () => {
    const { sa, sb, got } = pair({ lossRate: 0.3, lossDir: "both" }, { lossRate: 0.3, lossDir: "both" });
    for (let i = 0; i < 1000; i++) sa.send(Buffer.from(`m${i}`));
    await drain();
    expect(sa.stats.send.dropped).toBeGreaterThan(0);
    expect(sb.stats.recv.dropped).toBeGreaterThan(0);
    expect(got.length).toBe(1000 - sa.stats.send.dropped - sb.stats.recv.dropped);
  });

  it("duplicates datagrams", async () => {
    const { sa, sb, got } = pair({}, { dupRate: 0.25 });
    for (let i = 0; i < 400; i++) sa.send(Buffer.from(`m${i}`));
    await drain();
    expect(sb.stats.recv.duplicated).toBeGreaterThan(50);
    expect(got.length).toBe(400 + sb.stats.recv.duplicated);
    expect(new Set(got).size).toBe(400);
  });

  it("reorders: a held datagram comes after the next one, keeping its source", async () => {
    const { sa, sb, got, sources } = pair({}, { reorderRate: 0.3 });
    for (let i = 0; i < 200; i++) sa.send(Buffer.from(`m${String(i).padStart(3, "0")}`));
    await drain();
    expect(sb.stats.recv.reordered).toBeGreaterThan(20);
    expect(got).not.toEqual([...got].sort());
    expect(new Set(sources)).toEqual(new Set([`127.0.0.1:${sa.localSource()?.port}`]));
  });

  it("releases a held datagram after a delay when nothing follows", async () => {
    const { clock, sa, got } = pair({}, { reorderRate: 1, reorderDelayMs: 50 });
    sa.send(Buffer.from("lonely"));
    await drain();
    expect(got).toEqual([]);
    clock.advance(49);
    expect(got).toEqual([]);
    clock.advance(1);
    expect(got).toEqual(["lonely"]);
  });

  it("is repeatable from its seed", async () => {
    const run = async () => {
      const { sa, got } = pair({}, { lossRate: 0.3, lossBurst: 3, dupRate: 0.1, reorderRate: 0.1 }, 99);
      for (let i = 0; i < 300; i++) sa.send(Buffer.from(`m${i}`));
      await drain();
      return got;
    };
    expect(await run()).toEqual(await run());
  });

  it("cancels its timer on close", async () => {
    const { clock, sa, sb } = pair({}, { reorderRate: 1 });
    sa.send(Buffer.from("x"));
    await drain();
    expect(clock.timerCount).toBe(1);
    await sb.close();
    expect(clock.timerCount).toBe(0);
  });
});

describe("loss settings from config", () => {
  const load = (overrides: Record<string, string>) => loadConfig({ overrides, readFile: () => undefined }).config;

  it("are off by default", () => {
    expect(lossSettingsFrom(load({}))).toBeUndefined();
  });

  it("come from -key=value options and the ini file", () => {
    expect(lossSettingsFrom(load({ lossRate: "0.2", lossburst: "4", lossDir: "BOTH" }))).toEqual({
      lossRate: 0.2,
      lossBurst: 4,
      lossDir: "both",
      dupRate: 0,
      reorderRate: 0,
    });
    const fromFile = loadConfig({
      overrides: {},
      readFile: () => "[DNABot]\ndupRate = 0.1\nreorderRate = '0.05'\n",
    }).config;
    expect(lossSettingsFrom(fromFile)).toMatchObject({ dupRate: 0.1, reorderRate: 0.05, lossDir: "recv" });
  });

  it("reject bad values with a ConfigError naming the key", () => {
    const bad = (o: Record<string, string>, problem: string) => {
      try {
        load(o);
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        expect((e as ConfigError).key).toBe(Object.keys(o)[0]);
        expect((e as ConfigError).problem).toBe(problem);
      }
    };
    bad({ lossRate: "1.5" }, "probability-range");
    bad({ lossBurst: "0" }, "out-of-range");
    bad({ lossDir: "sideways" }, "not-a-choice");
    bad({ reliable: "maybe" }, "not-a-boolean");
    bad({ nackWait: "0" }, "duration-not-positive");
  });
});
