/**
 * `npm run bench:ecr-sync`: a warm re-sync of a simulated 5,000-tag registry (issue 18 §2). Not a test:
 * it prints figures. The registries are the unit tests' fakes (test/unit/registry: a `node:http`
 * server answering for any host name) and ECR's API is aws-sdk-client-mock answering from their
 * contents (fake-ecr.ts), so the figures count requests and API calls exactly; the times are this
 * machine's with no network latency (ECR adds ~10-30 ms a call).
 *
 * 1. ECR → ECR, every tag unchanged: the bulk comparison (DescribeImages + ListImages pages of 1,000).
 * 2. The same registries under non-ECR host names: the HEAD path (source and destination manifest HEAD
 *    per tag, 8 images at a time), which ECR → ECR also took before.
 *
 * Target: at most N/100 + 10 ECR API calls for N unchanged tags, no registry request.
 */
import { ECRClient } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { transportPool } from "../packages/core/src/registry/registries.ts";
import { type SyncRule, syncImages } from "../packages/core/src/registry/sync.ts";
import { serveEcrApi } from "../test/unit/registry/fake-ecr.ts";
import { FakeNetwork } from "../test/unit/registry/fake-network.ts";
import { FakeRegistry } from "../test/unit/registry/fake-registry.ts";

const N = Number(process.env.BENCH_TAGS ?? 5_000);
const ACCOUNT = "123456789012";
const SETTINGS = { tagMutability: "MUTABLE", scanOnPush: false, encryption: { type: "AES256" } } as const;

/** Both registries hold the same N workspace images (the state a previous run left). */
function seed(registry: FakeRegistry, prefix: string) {
  for (let i = 0; i < N; i++) {
    registry.addImage(`${prefix}workspace-images`, `build-${i}`, [Buffer.from(`workspace layer ${i}`)]);
  }
}

async function warmSync(source: string, destination: string) {
  const network = await FakeNetwork.start();
  const ecr = mockClient(ECRClient);
  try {
    const src = new FakeRegistry(source, network);
    const dst = new FakeRegistry(destination, network);
    seed(src, "");
    seed(dst, "dr/");
    serveEcrApi(ecr, [src, dst]);
    const rule: SyncRule = {
      name: "bench",
      source: { registry: source },
      repositories: ["workspace-images"],
      destination: { registry: destination, repositoryPrefix: "dr/" },
    };
    const deps = {
      transportFor: transportPool({ credentials: () => undefined, agents: network.agents }),
      ecr: (region: string) =>
        new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
    };
    const started = performance.now();
    const report = await syncImages([rule], deps, { repositorySettings: SETTINGS });
    const ms = performance.now() - started;
    if (report.totals.upToDate !== N || report.problems.length > 0) {
      throw new Error(`expected ${N} up to date, got ${JSON.stringify(report.totals)} ${report.problems}`);
    }
    return { ms, apiCalls: ecr.calls().length, registryRequests: network.requests.length };
  } finally {
    ecr.restore();
    await network.close();
  }
}

async function main() {
  console.log(`node ${process.version}; ${N} unchanged tags in one repository (Gitpod's workspace images)\n`);
  const bulk = await warmSync(
    `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`,
    `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`,
  );
  const target = N / 100 + 10;
  console.log(
    `1. ECR → ECR, bulk comparison: ${bulk.apiCalls} ECR API calls (target ≤ ${target}: ${bulk.apiCalls <= target ? "ok" : "OVER"}), ` +
      `${bulk.registryRequests} registry requests, ${(bulk.ms / 1000).toFixed(2)} s`,
  );
  const heads = await warmSync("source.registry.test", "dr.registry.test");
  console.log(
    `2. the HEAD path (non-ECR registries; ECR → ECR before): ${heads.apiCalls} ECR API calls, ` +
      `${heads.registryRequests} registry requests, ${(heads.ms / 1000).toFixed(2)} s`,
  );
}

await main();
