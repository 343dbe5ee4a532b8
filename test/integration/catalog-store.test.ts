/**
 * The catalog store against dynalite (a DynamoDB implementation): what is put is what is read back,
 * newest first per tier and bucket; a repeated put changes nothing; invalid entries are refused.
 */
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { CatalogReadError, CatalogWriteError } from "../../packages/core/src/catalog/errors.ts";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import { newestRecoveryPoint } from "../../packages/core/src/catalog/view.ts";
import { CATALOG_REGION, useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import {
  applicationEntry,
  bucketEntry,
  databaseEntry,
  imagesEntry,
} from "../../packages/sim/src/catalog/entries.ts";

const catalog = useLocalCatalog();

describe("catalog store (dynalite)", () => {
  it("reads back each tier's newest entries, newest first, per bucket for object storage", async () => {
    const store = catalog.store();
    for (const day of [24, 26, 25]) await store.put(databaseEntry(`2026-11-${day}T03:00:00Z`));
    await store.put(bucketEntry("backups", "2026-11-26T05:00:00Z"));
    await store.put(bucketEntry("backups", "2026-11-26T06:00:00Z"));
    await store.put(bucketEntry("other", "2026-11-26T01:00:00Z"));
    await store.put(imagesEntry("2026-11-26T00:00:00Z"));
    await store.put(applicationEntry("2026-11-26T02:00:00Z"));

    const db = await store.newest("database", { limit: 2 });
    expect(db.map((e) => e.recoveryTime)).toEqual(["2026-11-26T03:00:00.000Z", "2026-11-25T03:00:00.000Z"]);
    expect(db[0]).toEqual(databaseEntry("2026-11-26T03:00:00Z"));
    expect((await store.newest("objectStorage", { bucket: "backups" }))[0]?.watermark).toBe(
      "2026-11-26T06:00:00.000Z",
    );
    expect((await store.newest("objectStorage", { bucket: "other" }))[0]?.watermark).toBe(
      "2026-11-26T01:00:00.000Z",
    );
    expect(await store.newest("objectStorage", { bucket: "none" })).toEqual([]);
    expect(await store.newest("images")).toEqual([imagesEntry("2026-11-26T00:00:00Z")]);
    expect(await store.newest("application")).toEqual([applicationEntry("2026-11-26T02:00:00Z")]);
  });

  it("records idempotently: the same entry twice is one item", async () => {
    const store = catalog.store();
    const entry = databaseEntry("2026-11-26T03:00:00Z");
    await store.put(entry);
    await store.put(entry);
    expect(await store.newest("database", { limit: 10 })).toEqual([entry]);
  });

  it("refuses an invalid entry, naming the field, and writes nothing", async () => {
    const store = catalog.store();
    const bad = { ...databaseEntry("2026-11-26T03:00:00Z"), recoveryTime: "yesterday" };
    const error = await store.put(bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogWriteError);
    expect((error as Error).message).toContain("recoveryTime: must be an ISO 8601 time");
    expect(await store.newest("database")).toEqual([]);
  });

  it("reports an item it cannot read as CatalogReadFailed", async () => {
    const raw = new DynamoDBClient({
      endpoint: catalog.endpoint,
      region: CATALOG_REGION,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await raw.send(
      new PutItemCommand({
        TableName: catalog.tableName,
        Item: {
          pk: { S: "database" },
          sk: { S: "2026-11-26T03:00:00.000Z#x" },
          entry: { M: { tier: { S: "database" } } },
        },
      }),
    );
    const error = await catalog
      .store()
      .newest("database")
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogReadError);
    expect((error as Error).name).toBe("CatalogReadFailed");
    raw.destroy();
  });

  it("a write to a missing table is CatalogWriteFailed, retryable (the job runs again and records)", async () => {
    const store = new CatalogStore(catalog.client, "gitpod-dr-nosuch-catalog");
    const error = await store.put(databaseEntry("2026-11-26T03:00:00Z")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CatalogWriteError);
    expect((error as CatalogWriteError).retryable).toBe(true);
    expect((error as Error).message).toContain("ResourceNotFoundException");
  });

  it("computes the newest complete recovery point from the table", async () => {
    const store = catalog.store();
    for (const day of [24, 25, 26]) await store.put(databaseEntry(`2026-11-${day}T03:00:00Z`));
    await store.put(bucketEntry("backups", "2026-11-26T01:00:00Z"));
    await store.put(imagesEntry("2026-11-26T00:00:00Z"));
    await store.put(applicationEntry("2026-11-26T02:00:00Z"));
    const result = await newestRecoveryPoint(store, {
      buckets: ["backups"],
      images: true,
      application: true,
    });
    expect(result.point?.database.recoveryTime).toBe("2026-11-25T03:00:00.000Z");
    expect(result.point?.application?.backupName).toBe(applicationEntry("2026-11-26T02:00:00Z").backupName);

    const unreachable = new CatalogStore(
      DynamoDBDocumentClient.from(
        new DynamoDBClient({
          endpoint: "http://127.0.0.1:9",
          region: CATALOG_REGION,
          maxAttempts: 1,
          credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
        }),
      ),
      catalog.tableName,
    );
    await expect(
      newestRecoveryPoint(unreachable, { buckets: [], images: false, application: false }),
    ).rejects.toThrow(CatalogReadError);
  });
});
