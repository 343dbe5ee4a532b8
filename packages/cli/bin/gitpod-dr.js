#!/usr/bin/env node
// Runs the prebuilt CLI (packages/cli/dist, from `npm run build`), after checking the Node.js version:
// on an older Node the CLI's dependencies fail at import with a stack trace that says nothing useful.
import { nodeVersionProblem } from "./node-version.js";

const problem = nodeVersionProblem(process.versions.node, process.execPath);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
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
