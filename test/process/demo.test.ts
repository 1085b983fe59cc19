/**
 * `npm run demo`: bots in the background, a supervisor in front, on a free group port of their
 * own, in a fresh run directory; a bot that leaves is replaced by a new one in a new directory;
 * the tally counts every bot once; uploads stay in the folder named on screen.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupsAfterEach } from "../helpers/cleanups.js";
import { freeTcpPort, tempDir } from "../helpers/net.js";
import { listen, processesUnder, runTool, senders } from "../helpers/procs.js";
import { until } from "../helpers/until.js";

describe("demo", () => {
  const cleanups = cleanupsAfterEach();

  it("runs on its own port, replaces a KILLed bot in a new directory, counts each bot once, keeps the uploads", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const run = runTool("tools/bin/demo.js", ["-bots=2", `-filePort=${await freeTcpPort()}`, "-backoff=0.2"], tmp.dir, {
      stdin: "pipe",
    });
    cleanups.push(() => run.child.kill("SIGKILL"));

    // The screen says how to watch from another terminal, and where the uploads go.
    const hint = /node supervisor -chanPort=(\d+)/;
    await until(
      () => `the hint: ${run.output()}`,
      () => hint.test(run.output()),
      10_000,
    );
    const port = Number(hint.exec(run.output())![1]);
    expect(port).not.toBe(8421);
    const uploads = /Uploads are saved in (\S+)/.exec(run.output())![1]!;
    const [runDir] = readdirSync(tmp.dir).filter((e) => e.startsWith("mcastbots-demo-"));
    expect(runDir).toBeDefined();
    expect(uploads).toBe(join(tmp.dir, runDir!, "uploads"));

    const group = await listen(port);
    cleanups.push(group.close);
    await until(
      () => `BEATs of 2 bots: ${run.output()}`,
      () => senders(group.messages, "BEAT").size === 2,
      20_000,
    );
    const [first, second] = [...senders(group.messages, "BEAT")];

    run.child.stdin?.write(`UPLD ${first}\n`);
    await until(
      () => `an upload in ${uploads}: ${run.output()}`,
      () => existsSync(uploads) && readdirSync(uploads).length > 0,
      15_000,
    );
    expect(readdirSync(uploads)[0]).toContain(first!);

    // KILL one: it ends (255), keeps its directory and output, and a new bot comes in DemoBot3.
    run.child.stdin?.write(`KILL ${second}\n`);
    await until(
      () => `BEATs of 3 bots: ${run.output()}`,
      () => senders(group.messages, "BEAT").size === 3,
      25_000,
    );
    const bots = join(tmp.dir, runDir!);
    expect(readdirSync(bots).sort()).toEqual(["DemoBot1", "DemoBot2", "DemoBot3", "uploads"]);
    const outs = ["DemoBot1", "DemoBot2"].map((d) => readFileSync(join(bots, d, "bot.out"), "utf8"));
    expect(outs.some((o) => o.includes(second!))).toBe(true);

    run.child.stdin?.end();
    const { code } = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);
    expect(out).toMatch(/3 bots started: 0 lifespan, 1 killed, 2 signalled, 0 crashed, 0 forced/);
    await until("EXITs of 3 bots", () => senders(group.messages, "EXIT").size === 3, 2000);
    // The bots' directories were the run's own and are gone; the uploads stay, named on screen.
    expect(readdirSync(bots)).toEqual(["uploads"]);
    expect(out).toContain(`The uploads stay in ${uploads}`);
    expect(processesUnder(tmp.dir)).toEqual([]);
  });
});
