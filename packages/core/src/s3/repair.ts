import { createHash } from "node:crypto";
import type { JobStatus } from "@aws-sdk/client-s3-control";
import { createBatchJob, listBatchJobs } from "./api.ts";
import type { CheckContext, Finding, RepairJobReport } from "./types.ts";

/**
 * Backlog repair with S3 Batch Replication (opt-in): at most one job per bucket at a time, and none for
 * a day after one failed. Whether a bucket needs one is decided from finding codes and sample counts.
 */

/** The states of a job that is still running (or may still run): no second job is started then. */
const REPAIR_ACTIVE: readonly JobStatus[] = [
  "Active",
  "New",
  "Preparing",
  "Ready",
  "Suspended",
  "Pausing",
  "Paused",
  "Completing",
];

const repairDescription = (bucket: string) => `gitpod-dr replication repair: ${bucket}`;

/** Whether the bucket has objects a repair job would re-replicate: a backlog in the sample, or a failed canary. */
export function needsRepair(findings: readonly Finding[], backlog: boolean): boolean {
  return backlog || findings.some((f) => f.code === "replication-failed" && f.severity === "failure");
}

/** Our repair jobs of a bucket, newest first, in the given states. */
async function repairJobs(ctx: CheckContext, bucket: string, statuses: readonly JobStatus[]) {
  const jobs = await listBatchJobs(ctx.deps.s3control, ctx.config.account, statuses);
  return jobs
    .filter((job) => job.description === repairDescription(bucket))
    .sort((a, b) => b.created - a.created);
}

/**
 * The bucket's running repair job, if any (reported without starting one).
 * @throws the SDK's error, unwrapped (the bucket's check wraps it).
 */
export async function runningRepair(ctx: CheckContext, bucket: string): Promise<RepairJobReport | undefined> {
  const running = (await repairJobs(ctx, bucket, REPAIR_ACTIVE))[0];
  return running ? { id: running.id, status: running.status, started: false } : undefined;
}

/**
 * The running repair job of a bucket, or starts one (never two at once). A repair job that failed in
 * the last day is reported instead of starting another (it would fail the same way): a finding is added.
 * @throws the SDK's error, unwrapped (the bucket's check wraps it).
 */
export async function repair(
  ctx: CheckContext,
  bucket: string,
  findings: Finding[],
): Promise<RepairJobReport | undefined> {
  const running = await runningRepair(ctx, bucket);
  if (running) return running;
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
  const job = await createBatchJob(ctx.deps.s3control, {
    AccountId: ctx.config.account,
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
  });
  return { ...job, started: true };
}
