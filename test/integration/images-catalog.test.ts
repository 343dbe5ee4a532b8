/**
 * The image sync records a complete run in the catalog (dynalite): its start, and each image's source →
 * destination digest, equal to the digest in the destination registry. A dry run records nothing.
 */
import { CreateRepositoryCommand, ECRClient, ListImagesCommand } from "@aws-sdk/client-ecr";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ImageJobConfig } from "../../packages/core/src/config.ts";
import { runImageSyncJob } from "../../packages/core/src/registry/job.ts";
import { transportPool } from "../../packages/core/src/registry/registries.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import { FakeNetwork } from "../unit/registry/fake-network.ts";
import { FakeRegistry } from "../unit/registry/fake-registry.ts";

const SOURCE = "registry.internal.test";
const DEST = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const CONFIG: ImageJobConfig = {
  stage: "prod",
  images: {
    schedule: "rate(6 hours)",
    concurrency: 2,
    imageConcurrency: 2,
    registries: {},
    insecureRegistries: [],
    repositoryDefaults: { tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } },
    rules: [
      {
        name: "apps",
        source: { registry: SOURCE },
        repositories: ["app/a"],
        destination: { registry: DEST },
      },
    ],
  },
};

const catalog = useLocalCatalog();
const ecr = mockClient(ECRClient);
let network: FakeNetwork;
let dst: FakeRegistry;

beforeEach(async () => {
  ecr.reset();
  ecr.on(CreateRepositoryCommand).resolves({});
  // The warm sync lists the destination's tags in bulk (ECR ListImages): a new repository has none.
  ecr.on(ListImagesCommand).resolves({ imageIds: [] });
  network = await FakeNetwork.start();
  const src = new FakeRegistry(SOURCE, network);
  dst = new FakeRegistry(DEST, network);
  src.addImage("app/a", "1", [Buffer.from("layer ".repeat(100))], {
    architecture: "amd64",
    os: "linux",
    name: "a",
  });
});
afterEach(async () => {
  await network.close();
});

describe("the image sync and the catalog", () => {
  it("records a complete sync with each image's destination digest; a dry run records nothing", async () => {
    const store = catalog.store();
    const deps = {
      transportFor: transportPool({
        credentials: () => undefined,
        agents: network.agents,
        retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 0 },
      }),
      ecr: (region: string) =>
        new ECRClient({ region, credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "x" } }),
    };
    const started = new Date("2026-11-26T06:00:00Z");

    await runImageSyncJob(CONFIG, deps, { dryRun: true, catalog: store, now: () => started });
    expect(await store.newest("images")).toEqual([]);

    await runImageSyncJob(CONFIG, deps, { catalog: store, now: () => started });

    const [entry] = await store.newest("images");
    expect(entry).toMatchObject({ tier: "images", startedAt: started.toISOString(), copied: 1, upToDate: 0 });
    expect(entry?.images).toEqual([
      { source: `${SOURCE}/app/a:1`, destination: `${DEST}/app/a:1`, digest: dst.tagDigest("app/a", "1") },
    ]);
  });
});
