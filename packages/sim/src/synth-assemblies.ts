/**
 * Where synthesized cloud assemblies go. A synthesis writes every stack's template there (the assertions
 * read them back); a test run writes hundreds, so they are not left in the temporary directory.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Names the directory the test run's cloud assemblies go to (test/stacks/synth-setup.ts removes it). */
export const ASSEMBLIES_ENV = "GITPOD_DR_ASSEMBLIES";

let assemblies: string | undefined;
let count = 0;

/**
 * A fresh directory for an app's cloud assembly: under the test run's directory, or else a temporary one
 * of this process, removed when it exits.
 */
export function assemblyDir(stage: string): string {
  if (!assemblies) {
    const run = process.env[ASSEMBLIES_ENV];
    assemblies = mkdtempSync(join(run ?? tmpdir(), run ? `${process.pid}-` : "gitpod-dr-cdk-out-"));
    const dir = assemblies;
    if (!run) process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  count += 1;
  return join(assemblies, `${stage}-${count}`);
}
