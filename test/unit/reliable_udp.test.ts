/** The whole stack from config, over real UDP multicast on 127.0.0.1 and real timers. */
import { describe, expect, it } from "vitest";
import type { GroupChannel } from "../../shared/channel.js";
import { loadConfig } from "../../shared/config.js";
import { openChannel } from "../../shared/open.js";
import type { ReliableChannel } from "../../shared/reliable/channel.js";
import { freeUdpPort } from "../helpers/net.js";
import { until } from "../helpers/until.js";

describe("reliable channel over UDP with simulated loss", () => {
  it("repairs every lost NEWS between real sockets (lossRate=0.3, seeded)", async () => {
    const port = await freeUdpPort();
    const cfg = (seed: number) =>
      loadConfig({
        overrides: {
          chanPort: String(port),
          chanAddr: "239.1.2.4",
          chanIface: "127.0.0.1",
          lossRate: "0.3",
          nackWait: "0.05",
          rsndWait: "0.02",
          seed: String(seed),
        },
        readFile: () => undefined,
      }).config;
    const opened: GroupChannel[] = [];
    try {
      const a = (await openChannel(cfg(1), "AAAA0001")).channel;
      opened.push(a);
      const rx: { ch: GroupChannel; got: Set<number>; sources: Set<string> }[] = [];
      for (let i = 0; i < 3; i++) {
        const ch = (await openChannel(cfg(10 + i), `BBBB000${i}`)).channel;
        opened.push(ch);
        const r = { ch, got: new Set<number>(), sources: new Set<string>() };
        ch.on("message", (m, s) => {
          if (m.sender === "AAAA0001") {
            r.got.add(m.seq);
            r.sources.add(`${s.address}:${s.port}`);
          }
        });
        rx.push(r);
      }
      for (let i = 1; i <= 40; i++) {
        a.send("NEWS", "*", [`n${i}`]);
        await new Promise((r) => setTimeout(r, 5));
      }
      await until("every NEWS at every receiver", () => rx.every((r) => r.got.size === 40), 20_000);
      for (const r of rx) {
        expect(r.got.size).toBe(40);
        expect(r.sources.size).toBe(1); // repaired messages carry the sender's address too
        expect((r.ch as ReliableChannel).reliability.repaired).toBeGreaterThan(0);
      }
    } finally {
      await Promise.all(opened.map((c) => c.close()));
    }
  });
});
