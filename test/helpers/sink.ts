/** A writable stream for a program or logger under test, and everything written to it so far. */
import { PassThrough } from "node:stream";

export function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (d) => {
    text += d;
  });
  return { stream, text: () => text };
}
