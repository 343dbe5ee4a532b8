/**
 * The S3 check records each named bucket's replication watermark in the catalog (dynalite), on the fake
 * S3: none before a canary is verified, the verified canary's write time after, nothing in a dry run.
 */
import { describe, expect, it } from "vitest";
import { runStorageCheck } from "../../packages/core/src/s3/job.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import {
  FakeS3World,
  jobConfig,
  minutesAfter,
  SOURCE,
  seededRandom,
  T0,
} from "../../packages/sim/src/s3/fake-s3.ts";

const catalog = useLocalCatalog();

describe("the S3 check and the catalog", () => {
  it("records the named bucket's watermark once a canary is verified in the replica", async () => {
    const world = FakeS3World.create();
    world.replicatingPair();
    const store = catalog.store();
    const deps = { ...world.deps, catalog: store };
    const run = (now: Date, dryRun = false) =>
      runStorageCheck({ dryRun }, jobConfig(), deps, { now, random: seededRandom(7) });

    await run(T0);
    expect(await store.newest("objectStorage", { bucket: SOURCE })).toEqual([]);

    world.replicate();
    await run(minutesAfter(T0, 10), true);
    expect(await store.newest("objectStorage", { bucket: SOURCE })).toEqual([]);

    await run(minutesAfter(T0, 10));
    expect(await store.newest("objectStorage", { bucket: SOURCE })).toEqual([
      {
        tier: "objectStorage",
        bucket: SOURCE,
        watermark: T0.toISOString(),
        lagSeconds: 600,
        warnings: 0,
        recordedAt: minutesAfter(T0, 10).toISOString(),
      },
    ]);
  });
});
