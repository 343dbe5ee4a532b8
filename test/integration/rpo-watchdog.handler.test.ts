/**
 * The RPO watchdog's handler against the real catalog (dynalite, through AWS_ENDPOINT_URL_DYNAMODB),
 * with a virtual clock: what it publishes as RecoveryPointAge and reports per tier. RDS (the DR copy
 * check) and CloudWatch (the metrics) are client mocks; the alarms on the metrics are in the stack tests.
 */
import { CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import { DescribeDBSnapshotsCommand, RDSClient } from "@aws-sdk/client-rds";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { WatchdogReport } from "../../packages/core/src/catalog/watchdog.ts";
import { CATALOG_REGION, useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import { applicationEntry, bucketEntry, databaseEntry } from "../../packages/sim/src/catalog/entries.ts";
import { lambdaContextFor, scheduledEventFor } from "../../packages/sim/src/lambda.ts";

const catalog = useLocalCatalog();
const HOUR = 3_600_000;
const T0 = new Date("2026-11-26T04:00:00Z");

const rds = mockClient(RDSClient);
const cloudwatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);

function config() {
  return {
    stage: "prod",
    catalog: {
      tableName: catalog.tableName,
      region: CATALOG_REGION,
      scope: { buckets: ["backups"], images: false, application: true, applicationPeriodMs: 24 * HOUR },
    },
    // The S3 check runs hourly: 2 h; the database daily: 26 h; the application daily, recorded a run late: 50 h.
    rpoSeconds: { database: 26 * 3600, objectStorage: 2 * 3600, application: 50 * 3600 },
    database: { identifier: "gitpod", kind: "instance" },
  };
}

async function runAt(at: Date): Promise<WatchdogReport> {
  vi.setSystemTime(at);
  vi.resetModules();
  const { handler } = await import("../../packages/functions/src/rpo-watchdog.ts");
  return (await handler(
    scheduledEventFor("gitpod-dr-prod-rpo-watchdog", { time: at.toISOString(), region: CATALOG_REGION }),
    lambdaContextFor("gitpod-dr-prod-RpoWatchdog", { region: CATALOG_REGION }),
  )) as WatchdogReport;
}

/** The RecoveryPointAge values of the last PutMetricData, by Tier (and Bucket). */
function lastAges(): Record<string, number | undefined> {
  const calls = cloudwatch.commandCalls(PutMetricDataCommand);
  const input = calls[calls.length - 1]?.args[0].input;
  expect(input?.Namespace).toBe("GitpodDR");
  return Object.fromEntries(
    (input?.MetricData ?? []).map((d) => {
      const dims = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
      expect(d.MetricName).toBe("RecoveryPointAge");
      expect(dims.Stage).toBe("prod");
      return [dims.Bucket ? `${dims.Tier}/${dims.Bucket}` : dims.Tier, d.Value];
    }),
  );
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.stubEnv("GITPOD_DR_STAGE", "prod");
  vi.stubEnv("GITPOD_DR_TOPIC_ARN", `arn:aws:sns:${CATALOG_REGION}:123456789012:gitpod-dr-prod-alerts`);
  vi.stubEnv("GITPOD_DR_CONFIG", JSON.stringify(config()));
  vi.stubEnv("AWS_REGION", CATALOG_REGION);
  vi.stubEnv("AWS_ENDPOINT_URL_DYNAMODB", catalog.endpoint);
  vi.stubEnv("AWS_ACCESS_KEY_ID", "testing");
  vi.stubEnv("AWS_SECRET_ACCESS_KEY", "testing");
  vi.stubEnv("POWERTOOLS_LOG_LEVEL", "SILENT");
  rds.reset();
  cloudwatch.reset();
  sns.reset();
  cloudwatch.on(PutMetricDataCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

describe("rpo-watchdog handler", () => {
  it("reports a tier whose job stopped three periods ago as a breach, and OK again once it recovers", async () => {
    const store = catalog.store();
    const copy = databaseEntry("2026-11-26T03:00:00Z");
    await store.put({ ...copy, drCopyStatus: "copying" });
    await store.put(bucketEntry("backups", "2026-11-26T03:30:00Z"));
    await store.put(applicationEntry("2026-11-25T02:00:00Z"));
    rds.on(DescribeDBSnapshotsCommand).resolves({
      DBSnapshots: [
        { DBSnapshotIdentifier: copy.snapshotId, DBSnapshotArn: copy.drCopyArn, Status: "available" },
      ],
    });

    // 04:00: every tier within its target; the finished copy is confirmed available in the catalog.
    const first = await runAt(T0);
    expect(first.tiers.map((t) => [t.tier, t.status])).toEqual([
      ["database", "OK"],
      ["objectStorage", "OK"],
      ["application", "OK"],
    ]);
    expect(first.confirmed).toEqual([copy.snapshotId]);
    expect((await store.newest("database"))[0]?.drCopyStatus).toBe("available");
    expect(lastAges()).toEqual({
      database: 3600,
      objectStorage: 1800,
      "objectStorage/backups": 1800,
      application: 26 * 3600,
    });
    // No complete recovery point yet: the only snapshot is newer than the Velero backup.
    expect(first.recoveryPoint.missing).toEqual([
      expect.stringMatching(/^database: no snapshot .* at or before 2026-11-25T02:00:00.000Z/),
    ]);

    // The hourly S3 check stopped after 03:30: three periods later the tier is breached, and its
    // metric says how old it is (its alarm compares it with the target).
    const stopped = await runAt(new Date(Date.parse("2026-11-26T03:30:00Z") + 3 * HOUR + 60_000));
    expect(stopped.tiers.find((t) => t.tier === "objectStorage")).toMatchObject({
      status: "BREACH",
      ageSeconds: 3 * 3600 + 60,
      targetSeconds: 7200,
      newest: "bucket backups replicated up to 2026-11-26T03:30:00.000Z",
    });
    expect(lastAges().objectStorage).toBe(3 * 3600 + 60);
    expect(stopped.tiers.find((t) => t.tier === "database")?.status).toBe("OK");

    // It recovers: a fresh watermark, and the tier is OK again.
    await store.put(bucketEntry("backups", "2026-11-26T06:30:00Z"));
    const recovered = await runAt(new Date("2026-11-26T06:45:00Z"));
    expect(recovered.tiers.find((t) => t.tier === "objectStorage")).toMatchObject({
      status: "OK",
      ageSeconds: 900,
    });
    expect(lastAges().objectStorage).toBe(900);
    // The watchdog reports breaches through its metrics and alarms, never as a failed run.
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
  });

  it("publishes no age for a tier with no copy (its alarm treats the missing data as breaching), and drops a vanished DR copy", async () => {
    const store = catalog.store();
    const gone = databaseEntry("2026-11-26T03:00:00Z");
    const older = databaseEntry("2026-11-25T03:00:00Z");
    await store.put(gone);
    await store.put(older);
    await store.put(bucketEntry("backups", "2026-11-26T03:30:00Z"));
    rds
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: gone.snapshotId })
      .rejects(Object.assign(new Error("not found"), { name: "DBSnapshotNotFoundFault", $metadata: {} }))
      .on(DescribeDBSnapshotsCommand, { DBSnapshotIdentifier: older.snapshotId })
      .resolves({ DBSnapshots: [{ DBSnapshotIdentifier: older.snapshotId, Status: "available" }] });

    const report = await runAt(T0);

    expect(report.missingCopies).toEqual([gone.snapshotId]);
    expect(report.tiers.find((t) => t.tier === "database")).toMatchObject({
      status: "OK",
      ageSeconds: 25 * 3600,
    });
    expect(report.tiers.find((t) => t.tier === "application")).toMatchObject({
      status: "BREACH",
      newest: "no completed Velero backup recorded",
    });
    expect(Object.keys(lastAges()).sort()).toEqual(["database", "objectStorage", "objectStorage/backups"]);
  });

  it("fails (one notification, no metrics) when the catalog cannot be read", async () => {
    vi.stubEnv(
      "GITPOD_DR_CONFIG",
      JSON.stringify({ ...config(), catalog: { ...config().catalog, tableName: "gitpod-dr-none-catalog" } }),
    );
    const error = await runAt(T0).catch((e: unknown) => e);
    expect((error as Error).name).toBe("CatalogReadFailed");
    expect(cloudwatch.commandCalls(PutMetricDataCommand)).toHaveLength(0);
    const sent = sns.commandCalls(PublishCommand);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.args[0].input.Message).toContain("CatalogReadFailed");
  });
});
