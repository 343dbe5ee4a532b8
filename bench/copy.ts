/**
 * `npm run bench:copy`: gitpod-dr's image copy engine beside skopeo 1.9.3, the reference copier, on the
 * same local registries (Debian's docker-registry), alternating runs. Not a test: it prints figures.
 *
 * 1. Cold copy of a ~300 MB image of 10 layers into an empty registry: median wall time of each tool
 *    (whole process, as a user runs it), the ratio ours/skopeo, our peak RSS.
 * 2. Warm re-sync of 50 unchanged tags: ours (`syncImages`) against `skopeo sync`.
 * 3. Peak RSS of ours while copying an image with a single 1 GB layer.
 *
 * Targets (issue 3): cold ratio ≤ 0.8, warm ratio ≤ 0.25, peak RSS ≤ 150 MB.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { pushImage, randomLayer, randomLayerStream } from "../test/fixtures/registry/images.ts";
import { type RegistryServer, startRegistry } from "../test/fixtures/registry/server.ts";
import { skopeoCopy, skopeoSync } from "../test/fixtures/registry/skopeo.ts";

const run = promisify(execFile);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const MB = 1024 * 1024;

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "gitpod-dr-bench-"));
  const worker = join(dir, "copy-worker.js");
  // Bundled as a release would be: code split, so modules loaded on first use (the AWS SDK, for ECR
  // only) are not loaded by a run that does not use them.
  await build({
    entryPoints: [join(import.meta.dirname, "copy-worker.ts")],
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outdir: dir,
    outExtension: { ".js": ".js" },
    minify: true,
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    logLevel: "error",
  });
  const ours = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [worker, ...args], { maxBuffer: 10 * MB });
    return JSON.parse(stdout.trim().split("\n").pop() as string) as { ms: number; maxRssMB: number };
  };

  const servers: RegistryServer[] = [];
  const registry = async () => {
    // Set up as one runs a registry for throughput (no access log, blob descriptor cache); the same
    // registries serve both tools.
    const r = await startRegistry({ tuned: true });
    servers.push(r);
    return r;
  };
  try {
    console.log(
      `node ${process.version}, skopeo ${(await run("skopeo", ["--version"])).stdout.trim()}, runs: ${RUNS}`,
    );
    // 1. Cold copy.
    const source = await registry();
    // Generated and pushed one at a time, then dropped: the benchmark process stays small, so spawning
    // each tool (a fork of this process) costs the same little for both.
    const image = await pushImage(source.host, "bench/big", "v1", {
      layers: Array.from({ length: 10 }, (_, i) => randomLayer(30 * MB, { gzip: false, seed: i + 1 })),
    });
    const total = image.blobs.reduce((s, b) => s + b.size, 0);
    console.log(
      `\n1. Cold copy: ${(total / MB).toFixed(0)} MiB in ${image.blobs.length - 1} layers (+ config)`,
    );
    const oursMs: number[] = [];
    const skopeoMs: number[] = [];
    let coldRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const d1 = await registry();
      const o = await timed(() =>
        ours("copy", `${source.host}/bench/big:v1`, `${d1.host}/bench/big:v1`, source.host, d1.host),
      );
      oursMs.push(o.ms);
      coldRss = Math.max(coldRss, o.value.maxRssMB);
      const d2 = await registry();
      const s = await timed(() =>
        skopeoCopy(`${source.host}/bench/big:v1`, `${d2.host}/bench/big:v1`, { all: true }),
      );
      skopeoMs.push(s.ms);
      for (const d of [d1, d2]) {
        await d.stop();
        servers.splice(servers.indexOf(d), 1);
      }
    }
    const coldRatio = median(oursMs) / median(skopeoMs);
    console.log(`   gitpod-dr: median ${fmt(median(oursMs))}  (runs: ${oursMs.map(fmt).join(", ")})`);
    console.log(`   skopeo:    median ${fmt(median(skopeoMs))}  (runs: ${skopeoMs.map(fmt).join(", ")})`);
    console.log(
      `   ratio ours/skopeo: ${coldRatio.toFixed(2)}  (target ≤ 0.80)   our peak RSS: ${coldRss.toFixed(0)} MB`,
    );

    // 2. Warm re-sync of 50 unchanged tags.
    const tags = 50;
    for (let t = 0; t < tags; t++) {
      await pushImage(source.host, "bench/tags", `t${t}`, {
        layers: [randomLayer(64 * 1024, { seed: 1000 + t })],
      });
    }
    const w1 = await registry();
    const w2 = await registry();
    await ours("sync", source.host, "bench/tags", w1.host);
    await skopeoSync(`${source.host}/bench/tags`, `${w2.host}/synced`);
    const warmOurs: number[] = [];
    const warmInProcess: number[] = [];
    const warmSkopeo: number[] = [];
    let warmRss = 0;
    for (let i = 0; i < RUNS; i++) {
      const o = await timed(() => ours("sync", source.host, "bench/tags", w1.host));
      warmOurs.push(o.ms);
      warmInProcess.push(o.value.ms);
      warmRss = Math.max(warmRss, o.value.maxRssMB);
      warmSkopeo.push((await timed(() => skopeoSync(`${source.host}/bench/tags`, `${w2.host}/synced`))).ms);
    }
    const warmRatio = median(warmOurs) / median(warmSkopeo);
    console.log(`\n2. Warm re-sync of ${tags} unchanged tags`);
    console.log(`   gitpod-dr: median ${fmt(median(warmOurs))}  (runs: ${warmOurs.map(fmt).join(", ")})`);
    console.log(`   (of which the sync itself, inside the process: median ${fmt(median(warmInProcess))})`);
    console.log(
      `   skopeo sync: median ${fmt(median(warmSkopeo))}  (runs: ${warmSkopeo.map(fmt).join(", ")})`,
    );
    console.log(
      `   ratio ours/skopeo: ${warmRatio.toFixed(2)}  (target ≤ 0.25)   our peak RSS: ${warmRss.toFixed(0)} MB`,
    );

    // 3. One 1 GB layer.
    const huge = await randomLayerStream(1024 * MB, { seed: 42 });
    await pushImage(source.host, "bench/huge", "v1", { layers: [huge] });
    const h = await registry();
    const o = await ours(
      "copy",
      `${source.host}/bench/huge:v1`,
      `${h.host}/bench/huge:v1`,
      source.host,
      h.host,
    );
    console.log(
      `\n3. One ${(huge.size / MB).toFixed(0)} MiB layer: copied in ${fmt(o.ms)}, our peak RSS ${o.maxRssMB.toFixed(0)} MB (target ≤ 150 MB)`,
    );
    const pass = coldRatio <= 0.8 && warmRatio <= 0.25 && Math.max(coldRss, warmRss, o.maxRssMB) <= 150;
    console.log(`\nAll targets met: ${pass ? "yes" : "NO"}`);
  } finally {
    for (const s of servers) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
