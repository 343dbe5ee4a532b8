/**
 * One copy by gitpod-dr's engine in its own process, so the benchmark measures its wall time and peak
 * RSS alone. Bundled by bench/copy.ts with esbuild and run with plain node, as the CLI would run.
 *
 *   node copy-worker.mjs copy SRC_REF DST_REF HOST...     copy one image (index: all platforms)
 *   node copy-worker.mjs sync SRC_HOST REPO DST_HOST      sync every tag of REPO
 */
import { readFileSync } from "node:fs";
import { CopySession } from "../packages/core/src/registry/copy.ts";
import { parseReference } from "../packages/core/src/registry/reference.ts";
import { credentialsFor, transportPool } from "../packages/core/src/registry/registries.ts";
import { syncImages } from "../packages/core/src/registry/sync.ts";

/**
 * This process's peak RSS. On Linux from VmHWM, which starts afresh at exec: getrusage's ru_maxrss
 * survives exec and so would report the parent's (the benchmark's, holding the test layers) instead.
 */
function peakRssMB(): number {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // Not Linux.
  }
  return process.resourceUsage().maxRSS / 1024;
}

const [mode, a, b, c, ...rest] = process.argv.slice(2);
const started = performance.now();
const hosts = mode === "copy" ? [c as string, ...rest] : [a as string, c as string];
const transportFor = transportPool({ credentials: credentialsFor({}), insecure: hosts });
let result: unknown;
if (mode === "copy") {
  const report = await new CopySession(transportFor).copyImage(
    parseReference(a as string),
    parseReference(b as string),
  );
  if (report.status === "failed") throw new Error(`copy failed: ${report.error?.message}`);
  result = { status: report.status, bytesMoved: report.bytesMoved };
} else {
  const report = await syncImages(
    [
      {
        name: "bench",
        source: { registry: a as string },
        repositories: [b as string],
        destination: { registry: c as string },
      },
    ],
    {
      transportFor,
      ecr: () => {
        throw new Error("no ECR in the benchmark");
      },
    },
    {
      repositorySettings: { tagMutability: "MUTABLE", scanOnPush: false, encryption: { type: "AES256" } },
    },
  );
  if (report.totals.failed > 0 || report.problems.length > 0)
    throw new Error(`sync failed: ${JSON.stringify(report.problems)}`);
  result = report.totals;
}
const ms = performance.now() - started;
process.stdout.write(`${JSON.stringify({ ms, maxRssMB: peakRssMB(), result })}\n`);
process.exit(0);
