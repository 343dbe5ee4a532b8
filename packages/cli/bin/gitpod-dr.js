#!/usr/bin/env node
// Runs the prebuilt CLI (packages/cli/dist, from `npm run build`), after checking the Node.js version:
// on an older Node the CLI's dependencies fail at import with a stack trace that says nothing useful.
import module from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
// V8's compile cache for the bundle's chunks (Node ≥ 22.1), beside the stage-file cache
// (src/stage.ts): ~10 ms less CPU a start on the build machine (2026-12-03, `sync-images` 235 → 225 ms).
const cacheDir = process.env.GITPOD_DR_CACHE_DIR;
module.enableCompileCache?.(
  cacheDir
    ? join(cacheDir, "v8")
    : fileURLToPath(new URL("../../../node_modules/.cache/gitpod-dr/v8", import.meta.url)),
);
let main;
try {
  ({ main } = await import("../dist/main.js"));
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist")) throw error;
  process.stderr.write(
    "gitpod-dr is not built: run `npm run build` in the project folder (scripts/setup.sh does)\n",
  );
  process.exit(2);
}
process.exitCode = await main(process.argv.slice(2));
