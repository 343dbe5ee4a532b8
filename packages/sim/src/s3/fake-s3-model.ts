/**
 * The fake S3 world's model: the account, regions and buckets of the tests, the shapes of its buckets,
 * objects, calls and jobs, and the S3 errors and rule matching it answers with.
 */
import { createHash } from "node:crypto";
import { type ReplicationConfiguration, type ReplicationRule, S3ServiceException } from "@aws-sdk/client-s3";
import type { CreateJobCommandInput } from "@aws-sdk/client-s3-control";

export const ACCOUNT = "123456789012";
export const PRIMARY = "eu-west-1";
export const DR = "eu-central-1";
export const SOURCE = "gitpod-workspace-backups";
export const DESTINATION = "gitpod-workspace-backups-dr";
export const CANARY_PREFIX = ".gitpod-dr/canary/";
export const BATCH_ROLE = `arn:aws:iam::${ACCOUNT}:role/gitpod-dr-prod-ReplicationRepairRole`;
/** A run time of the hourly schedule. */
export const T0 = new Date("2026-11-26T03:00:00Z");
export const minutesAfter = (time: Date, minutes: number) => new Date(time.getTime() + minutes * 60_000);

export type Label = "s3" | "s3Dr" | "cloudwatch" | "s3control";

export interface CallRecord {
  readonly client: Label;
  /** The command name without `Command`, e.g. `HeadObject`. */
  readonly command: string;
  readonly bucket?: string;
  readonly input: unknown;
}

export interface FakeVersion {
  readonly versionId: string;
  readonly deleteMarker: boolean;
  readonly body: string;
  readonly size: number;
  readonly etag: string;
  status?: string | undefined;
}

/** Objects generated on demand: `<prefix><index, 7 digits>`, so a bucket can hold a million keys. */
export interface BulkObjects {
  readonly prefix: string;
  readonly count: number;
  readonly status?: string;
}

export interface FakeBucket {
  readonly name: string;
  readonly region: string;
  versioning?: "Enabled" | "Suspended";
  replication?: ReplicationConfiguration;
  encryption?: "AES256" | "aws:kms";
  /** Versions of each key, oldest first. */
  readonly objects: Map<string, FakeVersion[]>;
  bulk?: BulkObjects;
  /** Commands answered AccessDenied ("*": every command). */
  readonly denied: Set<string>;
}

export interface BucketSpec {
  region?: string;
  versioning?: "Enabled" | "Suspended";
  replication?: ReplicationConfiguration;
  encryption?: "AES256" | "aws:kms";
  bulk?: BulkObjects;
}

/** What a test compares: the current (latest, not deleted) object under a key. */
export interface ObjectView {
  readonly key: string;
  readonly status?: string;
  readonly size: number;
  readonly etag: string;
}

export interface FakeJob {
  readonly id: string;
  status: string;
  readonly input: CreateJobCommandInput;
  /** When S3 created the job (ListJobs reports it). */
  creationTime?: Date;
}

/** Values per metric name (ReplicationLatency, OperationsFailedReplication, …) of one rule. */
export type RuleMetricValues = Partial<Record<string, number[]>>;

export const s3Error = (name: string, status: number, message: string) =>
  new S3ServiceException({
    name,
    $fault: status >= 500 ? "server" : "client",
    $metadata: { httpStatusCode: status },
    message,
  });

export const md5 = (text: string) => createHash("md5").update(text).digest("hex");

/** The key prefix of a rule in the fake's own reading; undefined for a tag filter (the fake has no tags). */
export function fakeRulePrefix(rule: ReplicationRule): string | undefined {
  if (!rule.Filter) return rule.Prefix ?? "";
  if (rule.Filter.Tag || (rule.Filter.And?.Tags?.length ?? 0) > 0) return undefined;
  return rule.Filter.Prefix ?? rule.Filter.And?.Prefix ?? "";
}

/** A rule that replicates everything (or `prefix`) to `destination`. */
