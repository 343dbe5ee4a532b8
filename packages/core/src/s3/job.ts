import pLimit from "p-limit";
import { objectStorageEntries, recordEntries } from "../catalog/record.ts";
import type { StorageJobConfig } from "../config/storage.ts";
import type { JobLogger } from "../logger.ts";
import { schedulePeriodMs } from "../schedule.ts";
import { checkBucket } from "./bucket.ts";
import { publishCanaryAges } from "./cloudwatch.ts";
import { discoverBuckets, rotatingSample } from "./discovery.ts";
import { ReplicationUnhealthyError } from "./errors.ts";
import {
  type BucketReport,
  type CheckContext,
  healthOf,
  type StorageCheckInput,
  type StorageCheckSummary,
  type StorageDeps,
} from "./types.ts";

/**
 * The scheduled S3 replication check: per source bucket, the configuration audit, the canary round
 * trip (write this run's, verify earlier ones), replication metrics, a bounded sample, and opt-in
 * backlog repair with S3 Batch Replication. It never waits inside a run.
 *
 * The pieces: `discovery.ts` (which buckets), `bucket.ts` (one bucket's check), `repair.ts` (Batch
 * Replication), `api.ts` (the S3 and S3 Control calls), `cloudwatch.ts` (metrics read and published).
 */

export type { BucketReport, StorageCheckInput, StorageCheckSummary, StorageDeps } from "./types.ts";

async function publishMetrics(ctx: CheckContext, reports: readonly BucketReport[]): Promise<void> {
  const ages = reports
    .filter((r) => r.secondsSinceReplicatedCanary !== undefined)
    .map((r) => ({ bucket: r.bucket, seconds: r.secondsSinceReplicatedCanary as number }));
  if (ages.length === 0 || ctx.dryRun) return;
  await publishCanaryAges(ctx.deps.cloudwatch, ages, ctx.now);
}

/** The failures of a run, listed (at most 25) in the error's message. */
function unhealthyError(summary: StorageCheckSummary): ReplicationUnhealthyError {
  const failures = summary.findings.filter((f) => f.severity === "failure");
  const listed = failures.slice(0, 25).map((f) => `${f.check}: ${f.message}`);
  return new ReplicationUnhealthyError(
    `S3 replication of stage ${summary.stage} is failing: ${failures.length} failure(s) in ${new Set(failures.map((f) => f.bucket)).size} bucket(s):\n  ${listed.join("\n  ")}${failures.length > 25 ? `\n  …and ${failures.length - 25} more (see the log)` : ""}`,
    summary,
  );
}

/**
 * One run of the check.
 * @throws ReplicationUnhealthyError when any finding is a failure (after every bucket was checked).
 * @throws CatalogWriteError when the watermarks could not be recorded (the check itself ran).
 * @throws AwsAccessDeniedError, AwsThrottledError, AwsCallError when the buckets cannot be discovered.
 */
export async function runStorageCheck(
  input: StorageCheckInput,
  config: StorageJobConfig,
  deps: StorageDeps,
  options: {
    readonly now?: Date;
    readonly random?: () => number;
    readonly logger?: JobLogger;
    readonly concurrency?: number;
  } = {},
): Promise<StorageCheckSummary> {
  const now = options.now ?? new Date();
  const ctx: CheckContext = {
    config,
    deps,
    dryRun: input.dryRun,
    now,
    random: options.random ?? Math.random,
  };
  const storage = config.storage;
  const explicit = new Set(storage.buckets);
  // Replicas whose names match a source prefix (gitpod-user- / gitpod-user-dr-) are not sources.
  const isDestination = (b: string) =>
    storage.destinations.buckets.includes(b) ||
    storage.destinations.bucketPrefixes.some((p) => b.startsWith(p));
  const discovered = (await discoverBuckets(deps.s3, storage.bucketPrefixes)).filter(
    (b) => !explicit.has(b) && !isDestination(b),
  );
  const withCanary = new Set([
    ...explicit,
    ...rotatingSample(discovered, storage.canary.discoveredPerRun, now, schedulePeriodMs(storage.schedule)),
  ]);
  const limit = pLimit(options.concurrency ?? 8);
  const all = [...explicit, ...discovered];
  const reports = await Promise.all(
    all.map((b) => limit(() => checkBucket(ctx, b, !explicit.has(b), withCanary.has(b)))),
  );
  reports.sort((a, b) => a.bucket.localeCompare(b.bucket));
  await publishMetrics(ctx, reports);
  const findings = reports.flatMap((r) => r.findings);
  const summary: StorageCheckSummary = {
    stage: config.stage,
    dryRun: input.dryRun,
    health: healthOf(findings),
    buckets: reports,
    findings,
    canaryBuckets: withCanary.size,
    discoveredBuckets: discovered.length,
  };
  options.logger?.info("S3 replication check finished", {
    health: summary.health,
    buckets: reports.length,
    findings: findings.length,
  });
  // Buckets failing replication claim no watermark; the healthy ones' are recorded even then. Only the
  // named buckets: they are the recovery point's (prefix-discovered ones get a canary only in rotation).
  if (deps.catalog && !input.dryRun) {
    await recordEntries(
      deps.catalog,
      objectStorageEntries(summary, now).filter((e) => explicit.has(e.bucket)),
      `The S3 replication check of stage ${config.stage} finished (${summary.health})`,
    );
  }
  if (summary.health === "failed") throw unhealthyError(summary);
  return summary;
}
