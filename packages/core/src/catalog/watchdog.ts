import { type CloudWatchClient, type MetricDatum, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import type { RDSClient } from "@aws-sdk/client-rds";
import * as z from "zod";
import { wrapAwsError } from "../aws/errors.ts";
import type { WatchdogJobConfig } from "../config/watchdog.ts";
import { parseJobEvent } from "../input.ts";
import type { JobLogger } from "../logger.ts";
import { MAX_BUCKET_METRICS, METRIC_NAMESPACE, RECOVERY_POINT_AGE } from "../metrics.ts";
import { snapshotApi } from "../rds/api.ts";
import { type TierAge, tierAges } from "./ages.ts";
import type { DatabaseEntry } from "./entries.ts";
import { type CatalogView, type RecoveryPointResult, recoveryPoint } from "./recovery-point.ts";
import type { CatalogStore } from "./store.ts";
import { readCatalogView } from "./view.ts";

/**
 * The RPO watchdog (every 15 minutes, in the DR region): reads the catalog, checks the newest database
 * entries against RDS in the DR region (the copy exists and is available; a copy that finished copying
 * is recorded as available), and publishes `RecoveryPointAge` per tier and per bucket. A tier with no
 * copy publishes nothing: its alarm treats missing data as breaching, as it does when the watchdog stops.
 */

export interface WatchdogDeps {
  readonly store: CatalogStore;
  /** RDS in the DR region, where the copies are. */
  readonly rdsDr: RDSClient;
  /** CloudWatch in the DR region, where the alarms are. */
  readonly cloudwatch: Pick<CloudWatchClient, "send">;
  readonly now: () => Date;
  readonly logger?: JobLogger;
}

export interface WatchdogReport {
  readonly stage: string;
  readonly at: string;
  readonly tiers: readonly TierAge[];
  readonly recoveryPoint: RecoveryPointResult;
  /** Database entries the check changed: confirmed available, or found missing in the DR region. */
  readonly confirmed: readonly string[];
  readonly missingCopies: readonly string[];
  readonly metricsPublished: number;
}

/** Database entries checked per run (the newest ones): bounded RDS calls. */
const CHECKED_ENTRIES = 3;

/**
 * Checks the newest database entries against the DR region: a `copying` one now available is recorded
 * as available; an `available` one whose copy is gone or not available is left out of this run's view
 * (the next older one counts), and reported.
 * @throws CatalogWriteError, and the Aws* errors of DescribeDB(Cluster)Snapshots.
 */
async function checkDatabase(
  view: CatalogView,
  deps: WatchdogDeps,
): Promise<{ view: CatalogView; confirmed: string[]; missing: string[] }> {
  const newest = [...view.database]
    .sort((a, b) => Date.parse(b.recoveryTime) - Date.parse(a.recoveryTime))
    .slice(0, CHECKED_ENTRIES);
  const confirmed: string[] = [];
  const missing = new Set<string>();
  const replaced = new Map<string, DatabaseEntry>();
  for (const entry of newest) {
    let copy: Awaited<ReturnType<ReturnType<typeof snapshotApi>["describeSnapshot"]>>;
    try {
      copy = await snapshotApi(entry.kind).describeSnapshot(deps.rdsDr, entry.snapshotId);
    } catch (error) {
      throw wrapAwsError(`Unable to check the DR copy ${entry.snapshotId}`, error);
    }
    if (copy?.status === "available" && entry.drCopyStatus === "copying") {
      const available: DatabaseEntry = {
        ...entry,
        drCopyStatus: "available",
        recordedAt: deps.now().toISOString(),
      };
      await deps.store.put(available);
      replaced.set(entry.snapshotId, available);
      confirmed.push(entry.snapshotId);
    } else if (entry.drCopyStatus === "available" && copy?.status !== "available") {
      missing.add(entry.snapshotId);
    }
  }
  const database = view.database
    .filter((e) => !missing.has(e.snapshotId))
    .map((e) => replaced.get(e.snapshotId) ?? e);
  return { view: { ...view, database }, confirmed, missing: [...missing] };
}

/** The metric data of the ages: per tier with an age, and per bucket (bounded). */
function metricData(stage: string, tiers: readonly TierAge[], at: Date): MetricDatum[] {
  const datum = (seconds: number, dimensions: Record<string, string>): MetricDatum => ({
    MetricName: RECOVERY_POINT_AGE,
    Unit: "Seconds",
    Timestamp: at,
    Value: seconds,
    Dimensions: Object.entries({ Stage: stage, ...dimensions }).map(([Name, Value]) => ({ Name, Value })),
  });
  return tiers.flatMap((t) => [
    ...(t.ageSeconds !== undefined ? [datum(t.ageSeconds, { Tier: t.tier })] : []),
    ...(t.buckets ?? [])
      .slice(0, MAX_BUCKET_METRICS)
      .flatMap((b) =>
        b.ageSeconds !== undefined ? [datum(b.ageSeconds, { Tier: t.tier, Bucket: b.bucket })] : [],
      ),
  ]);
}

/**
 * One run of the watchdog.
 * @throws CatalogReadError, CatalogWriteError, and the Aws* errors (RDS, CloudWatch): the run fails and
 *   publishes nothing, so the alarms see missing data.
 */
export async function runWatchdog(config: WatchdogJobConfig, deps: WatchdogDeps): Promise<WatchdogReport> {
  const now = deps.now();
  const scope = config.catalog.scope;
  const checked = await checkDatabase(await readCatalogView(deps.store, scope), deps);
  const tiers = tierAges(checked.view, scope, config.rpoSeconds, now);
  const data = metricData(config.stage, tiers, now);
  // PutMetricData takes up to 1000 values a call: 4 tiers and at most MAX_BUCKET_METRICS buckets fit.
  if (data.length > 0) {
    try {
      await deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: data }));
    } catch (error) {
      throw wrapAwsError(`Unable to publish ${RECOVERY_POINT_AGE} to CloudWatch`, error);
    }
  }
  const report: WatchdogReport = {
    stage: config.stage,
    at: now.toISOString(),
    tiers,
    recoveryPoint: recoveryPoint(checked.view, scope),
    confirmed: checked.confirmed,
    missingCopies: checked.missing,
    metricsPublished: data.length,
  };
  for (const t of tiers.filter((t) => t.status === "BREACH")) {
    deps.logger?.warn("Recovery point older than its RPO target", { ...t });
  }
  if (checked.missing.length > 0) {
    deps.logger?.warn("DR copies recorded as available are gone or not available", {
      copies: checked.missing,
    });
  }
  deps.logger?.info("RPO watchdog", {
    tiers: tiers.map((t) => `${t.tier} ${t.status}`),
    metrics: data.length,
  });
  return report;
}

/**
 * Validates the watchdog's event: an EventBridge scheduled event, or `{}` for a run by hand.
 * @throws InvalidInputError naming each invalid field.
 */
export function parseWatchdogEvent(event: unknown): Record<string, never> {
  parseJobEvent(event, "RPO watchdog", {
    scheduled: z.looseObject({ "detail-type": z.literal("Scheduled Event") }),
    manual: z.strictObject({}),
  });
  return {};
}
