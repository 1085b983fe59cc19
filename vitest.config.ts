import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Process and lab tests spawn real programs; keep parallelism modest on a 2-core machine.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
