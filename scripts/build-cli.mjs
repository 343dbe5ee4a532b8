// `npm run build`: bundles the CLI (packages/cli/src/main.ts) into packages/cli/dist, which the bin
// runs with plain Node: no TypeScript transpiling at every start. Code split at each command's lazy
// import, so a command loads only its own chunk (no AWS SDK for a copy between two other registries, no
// Kubernetes client for copy-image). Plain JavaScript, so it runs before anything else is built.
import { rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(root, "packages/cli/dist");
await rm(outdir, { recursive: true, force: true });
const result = await build({
  entryPoints: [join(root, "packages/cli/src/main.ts")],
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node22",
  outdir,
  minify: true,
  // SST names each stack after its function (`Alerts`, `Backups`, ...): `synth` and `deploy` need the names.
  keepNames: true,
  sourcemap: "linked",
  // tsx loads stage files (config/<stage>.ts) at run time: it stays a package of node_modules. So do
  // SST and the CDK, which only `synth` and `deploy` load (SST bundles handlers with its own esbuild and
  // reads its own files from its package directory).
  external: [
    "tsx",
    "tsx/*",
    "sst",
    "sst/*",
    "aws-cdk-lib",
    "aws-cdk-lib/*",
    "constructs",
    "cdk-nag",
    "esbuild",
    // `rehearse` only: dynalite (the simulated catalog's DynamoDB) loads classic-level, whose native
    // binding node-gyp-build finds relative to the package's own directory, not a bundle's.
    "dynalite",
    // `rehearse` only: the drill's database check trusts the simulated RDS's CA through mysql2's
    // "Amazon RDS" TLS profile (packages/sim/src/rehearse/drill-run.ts), which must be node_modules' module.
    "mysql2",
  ],
  banner: {
    js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
  },
  metafile: true,
  logLevel: "warning",
});
// What each chunk holds and imports: the tests check that a command loads only what it needs.
await writeFile(join(outdir, "meta.json"), JSON.stringify(result.metafile));
if (process.argv.includes("--sizes")) {
  for (const [file, out] of Object.entries(result.metafile.outputs))
    if (file.endsWith(".js")) console.log(`${(out.bytes / 1024).toFixed(0).padStart(6)} KB  ${file}`);
}
