/**
 * `npm run bench:bundles`: every Lambda handler bundled as the stack bundles it, with its size and the
 * time plain Node 22 (the Lambda runtime's major; `node` from the project's devDependencies) takes to
 * import it, in a fresh process each time (median of BENCH_RUNS, default 5). Not a test: it prints
 * figures against the targets of issue 18: AWS-only handlers ≤ 1 MB, handlers that talk to the cluster
 * ≤ 1.6 MB, import ≤ 200 ms.
 *
 * The build options are SST 2.49.8's for an ESM Node function (sst/runtime/handlers/node.js: platform
 * node, format esm, target esnext, mainFields module/main, keepNames, its createRequire banner) with the
 * app's defaults from stacks/index.ts (minify) and a function's own esbuild plugins (PLUGINS, as
 * stacks/drill/functions.ts sets them); arm64 changes nothing in a JavaScript bundle. The size is the .mjs file Lambda loads (the source map is a separate file).
 * Handler names as arguments (`npm run bench:bundles -- drill-database`) measure only those.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, rm, stat, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build, type Metafile, type Plugin } from "esbuild";
import { leaveOutCjkTables } from "../stacks/drill/bundling.ts";

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MB = 1_000_000;
const SRC = join(import.meta.dirname, "../packages/functions/src");
/** Handlers that reach an EKS cluster (the Kubernetes client is in their bundle by design). */
const CLUSTER = new Set([
  "velero-backup",
  "restore-plan",
  "restore-application",
  "restore-notify",
  "drill",
  "drill-database",
]);
const TARGET = { aws: 1 * MB, cluster: 1.6 * MB, importMs: 200 };
/** The esbuild plugins a function adds to the app's defaults in its stack. */
const PLUGINS: Record<string, Plugin[]> = { "drill-database": [leaveOutCjkTables] };

const SST_BANNER = [
  `import { createRequire as topLevelCreateRequire } from 'module';`,
  `const require = topLevelCreateRequire(import.meta.url);`,
  `import { fileURLToPath as topLevelFileUrlToPath, URL as topLevelURL } from "url"`,
  `const __dirname = topLevelFileUrlToPath(new topLevelURL(".", import.meta.url))`,
  "",
].join("\n");

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** Bundles one handler as SST does; returns the output file and esbuild's metafile. */
async function bundleHandler(name: string, outdir: string): Promise<{ file: string; meta: Metafile }> {
  const file = join(outdir, `${name}.mjs`);
  const result = await build({
    entryPoints: [join(SRC, `${name}.ts`)],
    platform: "node",
    bundle: true,
    keepNames: true,
    metafile: true,
    format: "esm",
    target: "esnext",
    mainFields: ["module", "main"],
    banner: { js: SST_BANNER },
    external: ["sharp", "pg-native"],
    outfile: file,
    plugins: PLUGINS[name] ?? [],
    sourcemap: true,
    minify: true,
    logLevel: "error",
  });
  return { file, meta: result.metafile };
}

/**
 * Milliseconds to import the bundle in a fresh Node process (the module's top level included): the wall
 * time, which the target is about, and the process's CPU time over the import, which a loaded machine
 * inflates far less (on an idle machine the two are close).
 */
async function importMs(file: string): Promise<{ wall: number; cpu: number }> {
  const script =
    "const c = process.cpuUsage(); const t = performance.now(); " +
    `await import(${JSON.stringify(file)}); ` +
    "const u = process.cpuUsage(c); console.log(performance.now() - t, (u.user + u.system) / 1000);";
  const { stdout } = await run("node", ["--input-type=module", "-e", script], {
    env: { ...process.env, AWS_REGION: "us-east-1", GITPOD_DR_STAGE: "bench" },
  });
  const [wall, cpu] = stdout.trim().split(" ").map(Number);
  return { wall: wall as number, cpu: cpu as number };
}

/** The packages making up most of a bundle, by bytes in the output. */
function heaviest(meta: Metafile, count: number): string {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(meta.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const key = m?.[1] ?? "(ours)";
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}k`)
    .join(", ");
}

async function main() {
  const { stdout: version } = await run("node", ["--version"]);
  const dir = await mkdtemp(join(tmpdir(), "gitpod-dr-bundles-"));
  // `npm run bench:bundles -- drill-database restore-plan`: only those handlers (all by default).
  const only = process.argv.slice(2);
  const names = (await readdir(SRC))
    .filter((f) => f.endsWith(".ts"))
    .map((f) => f.slice(0, -3))
    .filter((n) => only.length === 0 || only.includes(n));
  const unknown = only.filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`No handler named ${unknown.join(", ")} in ${SRC}`);
  console.log(
    `node ${version.trim()} (imports), esbuild ${(await import("esbuild")).version}, runs: ${RUNS}`,
  );
  // The machine's own pace (shared CI machines are loaded): importing an empty module the same way.
  const empty = join(dir, "empty.mjs");
  await writeFile(empty, "export {};\n");
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) baseline.push((await importMs(empty)).wall);
  console.log(
    `load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(" ")}; an empty module imports in ${median(baseline).toFixed(1)} ms`,
  );
  console.log(`targets: AWS-only ≤ 1 MB, cluster ≤ 1.6 MB, import ≤ ${TARGET.importMs} ms\n`);
  let failed = 0;
  try {
    for (const name of names.sort()) {
      const { file, meta } = await bundleHandler(name, dir);
      const size = (await stat(file)).size;
      const times: { wall: number; cpu: number }[] = [];
      for (let i = 0; i < RUNS; i++) times.push(await importMs(file));
      const ms = median(times.map((t) => t.wall));
      const cpu = median(times.map((t) => t.cpu));
      const kind = CLUSTER.has(name) ? "cluster" : "aws";
      const sizeOk = size <= (kind === "cluster" ? TARGET.cluster : TARGET.aws);
      const timeOk = ms <= TARGET.importMs;
      if (!sizeOk || !timeOk) failed++;
      console.log(
        `${name.padEnd(20)} ${kind.padEnd(8)} ${(size / MB).toFixed(2)} MB ${sizeOk ? "ok " : "OVER"}  ` +
          `import ${ms.toFixed(0).padStart(4)} ms ${timeOk ? "ok " : "OVER"} (cpu ${cpu.toFixed(0).padStart(3)} ms)  ` +
          `(${heaviest(meta, 4)})`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  console.log(failed === 0 ? "\nevery handler within its targets" : `\n${failed} handler(s) over a target`);
}

await main();
