/** Free ports on 127.0.0.1, for the load report, the benchmarks and the tests (so parallel runs
 *  never collide and nothing uses the default ports). */
import { createSocket } from "node:dgram";
import { createServer } from "node:net";

/** A UDP port nobody on 127.0.0.1 is bound to right now. */
export function freeUdpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A TCP port nobody on 127.0.0.1 is listening on right now. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
