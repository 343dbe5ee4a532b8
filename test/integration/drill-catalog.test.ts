/**
 * The drill over the recovery-point catalog (dynalite): it restores the newest COMPLETE recovery point
 * (the restore's `{}` rule), records each result as a drill entry, takes the last success as its
 * baseline, and `gitpod-dr status` shows the last drill.
 */

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { beforeAll, describe, expect, it, vi } from "vitest";
import exampleConfig from "../../config/example.ts";
import { statusCommand } from "../../packages/cli/src/status.ts";
import { CatalogStore } from "../../packages/core/src/catalog/store.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { type DrillJobConfig, drillJobConfig } from "../../packages/core/src/config/drill.ts";
import { parseStageConfig } from "../../packages/core/src/config/stage.ts";
import { DrillNoRecoveryPointError } from "../../packages/core/src/drill/errors.ts";
import { catalogRecoveryPoints, lastDrill } from "../../packages/core/src/drill/recovery-points.ts";
import { finishDrill } from "../../packages/core/src/drill/result.ts";
import type { DrillResult } from "../../packages/core/src/drill/types.ts";
import {
  CATALOG_REGION,
  createCatalogTable,
  useLocalCatalog,
} from "../../packages/sim/src/catalog/dynalite.ts";
import {
  applicationEntry,
  bucketEntry,
  databaseEntry,
  imagesEntry,
} from "../../packages/sim/src/catalog/entries.ts";

const catalog = useLocalCatalog();
const DR_REGISTRY = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const SCOPE = { buckets: ["gitpod-workspace-backups"], images: true, application: true };
let base: DrillJobConfig;

beforeAll(() => {
  const stage = parseStageConfig(exampleConfig);
  base = drillJobConfig("drillcat", "123456789012", stage, catalogConfig("drillcat", stage));
});

const config = () => ({
  ...base,
  catalog: { tableName: catalog.tableName, region: CATALOG_REGION, scope: SCOPE },
});
const points = () =>
  catalogRecoveryPoints(config(), {
    store: catalog.store(),
    registry: DR_REGISTRY,
    now: () => new Date("2026-11-26T06:00:00Z"),
  });

/** Two snapshots inside every tier's bound, a newer one past the image sync, and one still copying. */
async function seed(): Promise<void> {
  const store = catalog.store();
  await store.put(databaseEntry("2026-11-25T03:00:00Z"));
  await store.put(databaseEntry("2026-11-26T03:00:00Z", "gitpod-dr-gitpod-db-complete"));
  await store.put(databaseEntry("2026-11-26T05:00:00Z", "gitpod-dr-gitpod-db-after-the-images"));
  await store.put({
    ...databaseEntry("2026-11-26T03:30:00Z", "gitpod-dr-gitpod-db-copying"),
    drCopyStatus: "copying",
  });
  await store.put(bucketEntry("gitpod-workspace-backups", "2026-11-26T05:30:00Z"));
  await store.put({
    ...imagesEntry("2026-11-26T04:00:00Z"),
    images: [
      {
        source: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gitpod/server:2024.11.0",
        destination: `${DR_REGISTRY}/gitpod/server:2024.11.0`,
        digest: "sha256:5e7",
      },
      // Synced, but not one the restore needs (and not in the drill's IAM): not checked.
      {
        source: "docker.io/library/busybox:1",
        destination: `${DR_REGISTRY}/library/busybox:1`,
        digest: "sha256:b0",
      },
    ],
  });
  await store.put(applicationEntry("2026-11-26T04:30:00Z", "gitpod-dr-velero-0430"));
}

const result = (over: Partial<DrillResult> & Pick<DrillResult, "drillId" | "startedAt">): DrillResult => ({
  recoveryPointId: "gitpod-dr-gitpod-db-complete+gitpod-dr-velero-0430",
  recoveryTime: "2026-11-26T03:00:00.000Z",
  finishedAt: new Date(Date.parse(over.startedAt) + 2_700_000).toISOString(),
  succeeded: true,
  rto: { database: 1500, application: 600, total: 2400 },
  rowCounts: { d_b_user: 12 },
  ...over,
});

describe("the drill's recovery points from the catalog", () => {
  it("picks the newest complete recovery point: no later than every other tier's copy, DR copy available", async () => {
    await seed();

    const point = await points().newest();

    expect(point).toEqual({
      id: "gitpod-dr-gitpod-db-complete+gitpod-dr-velero-0430",
      recoveryTime: "2026-11-26T03:00:00.000Z",
      database: {
        kind: "instance",
        snapshotIdentifier: "gitpod-dr-gitpod-db-complete",
        // Target dr: the DR copy.
        snapshotArn: "arn:aws:rds:eu-central-1:123456789012:snapshot:gitpod-dr-gitpod-db-complete",
        engine: "mysql",
        engineVersion: "8.0.39",
      },
      application: { backupName: "gitpod-dr-velero-0430", itemsBackedUp: 120 },
      images: [{ reference: `${DR_REGISTRY}/gitpod/server:2024.11.0`, digest: "sha256:5e7" }],
      objectStorage: [
        { bucket: "gitpod-workspace-backups", region: "eu-west-1", watermark: "2026-11-26T05:30:00.000Z" },
      ],
    });
  });

  it("refuses to drill without a complete recovery point, saying what is missing", async () => {
    await catalog.store().put(databaseEntry("2026-11-26T03:00:00Z"));

    const error = await points()
      .newest()
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DrillNoRecoveryPointError);
    expect((error as DrillNoRecoveryPointError).name).toBe("DrillNoRecoveryPoint");
    expect((error as DrillNoRecoveryPointError).problems).toEqual([
      "objectStorage: bucket gitpod-workspace-backups has no replication watermark",
      "images: no complete image sync",
      "application: no completed Velero backup",
    ]);
  });

  it("records every result in the catalog; the baseline is the last success, a later failure is the last drill", async () => {
    const p = points();
    await p.recordResult(result({ drillId: "20261119-0400-aaa111", startedAt: "2026-11-19T04:00:00.000Z" }));
    await p.recordResult(result({ drillId: "20261126-0400-bbb222", startedAt: "2026-11-26T04:00:00.000Z" }));
    const failed = result({
      drillId: "20261203-0400-ccc333",
      startedAt: "2026-12-03T04:00:00.000Z",
      succeeded: false,
      rto: { total: 900 },
      failure: { step: "Check database", error: "DrillVerificationFailed", cause: "table d_b_user is empty" },
    });
    delete (failed as { rowCounts?: unknown }).rowCounts;
    await p.recordResult(failed);
    // Safe to run twice: the same result overwrites itself.
    await p.recordResult(failed);

    const entries = await catalog.store().newest("drill", { limit: 10 });
    expect(entries.map((e) => [e.drillId, e.succeeded])).toEqual([
      ["20261203-0400-ccc333", false],
      ["20261126-0400-bbb222", true],
      ["20261119-0400-aaa111", true],
    ]);
    expect(entries[0]).toEqual({ tier: "drill", ...failed, recordedAt: "2026-11-26T06:00:00.000Z" });
    expect((await lastDrill(catalog.store()))?.drillId).toBe("20261203-0400-ccc333");
    expect(await p.previous()).toEqual(
      result({ drillId: "20261126-0400-bbb222", startedAt: "2026-11-26T04:00:00.000Z" }),
    );
  });

  it("rejects an invalid drill result, naming the field, and records nothing", async () => {
    const error = await points()
      .recordResult(
        result({
          drillId: "20261126-0400-bbb222",
          startedAt: "2026-11-26T04:00:00.000Z",
          finishedAt: "yesterday",
        }),
      )
      .catch((e: unknown) => e as Error);

    expect(error).toMatchObject({ name: "CatalogWriteFailed" });
    expect((error as Error).message).toMatch(/finishedAt.*must be an ISO 8601 time/);
    expect(await catalog.store().newest("drill")).toEqual([]);
  });

  it("a finished drill lands in the catalog with its recovery point and measured RTO", async () => {
    const published: string[] = [];
    const outcome = await finishDrill(
      {
        action: "finish",
        executionArn: "arn:aws:states:eu-central-1:123456789012:execution:gitpod-dr-drillcat-drill:run1",
        state: {
          drill: {
            drillId: "20261126-0400-ddd444",
            startedAt: "2026-11-26T04:00:00.000Z",
            region: "eu-central-1",
            point: await (async () => {
              await seed();
              return points().newest();
            })(),
            leftoversRemoved: [],
          },
        },
      } as never,
      "drillcat",
      {
        now: () => new Date("2026-11-26T04:45:00Z"),
        points,
        publish: async (n) => {
          published.push(n.subject);
          return "m-1";
        },
        cloudwatch: () => ({ send: vi.fn(async () => ({})) }) as never,
      },
    );

    const [entry] = await catalog.store().newest("drill");
    expect(entry).toMatchObject({
      tier: "drill",
      drillId: "20261126-0400-ddd444",
      recoveryPointId: "gitpod-dr-gitpod-db-complete+gitpod-dr-velero-0430",
      recoveryTime: "2026-11-26T03:00:00.000Z",
      startedAt: "2026-11-26T04:00:00.000Z",
      finishedAt: "2026-11-26T04:45:00.000Z",
      succeeded: true,
    });
    expect(outcome.succeeded).toBe(true);
    expect(entry?.rto?.total).toBe(2700);
    expect(published).toHaveLength(1);
  });
});

describe("gitpod-dr status shows the last drill", () => {
  it("in its table and in --json", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-drill-status-"));
    const file = join(dir, "drillcat.ts");
    writeFileSync(
      file,
      `export default ${JSON.stringify({
        database: { identifier: "gitpod-db", kind: "instance" },
        regions: { primary: "eu-west-1", dr: CATALOG_REGION },
        dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" },
        retention: { keepLast: 7, maxAgeDays: 14 },
        schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
      })};\n`,
    );
    // status reads gitpod-dr-<stage>-catalog: this test's table under the stage's name.
    const raw = new DynamoDBClient({
      endpoint: catalog.endpoint,
      region: CATALOG_REGION,
      credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
    });
    await createCatalogTable(raw, "gitpod-dr-drillcat-catalog");
    raw.destroy();
    const store = new CatalogStore(catalog.client, "gitpod-dr-drillcat-catalog");
    const p = catalogRecoveryPoints(
      { ...config(), catalog: { ...config().catalog, tableName: store.tableName } },
      { store, now: () => new Date("2026-11-26T05:00:00Z") },
    );
    await p.recordResult(result({ drillId: "20261126-0400-bbb222", startedAt: "2026-11-26T04:00:00.000Z" }));
    vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", catalog.endpoint);
    vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
    vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
    try {
      const out: string[] = [];
      await statusCommand(
        ["--config", file],
        { out: (t) => out.push(t) },
        () => new Date("2026-11-26T06:00:00Z"),
      );
      const text = out.join("\n");
      expect(text).toMatch(
        /^last drill +recovery point gitpod-dr-gitpod-db-complete\+gitpod-dr-velero-0430, RTO 40m \(database 25m, application 10m\) +1h 15m +PASSED$/m,
      );
      expect(text).toContain(
        "Last drill: 20261126-0400-bbb222 finished 2026-11-26T04:45:00.000Z, PASSED: recovery point gitpod-dr-gitpod-db-complete+gitpod-dr-velero-0430 (recovery time 2026-11-26T03:00:00.000Z), RTO 40m (database 25m, application 10m)",
      );

      const json: string[] = [];
      await statusCommand(
        ["--config", file, "--json"],
        { out: (t) => json.push(t) },
        () => new Date("2026-11-26T06:00:00Z"),
      );
      expect(JSON.parse(json.join("\n")).lastDrill).toEqual({
        drillId: "20261126-0400-bbb222",
        finishedAt: "2026-11-26T04:45:00.000Z",
        ageSeconds: 4500,
        recoveryPointId: "gitpod-dr-gitpod-db-complete+gitpod-dr-velero-0430",
        recoveryTime: "2026-11-26T03:00:00.000Z",
        verdict: "PASSED",
        rto: { database: 1500, application: 600, total: 2400 },
      });
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
