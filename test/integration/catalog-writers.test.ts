/**
 * What each tier's job records (the entry builders of catalog/record.ts), written to dynalite through
 * the one recording function.
 */
import { describe, expect, it } from "vitest";
import { CatalogWriteError } from "../../packages/core/src/catalog/errors.ts";
import {
  applicationEntry,
  imagesEntry,
  objectStorageEntries,
  recordEntries,
} from "../../packages/core/src/catalog/record.ts";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import type { StorageCheckSummary } from "../../packages/core/src/s3/types.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";

const catalog = useLocalCatalog();
const NOW = new Date("2026-11-26T06:00:00Z");

describe("tier entries recorded in the catalog", () => {
  it("object storage: a watermark per bucket with a verified canary and no failure", async () => {
    const summary: StorageCheckSummary = {
      stage: "test",
      dryRun: false,
      health: "failed",
      canaryBuckets: 3,
      discoveredBuckets: 0,
      findings: [],
      buckets: [
        {
          bucket: "healthy",
          discovered: false,
          health: "degraded",
          findings: [
            { bucket: "healthy", severity: "warning", check: "metric-threshold", message: "latency" },
          ],
          lastReplicatedCanary: "2026-11-26T05:00:00.000Z",
        },
        {
          bucket: "failing",
          discovered: false,
          health: "failed",
          findings: [],
          lastReplicatedCanary: "2026-11-26T05:00:00.000Z",
        },
        { bucket: "no-canary-yet", discovered: true, health: "healthy", findings: [] },
      ],
    };
    const store = catalog.store();
    await recordEntries(store, objectStorageEntries(summary, NOW), "checked");
    expect(await store.newest("objectStorage", { bucket: "healthy" })).toEqual([
      {
        tier: "objectStorage",
        bucket: "healthy",
        watermark: "2026-11-26T05:00:00.000Z",
        lagSeconds: 3600,
        warnings: 1,
        recordedAt: NOW.toISOString(),
      },
    ]);
    expect(await store.newest("objectStorage", { bucket: "failing" })).toEqual([]);
    expect(await store.newest("objectStorage", { bucket: "no-canary-yet" })).toEqual([]);
  });

  it("images: the sync's start, and source → destination digest of every good image", async () => {
    const store = catalog.store();
    const entry = imagesEntry(
      [
        { source: "a.example/x:1", destination: "b.example/x:1", status: "copied", digest: "sha256:1" },
        { source: "a.example/y:1", destination: "b.example/y:1", status: "up-to-date", digest: "sha256:2" },
      ],
      { startedAt: new Date("2026-11-26T00:00:00Z"), completedAt: new Date("2026-11-26T00:10:00Z") },
    );
    await recordEntries(store, [entry], "synced");
    const [read] = await store.newest("images");
    expect(read?.startedAt).toBe("2026-11-26T00:00:00.000Z");
    expect(read?.images).toEqual([
      { source: "a.example/x:1", destination: "b.example/x:1", digest: "sha256:1" },
      { source: "a.example/y:1", destination: "b.example/y:1", digest: "sha256:2" },
    ]);
    expect([read?.copied, read?.upToDate]).toEqual([1, 1]);
  });

  it("application: only a Completed backup, with its times and item counts", async () => {
    const report = {
      name: "gitpod-dr-202611260200",
      phase: "Completed",
      terminal: true,
      errors: 0,
      warnings: 0,
      validationErrors: [],
      progress: { done: 118, total: 120 },
      createdAt: new Date("2026-11-26T02:00:00Z"),
      completedAt: new Date("2026-11-26T02:04:00Z"),
    };
    const where = { cluster: "gitpod", storageLocation: "default" };
    expect(applicationEntry({ ...report, phase: "PartiallyFailed" }, where, NOW)).toBeUndefined();
    const store = catalog.store();
    await recordEntries(store, [applicationEntry(report, where, NOW) ?? []].flat(), "backed up");
    expect(await store.newest("application")).toEqual([
      {
        tier: "application",
        backupName: "gitpod-dr-202611260200",
        phase: "Completed",
        cluster: "gitpod",
        storageLocation: "default",
        startedAt: "2026-11-26T02:00:00.000Z",
        completedAt: "2026-11-26T02:04:00.000Z",
        itemsBackedUp: 118,
        totalItems: 120,
        recordedAt: NOW.toISOString(),
      },
    ]);
  });

  it("a write that fails says what was done and that the next run records it", async () => {
    const store = new CatalogStore(catalog.client, "gitpod-dr-gone-catalog");
    const entry = imagesEntry([], { startedAt: NOW, completedAt: NOW });
    const error = await recordEntries(store, [entry], "The image sync of stage test finished").catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CatalogWriteError);
    expect((error as Error).message).toMatch(
      /^The image sync of stage test finished, but image sync of .* could not be recorded in catalog gitpod-dr-gone-catalog: .*the next run records it/,
    );
  });
});
