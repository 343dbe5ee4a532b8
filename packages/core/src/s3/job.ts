import { createHash, randomBytes } from "node:crypto";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { ReplicationConfiguration, ReplicationRule, S3Client } from "@aws-sdk/client-s3";
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import pLimit from "p-limit";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import type { StorageJobConfig } from "../config.ts";
import { AwsAccessDeniedError, GitpodDrError } from "../errors.ts";
import type { JobLogger } from "../logger.ts";
import {
  auditReplication,
  bucketOfArn,
  coveringRules,
  type DestinationFacts,
  destinationsOf,
  rulePrefix,
  type SourceFacts,
} from "./audit.ts";
import { type CanaryObservation, canaryKey, canaryTime, judgeCanaries } from "./canary.ts";
import { judgeMetrics, METRIC_NAMESPACE, REPLICATION_METRICS, type RuleMetrics } from "./metrics.ts";
import { countStatuses, judgeSample, type StatusCounts, sample } from "./sampling.ts";
import { type Finding, type Health, healthOf } from "./types.ts";

/**
 * The scheduled S3 replication check: per source bucket, the configuration audit, the canary round
 * trip (write this run's, verify earlier ones), replication metrics, a bounded sample, and opt-in
 * backlog repair with S3 Batch Replication. It never waits inside a run.
 */

const REPAIR_ACTIVE = [
  "Active",
  "New",
  "Preparing",
  "Ready",
  "Suspended",
  "Pausing",
  "Paused",
  "Completing",
] as const;

export interface StorageDeps {
  /** S3 in the primary region (sources); follows region redirects for buckets elsewhere. */
  readonly s3: Pick<S3Client, "send">;
  /** S3 in the DR region (destinations). */
  readonly s3Dr: Pick<S3Client, "send">;
  readonly cloudwatch: Pick<CloudWatchClient, "send">;
  readonly s3control: Pick<S3ControlClient, "send">;
}

export interface StorageCheckInput {
  readonly dryRun: boolean;
}

export interface BucketReport {
  readonly bucket: string;
  readonly discovered: boolean;
  readonly health: Health;
  readonly findings: readonly Finding[];
  readonly canaryWritten?: string;
  readonly lastReplicatedCanary?: string;
  readonly secondsSinceReplicatedCanary?: number;
  readonly sample?: StatusCounts;
  readonly repairJob?: { readonly id: string; readonly status: string; readonly started: boolean };
}

export interface StorageCheckSummary {
  readonly stage: string;
  readonly dryRun: boolean;
  readonly health: Health;
  readonly buckets: readonly BucketReport[];
  readonly findings: readonly Finding[];
  readonly canaryBuckets: number;
  readonly discoveredBuckets: number;
}

/** The check found failures; the message lists every finding. */
export class ReplicationUnhealthyError extends GitpodDrError {
  override readonly name = "ReplicationUnhealthy";
  constructor(
    message: string,
    readonly summary: StorageCheckSummary,
  ) {
    super(message);
  }
}

/** Buckets matching the prefixes (ListBuckets, paged, filtered by name). */
export async function discoverBuckets(s3: StorageDeps["s3"], prefixes: readonly string[]): Promise<string[]> {
  if (prefixes.length === 0) return [];
  const { ListBucketsCommand } = await import("@aws-sdk/client-s3");
  const names = new Set<string>();
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const page = await s3
        .send(
          new ListBucketsCommand({
            Prefix: prefix,
            MaxBuckets: 1000,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        )
        .catch((error) => {
          throw wrapAwsError(`Unable to list buckets with prefix ${prefix}`, error);
        });
      for (const b of page.Buckets ?? []) if (b.Name?.startsWith(prefix)) names.add(b.Name);
      token = page.ContinuationToken;
    } while (token);
  }
  return [...names].sort();
}

/**
 * The discovered buckets that get a canary this run: a window of `perRun` that moves by `perRun` every
 * hour, so every bucket is visited in turn and a run's cost stays bounded however many there are.
 */
export function rotatingSample(
  buckets: readonly string[],
  perRun: number,
  now: Date,
  periodMs = 3_600_000,
): string[] {
  if (buckets.length <= perRun) return [...buckets];
  const turn = Math.floor(now.getTime() / periodMs);
  const start = (turn * perRun) % buckets.length;
  return Array.from({ length: perRun }, (_, i) => buckets[(start + i) % buckets.length] as string);
}

/** The interval of a `rate(...)` schedule; an hour for cron expressions (a run at least hourly is assumed). */
export function schedulePeriodMs(schedule: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(schedule);
  if (!m) return 3_600_000;
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[m[2] as "minute" | "hour" | "day"];
  return Number(m[1]) * unit;
}

/** LocationConstraint to region name (null/empty: us-east-1; the legacy "EU": eu-west-1). */
export function regionOfLocation(location: string | undefined | null): string {
  if (!location) return "us-east-1";
  return location === "EU" ? "eu-west-1" : location;
}

interface Ctx {
  readonly config: StorageJobConfig;
  readonly deps: StorageDeps;
  readonly dryRun: boolean;
  readonly now: Date;
  readonly random: () => number;
}

async function s3sdk() {
  return import("@aws-sdk/client-s3");
}

async function readVersioning(s3: StorageDeps["s3"], bucket: string): Promise<string | undefined> {
  const { GetBucketVersioningCommand } = await s3sdk();
  const out = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return out.Status;
}

async function readReplication(
  s3: StorageDeps["s3"],
  bucket: string,
): Promise<ReplicationConfiguration | undefined> {
  const { GetBucketReplicationCommand } = await s3sdk();
  try {
    return (await s3.send(new GetBucketReplicationCommand({ Bucket: bucket }))).ReplicationConfiguration;
  } catch (error) {
    if (awsErrorCode(error) === "ReplicationConfigurationNotFoundError") return undefined;
    throw error;
  }
}

async function readDefaultSseKms(s3: StorageDeps["s3"], bucket: string): Promise<boolean> {
  const { GetBucketEncryptionCommand } = await s3sdk();
  try {
    const out = await s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }));
    return (out.ServerSideEncryptionConfiguration?.Rules ?? []).some((r) =>
      (r.ApplyServerSideEncryptionByDefault?.SSEAlgorithm ?? "").startsWith("aws:kms"),
    );
  } catch (error) {
    if (awsErrorCode(error) === "ServerSideEncryptionConfigurationNotFoundError") return false;
    throw error;
  }
}

async function readDestination(ctx: Ctx, bucket: string): Promise<DestinationFacts> {
  const { GetBucketLocationCommand } = await s3sdk();
  try {
    const location = await ctx.deps.s3Dr.send(new GetBucketLocationCommand({ Bucket: bucket }));
    const region = regionOfLocation(location.LocationConstraint);
    const versioning = await readVersioning(ctx.deps.s3Dr, bucket);
    return { bucket, region, versioning };
  } catch (error) {
    return {
      bucket,
      region: undefined,
      versioning: undefined,
      error: awsErrorCode(error) ?? (error as Error).message,
    };
  }
}

interface HeadResult {
  readonly status?: string;
  readonly etag?: string;
  readonly size?: number;
}

async function head(s3: StorageDeps["s3"], bucket: string, key: string): Promise<HeadResult | undefined> {
  const { HeadObjectCommand } = await s3sdk();
  try {
    const out = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    // S3 documents COMPLETE and returns COMPLETED; the SDK knows both. One name for both here.
    const status = out.ReplicationStatus === "COMPLETE" ? "COMPLETED" : out.ReplicationStatus;
    return {
      ...(status ? { status } : {}),
      ...(out.ETag ? { etag: out.ETag } : {}),
      ...(out.ContentLength !== undefined ? { size: out.ContentLength } : {}),
    };
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "NotFound" || code === "NoSuchKey") return undefined;
    // A HEAD answer has no body: the SDK calls a 403 "Unknown". Say what was denied.
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403) {
      throw new AwsAccessDeniedError(
        `HEAD s3://${bucket}/${key} was denied (HTTP 403): gitpod-dr needs s3:GetObject on the object and s3:ListBucket on ${bucket} (and the bucket policy must allow them)`,
        { cause: error },
      );
    }
    throw error;
  }
}

/** Deletes every version of a key (canaries live in versioned buckets; a plain delete leaves them). */
async function deleteAllVersions(s3: StorageDeps["s3"], bucket: string, key: string): Promise<void> {
  const { ListObjectVersionsCommand, DeleteObjectCommand } = await s3sdk();
  const versions = await s3.send(
    new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key, MaxKeys: 100 }),
  );
  const all = [...(versions.Versions ?? []), ...(versions.DeleteMarkers ?? [])].filter((v) => v.Key === key);
  for (const v of all) {
    await s3.send(
      new DeleteObjectCommand({
        Bucket: bucket,
        Key: key,
        ...(v.VersionId ? { VersionId: v.VersionId } : {}),
      }),
    );
  }
}

async function canaries(ctx: Ctx, bucket: string, destination: string, compareEtag: boolean) {
  const { ListObjectsV2Command, PutObjectCommand } = await s3sdk();
  const prefix = ctx.config.storage.canary.prefix;
  // Every page: the listing is oldest first, and the newest canaries are the ones that tell.
  const contents: { Key?: string }[] = [];
  let token: string | undefined;
  do {
    const listed = await ctx.deps.s3.send(
      new ListObjectsV2Command({
        Bucket: bucket,
        Prefix: prefix,
        MaxKeys: 1000,
        ...(token ? { ContinuationToken: token } : {}),
      }),
    );
    contents.push(...(listed.Contents ?? []));
    token = listed.IsTruncated ? listed.NextContinuationToken : undefined;
  } while (token);
  // HEAD only the newest canaries (a run's cost stays bounded whatever the schedule and keep time);
  // older ones are history: removed once past keepMinutes if a newer canary arrived.
  const all = contents
    .map((o) => ({ key: o.Key as string, writtenAt: canaryTime(prefix, o.Key as string) }))
    .filter((c): c is { key: string; writtenAt: Date } => c.writtenAt !== undefined)
    .sort((a, b) => b.writtenAt.getTime() - a.writtenAt.getTime());
  // The newest ones, and the oldest one left: after a long outage that is the last canary that arrived
  // (it is never cleaned up), so the time since the last good replication stays known.
  const observed =
    all.length > MAX_CANARIES_OBSERVED
      ? [...all.slice(0, MAX_CANARIES_OBSERVED - 1), all[all.length - 1] as (typeof all)[number]]
      : all;
  const older = all.slice(MAX_CANARIES_OBSERVED - 1, Math.max(MAX_CANARIES_OBSERVED - 1, all.length - 1));
  const observations: CanaryObservation[] = [];
  for (const { key, writtenAt } of observed) {
    const source = await head(ctx.deps.s3, bucket, key);
    if (!source) continue;
    const replica = source.status === "COMPLETED" ? await head(ctx.deps.s3Dr, destination, key) : undefined;
    observations.push({
      key,
      writtenAt,
      status: source.status,
      etag: source.etag,
      size: source.size,
      ...(replica ? { replica } : {}),
    });
  }
  const verdict = judgeCanaries(bucket, destination, observations, {
    now: ctx.now,
    stalledAfterMinutes: ctx.config.storage.canary.stalledAfterMinutes,
    keepMinutes: ctx.config.storage.canary.keepMinutes,
    compareEtag,
  });
  if (verdict.lastReplicatedAt) {
    const keepMs = ctx.config.storage.canary.keepMinutes * 60_000;
    for (const c of older)
      if (ctx.now.getTime() - c.writtenAt.getTime() > keepMs) verdict.cleanup.push(c.key);
  }
  let written: string | undefined;
  if (!ctx.dryRun) {
    for (const key of verdict.cleanup) {
      // The replica first: if that fails, the source copy keeps the canary listed for the next run.
      await deleteAllVersions(ctx.deps.s3Dr, destination, key);
      await deleteAllVersions(ctx.deps.s3, bucket, key);
    }
    written = canaryKey(prefix, ctx.now, randomBytes(3).toString("hex"));
    await ctx.deps.s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: written,
        Body: JSON.stringify({
          writtenBy: "gitpod-dr",
          stage: ctx.config.stage,
          writtenAt: ctx.now.toISOString(),
        }),
        ContentType: "application/json",
      }),
    );
  }
  return { verdict, written };
}

async function ruleMetrics(
  ctx: Ctx,
  bucket: string,
  destination: string,
  ruleId: string,
): Promise<RuleMetrics> {
  const { GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  const out = await ctx.deps.cloudwatch.send(
    new GetMetricDataCommand({
      StartTime: new Date(ctx.now.getTime() - 30 * 60_000),
      EndTime: ctx.now,
      MetricDataQueries: REPLICATION_METRICS.map((m) => ({
        Id: m.id,
        MetricStat: {
          Metric: {
            Namespace: "AWS/S3",
            MetricName: m.name,
            Dimensions: [
              { Name: "SourceBucket", Value: bucket },
              { Name: "DestinationBucket", Value: destination },
              { Name: "RuleId", Value: ruleId },
            ],
          },
          Period: 300,
          Stat: m.stat,
        },
      })),
    }),
  );
  const metrics: Record<string, number> = {};
  for (const m of REPLICATION_METRICS) {
    const values = out.MetricDataResults?.find((r) => r.Id === m.id)?.Values ?? [];
    if (values.length > 0)
      metrics[m.key] = m.stat === "Sum" ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
  }
  return metrics as RuleMetrics;
}

async function sampleBucket(
  ctx: Ctx,
  bucket: string,
  rules: readonly ReplicationRule[],
): Promise<{ counts: StatusCounts; sampled: number }> {
  const { ListObjectsV2Command } = await s3sdk();
  const { prefix, size, listLimit } = ctx.config.storage.sampling;
  const page = await ctx.deps.s3.send(
    new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: listLimit }),
  );
  const canaryPrefix = ctx.config.storage.canary.prefix;
  // The most recently written of the page (a listing is in key order, not by time), sampled at random.
  const recent = (page.Contents ?? [])
    // Only keys an enabled rule covers: others are not meant to replicate, and are no backlog.
    .filter((o) => o.Key && !o.Key.startsWith(canaryPrefix) && coveringRules(rules, o.Key).length > 0)
    .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))
    .slice(0, Math.max(size * 4, size))
    .map((o) => o.Key as string);
  const chosen = sample(recent, size, ctx.random);
  const statuses: (string | undefined)[] = [];
  for (const key of chosen) {
    const h = await head(ctx.deps.s3, bucket, key);
    if (h) statuses.push(h.status);
  }
  return { counts: countStatuses(statuses), sampled: statuses.length };
}

/** Canaries examined per bucket and run (the newest). */
export const MAX_CANARIES_OBSERVED = 48;

const repairDescription = (bucket: string) => `gitpod-dr replication repair: ${bucket}`;

/** Our repair jobs of a bucket, newest first, in the given states (every page of ListJobs). */
async function repairJobs(ctx: Ctx, bucket: string, statuses: readonly string[]) {
  const { ListJobsCommand } = await import("@aws-sdk/client-s3-control");
  const found: { id: string; status: string; created: number }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await ctx.deps.s3control.send(
      new ListJobsCommand({
        AccountId: ctx.config.account,
        JobStatuses: statuses as ("Active" | "New")[],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const job of page.Jobs ?? []) {
      if (job.Description === repairDescription(bucket) && job.JobId) {
        found.push({
          id: job.JobId,
          status: job.Status ?? "Active",
          created: job.CreationTime?.getTime() ?? 0,
        });
      }
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return found.sort((a, b) => b.created - a.created);
}

/**
 * The running repair job of a bucket, or starts one (never two at once). A repair job that failed in
 * the last day is reported instead of starting another (it would fail the same way).
 */
async function repair(ctx: Ctx, bucket: string, findings: Finding[]): Promise<BucketReport["repairJob"]> {
  const { CreateJobCommand, DescribeJobCommand } = await import("@aws-sdk/client-s3-control");
  const account = ctx.config.account;
  const running = (await repairJobs(ctx, bucket, REPAIR_ACTIVE))[0];
  if (running) return { id: running.id, status: running.status, started: false };
  const failed = (await repairJobs(ctx, bucket, ["Failed"]))[0];
  if (failed && ctx.now.getTime() - failed.created < 86_400_000) {
    findings.push({
      bucket,
      severity: "failure",
      check: "repair",
      message: `Bucket ${bucket}: the S3 Batch Replication repair job ${failed.id} failed; no new one is started for a day. See the job in the S3 Batch Operations console (its role, the bucket's region and KMS keys)`,
    });
    return { id: failed.id, status: failed.status, started: false };
  }
  if (ctx.dryRun || !ctx.config.batchRoleArn) return undefined;
  // The same hour's retries reuse the token, so a retried invocation does not start a second job.
  const token = createHash("sha256")
    .update(`${bucket}:${Math.floor(ctx.now.getTime() / 3_600_000)}`)
    .digest("hex")
    .slice(0, 32);
  const created = await ctx.deps.s3control.send(
    new CreateJobCommand({
      AccountId: account,
      ConfirmationRequired: false,
      Operation: { S3ReplicateObject: {} },
      Report: { Enabled: false },
      ClientRequestToken: `gitpod-dr-${token}`,
      Priority: 10,
      RoleArn: ctx.config.batchRoleArn,
      Description: repairDescription(bucket),
      ManifestGenerator: {
        S3JobManifestGenerator: {
          SourceBucket: `arn:aws:s3:::${bucket}`,
          EnableManifestOutput: false,
          Filter: { EligibleForReplication: true, ObjectReplicationStatuses: ["NONE", "FAILED"] },
        },
      },
    }),
  );
  const id = created.JobId as string;
  // A same-hour retry gets the earlier job back from the token: report its real status.
  const described = await ctx.deps.s3control.send(new DescribeJobCommand({ AccountId: account, JobId: id }));
  return { id, status: described.Job?.Status ?? "New", started: true };
}

async function checkBucket(
  ctx: Ctx,
  bucket: string,
  discovered: boolean,
  withCanary: boolean,
): Promise<BucketReport> {
  const storage = ctx.config.storage;
  const findings: Finding[] = [];
  const report: { -readonly [K in keyof BucketReport]?: BucketReport[K] } = {};
  const expect = {
    prefixes: storage.prefixes,
    drRegion: ctx.config.regions.dr,
    deleteMarkerReplication: storage.expect.deleteMarkerReplication,
    replicationTimeControl: storage.expect.replicationTimeControl,
    replicationMetrics: storage.expect.replicationMetrics,
  };
  try {
    const facts: SourceFacts = {
      bucket,
      versioning: await readVersioning(ctx.deps.s3, bucket),
      replication: await readReplication(ctx.deps.s3, bucket),
      defaultSseKms: await readDefaultSseKms(ctx.deps.s3, bucket),
    };
    const destinationNames = destinationsOf(facts, expect);
    const destinations = await Promise.all(destinationNames.map((d) => readDestination(ctx, d)));
    findings.push(...auditReplication(facts, destinations, expect));
    // The canary's own rule decides where its replica goes.
    const canaryRule = coveringRules(facts.replication?.Rules ?? [], storage.canary.prefix)[0];
    const canaryDestination = bucketOfArn(canaryRule?.Destination?.Bucket);
    const destination = destinations.find((d) => !d.error && d.bucket === canaryDestination)?.bucket;
    const rules = (facts.replication?.Rules ?? []).filter((r) => r.Status === "Enabled");

    if (withCanary && destination) {
      const { verdict, written } = await canaries(ctx, bucket, destination, !facts.defaultSseKms);
      findings.push(...verdict.findings);
      if (written) report.canaryWritten = written;
      if (verdict.lastReplicatedAt) {
        report.lastReplicatedCanary = verdict.lastReplicatedAt.toISOString();
        report.secondsSinceReplicatedCanary = Math.round(
          (ctx.now.getTime() - verdict.lastReplicatedAt.getTime()) / 1000,
        );
      }
    }
    for (const rule of rules) {
      if (rule.Destination?.Metrics?.Status !== "Enabled" || !rule.ID) continue;
      const dest = bucketOfArn(rule.Destination.Bucket) as string;
      findings.push(
        ...judgeMetrics(bucket, rule.ID, await ruleMetrics(ctx, bucket, dest, rule.ID), storage.thresholds),
      );
    }
    let backlog = false;
    if (storage.sampling.size > 0 && rules.length > 0) {
      const { counts, sampled } = await sampleBucket(ctx, bucket, rules);
      report.sample = counts;
      findings.push(...judgeSample(bucket, counts, sampled));
      backlog = (counts.FAILED ?? 0) + (counts.NONE ?? 0) > 0;
    }
    if (storage.repair.enabled && rules.some((r) => rulePrefix(r) !== undefined)) {
      const canaryFailed = findings.some(
        (f) => f.check === "canary" && f.severity === "failure" && /FAILED/.test(f.message),
      );
      if (backlog || canaryFailed) {
        const job = await repair(ctx, bucket, findings);
        if (job) report.repairJob = job;
      } else {
        // Report a job still running from an earlier run, without starting one.
        const running = (await repairJobs(ctx, bucket, REPAIR_ACTIVE))[0];
        if (running) report.repairJob = { id: running.id, status: running.status, started: false };
      }
    }
  } catch (error) {
    const wrapped = wrapAwsError(`Unable to check bucket ${bucket}`, error);
    findings.push({
      bucket,
      severity: "failure",
      check: wrapped.name === "AwsAccessDenied" ? "access" : "discovery",
      message: wrapped.message,
    });
  }
  return { bucket, discovered, health: healthOf(findings), findings, ...report };
}

async function publishMetrics(ctx: Ctx, reports: readonly BucketReport[]): Promise<void> {
  const data = reports
    .filter((r) => r.secondsSinceReplicatedCanary !== undefined)
    .map((r) => ({
      MetricName: "SecondsSinceReplicatedCanary",
      Dimensions: [{ Name: "Bucket", Value: r.bucket }],
      Value: r.secondsSinceReplicatedCanary as number,
      Unit: "Seconds" as const,
      Timestamp: ctx.now,
    }));
  if (data.length === 0 || ctx.dryRun) return;
  const { PutMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  for (let i = 0; i < data.length; i += 500) {
    await ctx.deps.cloudwatch.send(
      new PutMetricDataCommand({ Namespace: METRIC_NAMESPACE, MetricData: data.slice(i, i + 500) }),
    );
  }
}

/**
 * One run of the check.
 * @throws ReplicationUnhealthyError when any finding is a failure (after every bucket was checked).
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
  const ctx: Ctx = { config, deps, dryRun: input.dryRun, now, random: options.random ?? Math.random };
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
  const failures = findings.filter((f) => f.severity === "failure");
  if (failures.length > 0) {
    const listed = failures.slice(0, 25).map((f) => `${f.check}: ${f.message}`);
    throw new ReplicationUnhealthyError(
      `S3 replication of stage ${config.stage} is failing: ${failures.length} failure(s) in ${new Set(failures.map((f) => f.bucket)).size} bucket(s):\n  ${listed.join("\n  ")}${failures.length > 25 ? `\n  …and ${failures.length - 25} more (see the log)` : ""}`,
      summary,
    );
  }
  return summary;
}
