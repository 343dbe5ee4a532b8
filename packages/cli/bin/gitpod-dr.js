#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so the CLI and the Lambda functions share core's source as is.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
