import { randomBytes } from "node:crypto";
import type { ReplicationRule } from "@aws-sdk/client-s3";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { defined } from "../defined.ts";
import { AwsAccessDeniedError } from "../errors.ts";
import {
  deleteAllVersions,
  headObject,
  listAllObjects,
  listFirstObjects,
  putJsonObject,
  readDefaultSseKms,
  readRegion,
  readReplication,
  readVersioning,
} from "./api.ts";
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
import { readRuleMetrics } from "./cloudwatch.ts";
import { judgeMetrics } from "./metrics.ts";
import { needsRepair, repair, runningRepair } from "./repair.ts";
import { countStatuses, judgeSample, sample } from "./sampling.ts";
import { type BucketReport, type CheckContext, type Finding, healthOf, type StatusCounts } from "./types.ts";

/**
 * One source bucket's check: the configuration audit, the canary round trip (write this run's, verify
 * earlier ones), replication metrics, a bounded sample, and the repair decision.
 */

/** Canaries examined per bucket and run (the newest). */
export const MAX_CANARIES_OBSERVED = 48;

async function readDestination(ctx: CheckContext, bucket: string): Promise<DestinationFacts> {
  try {
    const region = await readRegion(ctx.deps.s3Dr, bucket);
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

async function canaries(
  ctx: CheckContext,
  bucket: string,
  destination: string,
  compareEtag: boolean,
  rule: string | undefined,
) {
  const prefix = ctx.config.storage.canary.prefix;
  // Every page: the listing is oldest first, and the newest canaries are the ones that tell.
  const contents = await listAllObjects(ctx.deps.s3, bucket, prefix);
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
    const source = await headObject(ctx.deps.s3, bucket, key);
    if (!source) continue;
    const replica =
      source.status === "COMPLETED" ? await headObject(ctx.deps.s3Dr, destination, key) : undefined;
    observations.push({
      key,
      writtenAt,
      status: source.status,
      ...defined({ etag: source.etag, size: source.size, replica }),
    });
  }
  const verdict = judgeCanaries(bucket, destination, observations, {
    now: ctx.now,
    stalledAfterMinutes: ctx.config.storage.canary.stalledAfterMinutes,
    keepMinutes: ctx.config.storage.canary.keepMinutes,
    compareEtag,
    ...(rule ? { rule } : {}),
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
    await putJsonObject(ctx.deps.s3, bucket, written, {
      writtenBy: "gitpod-dr",
      stage: ctx.config.stage,
      writtenAt: ctx.now.toISOString(),
    });
  }
  return { verdict, written };
}

async function sampleBucket(
  ctx: CheckContext,
  bucket: string,
  rules: readonly ReplicationRule[],
): Promise<{ counts: StatusCounts; sampled: number }> {
  const { prefix, size, listLimit } = ctx.config.storage.sampling;
  const page = await listFirstObjects(ctx.deps.s3, bucket, prefix, listLimit);
  const canaryPrefix = ctx.config.storage.canary.prefix;
  // The most recently written of the page (a listing is in key order, not by time), sampled at random.
  const recent = page
    // Only keys an enabled rule covers: others are not meant to replicate, and are no backlog.
    .filter((o) => o.Key && !o.Key.startsWith(canaryPrefix) && coveringRules(rules, o.Key).length > 0)
    .sort((a, b) => (b.LastModified?.getTime() ?? 0) - (a.LastModified?.getTime() ?? 0))
    .slice(0, Math.max(size * 4, size))
    .map((o) => o.Key as string);
  const chosen = sample(recent, size, ctx.random);
  const statuses: (string | undefined)[] = [];
  for (const key of chosen) {
    const h = await headObject(ctx.deps.s3, bucket, key);
    if (h) statuses.push(h.status);
  }
  return { counts: countStatuses(statuses), sampled: statuses.length };
}

/**
 * Checks one source bucket. Never throws for the bucket's own problems: an AWS error becomes an
 * `access` or `discovery` finding, so one unreadable bucket does not hide the others.
 */
export async function checkBucket(
  ctx: CheckContext,
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
      const { verdict, written } = await canaries(
        ctx,
        bucket,
        destination,
        !facts.defaultSseKms,
        canaryRule?.ID,
      );
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
      const metrics = await readRuleMetrics(
        ctx.deps.cloudwatch,
        { bucket, destination: dest, ruleId: rule.ID },
        ctx.now,
      );
      findings.push(...judgeMetrics(bucket, rule.ID, metrics, storage.thresholds));
    }
    let backlog = false;
    if (storage.sampling.size > 0 && rules.length > 0) {
      const { counts, sampled } = await sampleBucket(ctx, bucket, rules);
      report.sample = counts;
      findings.push(...judgeSample(bucket, counts, sampled));
      backlog = (counts.FAILED ?? 0) + (counts.NONE ?? 0) > 0;
    }
    if (storage.repair.enabled && rules.some((r) => rulePrefix(r) !== undefined)) {
      // Report a job still running from an earlier run, without starting one, when nothing needs repair.
      const job = needsRepair(findings, backlog)
        ? await repair(ctx, bucket, findings)
        : await runningRepair(ctx, bucket);
      if (job) report.repairJob = job;
    }
  } catch (error) {
    const wrapped = wrapAwsError(`Unable to check bucket ${bucket}`, error);
    findings.push({
      bucket,
      severity: "failure",
      check: wrapped instanceof AwsAccessDeniedError ? "access" : "discovery",
      message: wrapped.message,
    });
  }
  return { bucket, discovered, health: healthOf(findings), findings, ...report };
}
