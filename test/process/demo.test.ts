/** `npm run demo`: bots in the background, a supervisor in front; all stop when its input ends. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freeTcpPort, freeUdpPort, tempDir } from "../helpers/net.js";
import { listen, processesUnder, runTool, senders, waitFor } from "../helpers/procs.js";

describe("demo", () => {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it("starts bots and a supervisor, and stops them all cleanly when the supervisor's stdin closes", async () => {
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const port = await freeUdpPort();
    const group = await listen(port);
    cleanups.push(group.close);

    const run = runTool(
      "dist/tools/demo.js",
      ["-bots=3", `-chanPort=${port}`, `-filePort=${await freeTcpPort()}`, "-backoff=0.2", "-uploadWait=0.2"],
      tmp.dir,
      { stdin: "pipe" },
    );
    cleanups.push(() => run.child.kill("SIGKILL"));
    // The hint for the newcomer, then the supervisor's view of the bots joining.
    expect(await waitFor(() => senders(group.messages, "BEAT").size === 3, 20_000), run.output()).toBe(true);
    const bots = senders(group.messages, "BEAT");
    expect(await waitFor(() => [...bots].every((id) => run.output().includes(id)), 10_000), run.output()).toBe(true);
    expect(run.output()).toMatch(/Type HELP/);

    run.child.stdin?.end("WHO\n");
    const { code } = await run.exited;
    const out = run.output();
    expect(code, out).toBe(0);
    expect(out).toMatch(/3 bots started: 0 lifespan, 0 killed, 3 signalled, 0 crashed, 0 forced/);
    expect(await waitFor(() => senders(group.messages, "EXIT").size === 3, 2000)).toBe(true);
    expect(senders(group.messages, "EXIT")).toEqual(bots);
    for (const i of [1, 2, 3]) expect(existsSync(join(tmp.dir, `DemoBot${i}`, "bot.out"))).toBe(true);
    expect(processesUnder(tmp.dir)).toEqual([]);
  });
});
