import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ASSEMBLIES_ENV } from "../../packages/sim/src/synth-assemblies.ts";

/**
 * vitest's global setup: one directory for every cloud assembly the run's syntheses write (the test
 * processes inherit it through the environment), removed when the run ends: the workers are stopped
 * without running their exit handlers.
 */
export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-cdk-out-"));
  process.env[ASSEMBLIES_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
