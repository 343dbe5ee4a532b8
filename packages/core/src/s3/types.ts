import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { S3Client } from "@aws-sdk/client-s3";
import type { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { CatalogStore } from "../catalog/store.ts";
import type { StorageJobConfig } from "../config.ts";

/** What the replication check takes and reports. */

export type Severity = "failure" | "warning";

export type Check =
  | "discovery"
  | "versioning"
  | "replication-rule"
  | "coverage"
  | "destination"
  | "delete-markers"
  | "sse-kms"
  | "replication-time-control"
  | "replication-metrics"
  | "canary"
  | "metric-threshold"
  | "sampling"
  | "repair"
  | "access";

/**
 * A stable code for a finding that the check acts on, so that decisions never depend on message text
 * (which is for people and may be reworded).
 * - `replication-failed`: S3 reports replication FAILED for an object no later canary overtook; a
 *   Batch Replication repair may re-replicate it.
 */
export type FindingCode = "replication-failed";

export interface Finding {
  readonly bucket: string;
  readonly severity: Severity;
  readonly check: Check;
  /** Set on the findings the check acts on (see `FindingCode`). */
  readonly code?: FindingCode;
  /** The replication rule the finding is about, when there is one. */
  readonly rule?: string;
  /** Names the bucket, the rule and what to change. */
  readonly message: string;
}

export type Health = "healthy" | "degraded" | "failed";

export function healthOf(findings: readonly Finding[]): Health {
  if (findings.some((f) => f.severity === "failure")) return "failed";
  return findings.length > 0 ? "degraded" : "healthy";
}

export interface StorageDeps {
  /** S3 in the primary region (sources); follows region redirects for buckets elsewhere. */
  readonly s3: S3Client;
  /** S3 in the DR region (destinations). */
  readonly s3Dr: S3Client;
  readonly cloudwatch: CloudWatchClient;
  readonly s3control: S3ControlClient;
  /** The recovery-point catalog: each bucket's replication watermark is recorded there. */
  readonly catalog?: CatalogStore;
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
  readonly repairJob?: RepairJobReport;
}

/** A bucket's S3 Batch Replication job: `started` when this run started it. */
export interface RepairJobReport {
  readonly id: string;
  readonly status: string;
  readonly started: boolean;
}

/** Counts of `ReplicationStatus` over a sample (`NONE` for objects without one). */
export type StatusCounts = Record<string, number>;

export interface StorageCheckSummary {
  readonly stage: string;
  readonly dryRun: boolean;
  readonly health: Health;
  readonly buckets: readonly BucketReport[];
  readonly findings: readonly Finding[];
  readonly canaryBuckets: number;
  readonly discoveredBuckets: number;
}

/** What every step of one run reads: the configuration, the clients, and the run's clock and dice. */
export interface CheckContext {
  readonly config: StorageJobConfig;
  readonly deps: StorageDeps;
  readonly dryRun: boolean;
  readonly now: Date;
  readonly random: () => number;
}
