import { configDefaults, defineConfig } from "vitest/config";

const stacks = "test/stacks/**/*.test.ts";

export default defineConfig({
  test: {
    // One directory for the run's cloud assemblies, removed at its end.
    globalSetup: ["test/stacks/synth-setup.ts"],
    // The stack synthesis test bundles every handler with esbuild: give it room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        // The stack tests share one process: they import the CDK and SST once, not once per file, and
        // hash the bundle cache's inputs once. They mock nothing and every synthesis starts a new app.
        test: { name: "stacks", include: [stacks], isolate: false },
      },
      {
        extends: true,
        test: { name: "rest", include: ["test/**/*.test.ts"], exclude: [...configDefaults.exclude, stacks] },
      },
    ],
  },
});
