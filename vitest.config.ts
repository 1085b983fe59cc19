import { defineConfig } from "vitest/config";

// Three folders by cost: test/unit runs in-process in seconds (npm run test:unit); test/process
// spawns the real programs; test/lab needs root and builds network namespaces. `npm test` runs all.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts", "test/process/**/*.test.ts", "test/lab/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process and lab tests spawn real programs; keep parallelism modest on a 2-core machine.
    maxWorkers: 2,
    reporters: ["default"],
    // Every worker and program gets a private, empty TMPDIR; anything left in it fails the run.
    globalSetup: ["test/helpers/temp_guard.ts"],
    // tempDir()s a test file forgot are removed when it ends.
    setupFiles: ["test/helpers/sweep.ts"],
  },
});
