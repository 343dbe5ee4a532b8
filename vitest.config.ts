import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // One directory for the run's cloud assemblies, removed at its end.
    globalSetup: ["test/stacks/synth-setup.ts"],
    // The stack synthesis test bundles every handler with esbuild: give it room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
  },
});
