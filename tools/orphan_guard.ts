/**
 * Preloaded into every bot (and the demo's supervisor) that a fleet starts, with
 * `node --import <this file>`: the fleet hands the child the read end of a pipe as a file
 * descriptor named by MCASTBOTS_PARENT_FD. When the fleet process dies, even by SIGKILL, the
 * pipe closes and the child sends itself SIGTERM, so it leaves the group cleanly (EXIT
 * reason=signal) instead of running on as an orphan.
 */
import { Socket } from "node:net";

const fd = Number(process.env.MCASTBOTS_PARENT_FD);
if (Number.isInteger(fd) && fd > 2) {
  // Children of this process must not inherit the variable and watch a descriptor they lack.
  delete process.env.MCASTBOTS_PARENT_FD;
  try {
    const pipe = new Socket({ fd, readable: true, writable: false });
    pipe.on("error", () => {});
    pipe.on("close", () => process.kill(process.pid, "SIGTERM"));
    pipe.resume();
    // Watching must not keep the program alive after it is done.
    pipe.unref();
  } catch {
    // No such descriptor: started by hand with the variable set; nothing to watch.
  }
}
