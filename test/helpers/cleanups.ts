/** What a test undoes after it: processes, channels, servers, temp directories. */
import { afterEach } from "vitest";

/** One thing to undo; a promise is awaited. */
export type Cleanup = () => unknown;

/**
 * A list to push cleanups on; after each test (of the file, or of the describe block this is
 * called in) they run, last pushed first, each awaited, and the list is emptied.
 */
export function cleanupsAfterEach(): Cleanup[] {
  const cleanups: Cleanup[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return cleanups;
}
