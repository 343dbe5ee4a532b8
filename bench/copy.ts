/**
 * `npm run bench:copy`: gitpod-dr AS A USER RUNS IT — the bin npm links at node_modules/.bin/gitpod-dr,
 * with the project's Node first on PATH (as `npm run` and `npx` do; npx's own start-up is npm's), a fresh
 * process each time — beside skopeo 1.9.3, the reference copier, on the same local registries (Debian's
 * docker-registry), alternating which goes first. Not a test: it prints figures. `npm run bench:copy`
 * builds the CLI first.
 *
 * 1. `gitpod-dr --help`: median wall time (target ≤ 0.15 s).
 * 2. Cold copy of a ~300 MB image of 10 layers, each into a fresh registry: `gitpod-dr copy-image`
 *    against `skopeo copy --all --preserve-digests` (target ≤ 0.90×), for each registry set-up (tuned and default
 *    configuration, uncompressed and gzip layers), with the engine alone (bench/copy-worker.ts,
 *    bundled) beside it: the difference is the CLI's start-up.
 * 3. Warm re-sync of 50 unchanged tags: `gitpod-dr sync-images --config STAGE.ts` against `skopeo sync`
 *    (target ≤ 0.25×).
 * Beside 2 and 3, a floor (bench/floor-worker.ts): a Node program doing the least for the same result, in
 * its own fresh process with plain node:http — per blob a GET piped into one PUT in 1 MiB writes, with no
 * verification and no existence checks; the tag list and the manifest HEADs. What it cannot reach, no
 * Node client doing that work over node:http reaches on this machine; bin/floor is what is left to gain.
 * 4. Peak RSS of the bin (GNU time's maximum resident set size) over all runs, and copying one 1 GB
 *    layer (target ≤ 150 MB). Each figure of 2 and 3 has skopeo's peak RSS beside ours (GNU time too).
 *
 * The machine may be shared: the load average is printed beside each figure, and the ratios, taken
 * within one run with the tools alternating, are what counts.
 *
 * BENCH_RUNS (default 5) sets the runs per figure; BENCH_SETUPS=main measures only the tuned,
 * uncompressed set-up; BENCH_HUGE=0 skips the 1 GB layer.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build } from "esbuild";
import { pushImage, randomLayer, randomLayerStream } from "../packages/sim/src/registry/images.ts";
import { type RegistryServer, startRegistry } from "../packages/sim/src/registry/server.ts";
import { skopeoCopy, skopeoSync } from "../test/fixtures/registry/skopeo.ts";

const run = promisify(execFile);
/**
 * skopeo's copy as ours: digests unchanged. Without it skopeo gzips uncompressed layers on their way to a
 * registry (new digests; checked with skopeo 1.9.3: a `…layer.v1.tar` arrives as `…tar+gzip`), which is
 * more work than a copy and not what gitpod-dr does.
 */
const SAME = ["--preserve-digests"];
const RUNS = Number(process.env.BENCH_RUNS ?? 5); // medians of at least 5 for the figures reported
const MB = 1024 * 1024;
const ROOT = join(import.meta.dirname, "..");
const BIN_DIR = join(ROOT, "node_modules/.bin");
const BIN = join(BIN_DIR, "gitpod-dr");
const ENV = { ...process.env, PATH: `${BIN_DIR}:${process.env.PATH}` };

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (xs: number[]) => `${Math.max(...xs).toFixed(0)} MB`;
/** The 1- and 5-minute load averages, for the record beside each figure. */
const load = () => `load ${loadavg()[0]?.toFixed(1)}/${loadavg()[1]?.toFixed(1)}`;
/** skopeo under GNU time: its own wall time and peak RSS. */
const measured = async (run: Promise<{ ms?: number; peakRssKb?: number; cpuMs?: number }>) => {
  const { ms, peakRssKb, cpuMs } = await run;
  return { ms: ms ?? Number.NaN, rssMB: (peakRssKb ?? 0) / 1024, cpuMs: cpuMs ?? Number.NaN };
};
const runsOf = (xs: number[]) => xs.map(fmt).join(", ");

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

let peakRssMB = 0;
/** The bin in a fresh process under GNU time (for its peak RSS); wall time measured around it. */
async function gitpodDr(
  ...args: string[]
): Promise<{ ms: number; rssMB: number; cpuMs: number; stdout: string }> {
  const { ms, value } = await timed(() =>
    run("/usr/bin/time", ["-f", "gitpod-dr-rss-kb %M cpu-s %U %S", BIN, ...args], {
      env: ENV,
      maxBuffer: 16 * MB,
    }),
  );
  const m = /gitpod-dr-rss-kb (\d+) cpu-s ([\d.]+) ([\d.]+)/.exec(value.stderr);
  const rssMB = m ? Number(m[1]) / 1024 : 0;
  peakRssMB = Math.max(peakRssMB, rssMB);
  const cpuMs = m ? (Number(m[2]) + Number(m[3])) * 1000 : Number.NaN;
  return { ms, rssMB, cpuMs, stdout: value.stdout };
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), "gitpod-dr-bench-"));
  const worker = join(dir, "copy-worker.js");
  // The engine alone, bundled as the CLI is, for the start-up difference.
  await build({
    entryPoints: [join(import.meta.dirname, "copy-worker.ts"), join(import.meta.dirname, "floor-worker.ts")],
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node22",
    outdir: dir,
    minify: true,
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
    logLevel: "error",
  });
  const engine = async (...args: string[]) => {
    const { stdout } = await run(join(BIN_DIR, "node"), [worker, ...args], { maxBuffer: 10 * MB });
    return JSON.parse(stdout.trim().split("\n").pop() as string) as { ms: number; maxRssMB: number };
  };

  // The floor: plain node:http in a fresh process, the least any Node program does for the same result.
  const floor = async (...args: string[]) =>
    (
      await timed(() =>
        run(join(BIN_DIR, "node"), [join(dir, "floor-worker.js"), ...args], { maxBuffer: MB }),
      )
    ).ms;

  const servers: RegistryServer[] = [];
  const registry = async (tuned: boolean) => {
    const r = await startRegistry({ tuned });
    servers.push(r);
    return r;
  };
  const stop = async (...rs: RegistryServer[]) => {
    for (const r of rs) {
      await r.stop();
      servers.splice(servers.indexOf(r), 1);
    }
  };
  const insecure = (...hosts: string[]) => hosts.flatMap((h) => ["--insecure-registry", h]);
  const results: { name: string; value: number; target: number }[] = [];
  try {
    const node = (await run(join(BIN_DIR, "node"), ["--version"])).stdout.trim();
    const skopeo = (await run("skopeo", ["--version"])).stdout.trim();
    console.log(
      `${new Date().toISOString()}  node ${node} (the project's), ${skopeo}, runs: ${RUNS}, ${load()}`,
    );

    // 1. Start-up.
    await gitpodDr("--help"); // first run: page cache
    const help: number[] = [];
    for (let i = 0; i < Math.max(RUNS, 7); i++) help.push((await gitpodDr("--help")).ms);
    console.log(
      `\n1. gitpod-dr --help: median ${fmt(median(help))}  (runs: ${runsOf(help)})  target ≤ 0.15 s  [${load()}]`,
    );
    // The floor: the same Node starting and doing nothing, on this machine, now.
    const bare: number[] = [];
    for (let i = 0; i < Math.max(RUNS, 7); i++)
      bare.push((await timed(() => run(join(BIN_DIR, "node"), ["-e", "0"], { env: ENV }))).ms);
    console.log(`   (node -e 0, the floor of any Node program here: median ${fmt(median(bare))})`);
    results.push({ name: "--help (s)", value: median(help) / 1000, target: 0.15 });

    // 2. Cold copies, per registry set-up.
    const setups = [
      { tuned: true, gzip: false },
      { tuned: false, gzip: false },
      { tuned: true, gzip: true },
      { tuned: false, gzip: true },
    ].slice(0, process.env.BENCH_SETUPS === "main" ? 1 : 4);
    console.log(
      "\n2. Cold copy of 10 layers of 30 MiB into a fresh registry (ours: the bin; engine: the worker)",
    );
    for (const setup of setups) {
      const source = await registry(setup.tuned);
      const image = await pushImage(source.host, "bench/big", "v1", {
        layers: Array.from({ length: 10 }, (_, i) => randomLayer(30 * MB, { gzip: setup.gzip, seed: i + 1 })),
      });
      const total = image.blobs.reduce((s, b) => s + b.size, 0);
      const ref = `${source.host}/bench/big:v1`;
      const ours: number[] = [];
      const oursRss: number[] = [];
      const workerMs: number[] = [];
      const workerRss: number[] = [];
      const theirs: number[] = [];
      const theirsRss: number[] = [];
      const floorMs: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const [d1, d2, d3, d4] = [
          await registry(setup.tuned),
          await registry(setup.tuned),
          await registry(setup.tuned),
          await registry(setup.tuned),
        ];
        const oursRun = async () => {
          const o = await gitpodDr(
            "copy-image",
            ref,
            `${d1.host}/bench/big:v1`,
            ...insecure(source.host, d1.host),
          );
          ours.push(o.ms);
          oursRss.push(o.rssMB);
        };
        const skopeoRun = async () => {
          const t = await measured(
            skopeoCopy(ref, `${d2.host}/bench/big:v1`, { all: true, measure: true, extraArgs: SAME }),
          );
          theirs.push(t.ms);
          theirsRss.push(t.rssMB);
        };
        const workerRun = async () => {
          const w = await timed(() => engine("copy", ref, `${d3.host}/bench/big:v1`, source.host, d3.host));
          workerMs.push(w.ms);
          workerRss.push(w.value.maxRssMB);
        };
        const floorRun = async () => {
          floorMs.push(await floor("copy", ref, `${d4.host}/bench/big:v1`));
        };
        // Each goes first in turn, so none always meets a warmer page cache or a fuller disk.
        const order = [oursRun, skopeoRun, workerRun, floorRun];
        for (let k = 0; k < order.length; k++) await (order[(i + k) % order.length] as () => Promise<void>)();
        await stop(d1, d2, d3, d4);
      }
      const ratio = median(ours) / median(theirs);
      const name = `${setup.tuned ? "tuned" : "default"} registry, ${setup.gzip ? "gzip" : "uncompressed"} layers`;
      console.log(`   ${name}: ${(total / MB).toFixed(0)} MiB  [${load()}]`);
      console.log(
        `     gitpod-dr (bin): median ${fmt(median(ours))}, peak RSS ${mb(oursRss)}  (runs: ${runsOf(ours)})`,
      );
      console.log(
        `     engine (worker): median ${fmt(median(workerMs))}, peak RSS ${mb(workerRss)}  (runs: ${runsOf(workerMs)})`,
      );
      console.log(
        `     skopeo copy:     median ${fmt(median(theirs))}, peak RSS ${mb(theirsRss)}  (runs: ${runsOf(theirs)})`,
      );
      console.log(
        `     floor (GET→PUT in 1 MiB writes, no verification, no HEADs): median ${fmt(median(floorMs))}  (runs: ${runsOf(floorMs)})`,
      );
      console.log(
        `     ratio bin/skopeo ${ratio.toFixed(2)} (target ≤ 0.90), worker/skopeo ${(median(workerMs) / median(theirs)).toFixed(2)}, floor/skopeo ${(median(floorMs) / median(theirs)).toFixed(2)}, bin/floor ${(median(ours) / median(floorMs)).toFixed(2)}`,
      );
      results.push({ name: `cold ratio, ${name}`, value: ratio, target: 0.9 });
      await stop(source);
    }

    // 3. Warm re-sync of 50 unchanged tags.
    const source = await registry(true);
    const tags = 50;
    for (let t = 0; t < tags; t++) {
      await pushImage(source.host, "bench/tags", `t${t}`, {
        layers: [randomLayer(64 * 1024, { seed: 1000 + t })],
      });
    }
    const [w1, w2] = [await registry(true), await registry(true)];
    const stage = join(dir, "bench.ts");
    await writeFile(
      stage,
      `export default ${JSON.stringify({
        database: { identifier: "gitpod-db" },
        regions: { primary: "eu-west-1", dr: "eu-central-1" },
        dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
        retention: { keepLast: 7, maxAgeDays: 14 },
        schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
        images: {
          schedule: "rate(1 hour)",
          rules: [
            {
              name: "bench",
              source: { registry: source.host },
              repositories: ["bench/tags"],
              destination: { registry: w1.host },
            },
          ],
        },
      })};\n`,
    );
    const sync = () =>
      gitpodDr("sync-images", "--config", stage, "--json", ...insecure(source.host, w1.host));
    const first = JSON.parse((await sync()).stdout) as { totals: { copied: number } };
    const skopeoWarm = () =>
      measured(
        skopeoSync(`${source.host}/bench/tags`, `${w2.host}/synced`, { measure: true, extraArgs: SAME }),
      );
    await skopeoWarm();
    // The first run after a stage file is written strips its types (and keeps them); so does a user's.
    await sync();
    const warmOurs: number[] = [];
    const warmOursRss: number[] = [];
    const warmSkopeo: number[] = [];
    const warmSkopeoRss: number[] = [];
    // CPU time (user + system), which a busy machine inflates less than wall time.
    const warmOursCpu: number[] = [];
    const warmSkopeoCpu: number[] = [];
    const floorWarm: number[] = [];
    let upToDate = 0;
    for (let i = 0; i < RUNS; i++) {
      const oursRun = async () => {
        const o = await sync();
        warmOurs.push(o.ms);
        warmOursRss.push(o.rssMB);
        warmOursCpu.push(o.cpuMs);
        upToDate = (JSON.parse(o.stdout) as { totals: { upToDate: number } }).totals.upToDate;
      };
      const skopeoRun = async () => {
        const t = await skopeoWarm();
        warmSkopeo.push(t.ms);
        warmSkopeoRss.push(t.rssMB);
        warmSkopeoCpu.push(t.cpuMs);
      };
      // The floor of the HEAD path: a fresh Node process listing the tags and sending the same 100
      // manifest HEADs (8 tags at a time, both registries at once) with plain node:http, nothing else.
      const floorRun = async () => {
        floorWarm.push(await floor("heads", source.host, "bench/tags", w1.host));
      };
      // Each goes first in turn.
      const order = [oursRun, skopeoRun, floorRun];
      for (let k = 0; k < order.length; k++) await (order[(i + k) % order.length] as () => Promise<void>)();
    }
    const warmEngine: number[] = [];
    for (let i = 0; i < RUNS; i++)
      warmEngine.push((await engine("sync", source.host, "bench/tags", w1.host)).ms);
    const warmRatio = median(warmOurs) / median(warmSkopeo);
    console.log(
      `\n3. Warm re-sync of ${tags} unchanged tags (first run copied ${first.totals.copied}; then ${upToDate} up to date)  [${load()}]`,
    );
    console.log(
      `   gitpod-dr sync-images (bin): median ${fmt(median(warmOurs))}, peak RSS ${mb(warmOursRss)}  (runs: ${runsOf(warmOurs)})`,
    );
    console.log(`   (the sync itself, inside the engine's process: median ${fmt(median(warmEngine))})`);
    console.log(
      `   skopeo sync: median ${fmt(median(warmSkopeo))}, peak RSS ${mb(warmSkopeoRss)}  (runs: ${runsOf(warmSkopeo)})`,
    );
    console.log(
      `   floor (a fresh Node process: the tag list and the ${2 * tags} manifest HEADs, plain node:http): median ${fmt(median(floorWarm))}, ${(median(floorWarm) / median(warmSkopeo)).toFixed(2)}× skopeo  (runs: ${runsOf(floorWarm)})`,
    );
    console.log(
      `   CPU time (user + system): gitpod-dr median ${fmt(median(warmOursCpu))}, skopeo ${fmt(median(warmSkopeoCpu))}`,
    );
    console.log(
      `   ratio bin/skopeo: ${warmRatio.toFixed(2)}  (target ≤ 0.25), bin/floor ${(median(warmOurs) / median(floorWarm)).toFixed(2)}`,
    );
    results.push({ name: "warm ratio", value: warmRatio, target: 0.25 });

    // 4. One 1 GB layer, for the peak RSS.
    if (process.env.BENCH_HUGE !== "0") {
      const huge = await randomLayerStream(1024 * MB, { seed: 42 });
      await pushImage(source.host, "bench/huge", "v1", { layers: [huge] });
      const h = await registry(true);
      const o = await gitpodDr(
        "copy-image",
        `${source.host}/bench/huge:v1`,
        `${h.host}/bench/huge:v1`,
        ...insecure(source.host, h.host),
      );
      console.log(
        `\n4. One ${(huge.size / MB).toFixed(0)} MiB layer: copied in ${fmt(o.ms)}, peak RSS ${o.rssMB.toFixed(0)} MB`,
      );
    }
    console.log(`\nPeak RSS of the bin over all runs: ${peakRssMB.toFixed(0)} MB (target ≤ 150 MB)`);
    results.push({ name: "peak RSS (MB)", value: peakRssMB, target: 150 });
    const missed = results.filter((r) => r.value > r.target);
    console.log(
      missed.length === 0
        ? "\nAll targets met: yes"
        : `\nAll targets met: NO (${missed.map((r) => `${r.name} ${r.value.toFixed(2)} > ${r.target}`).join("; ")})`,
    );
  } finally {
    for (const s of [...servers]) await s.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
