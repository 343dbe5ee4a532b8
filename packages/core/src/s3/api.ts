import {
  type _Object,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  paginateListBuckets,
  paginateListObjectsV2,
  type ReplicationConfiguration,
  type S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  DescribeJobCommand,
  type JobStatus,
  paginateListJobs,
  type S3ControlClient,
} from "@aws-sdk/client-s3-control";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { AwsAccessDeniedError } from "../errors.ts";

/**
 * The S3 and S3 Control calls of the replication check, one function per question it asks. Unless a
 * function says otherwise, errors reach the caller as the SDK threw them: the check wraps them once per
 * bucket (`Unable to check bucket …`), so a bucket that cannot be read is one finding, not a failed run.
 */

/**
 * Buckets whose names start with `prefix` (ListBuckets filters by prefix server-side; every page).
 * @throws AwsAccessDeniedError, AwsThrottledError, AwsCallError naming the prefix.
 */
export async function listBucketsWithPrefix(s3: S3Client, prefix: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const page of paginateListBuckets({ client: s3, pageSize: 1000 }, { Prefix: prefix })) {
      for (const b of page.Buckets ?? []) if (b.Name?.startsWith(prefix)) names.push(b.Name);
    }
  } catch (error) {
    throw wrapAwsError(`Unable to list buckets with prefix ${prefix}`, error);
  }
  return names;
}

/**
 * The bucket's versioning status (`Enabled`, `Suspended`), undefined when never enabled.
 * @throws the SDK's error, unwrapped (see above).
 */
export async function readVersioning(s3: S3Client, bucket: string): Promise<string | undefined> {
  const out = await s3.send(new GetBucketVersioningCommand({ Bucket: bucket }));
  return out.Status;
}

/**
 * The bucket's replication configuration, undefined when it has none.
 * @throws the SDK's error for anything but ReplicationConfigurationNotFoundError, unwrapped.
 */
export async function readReplication(
  s3: S3Client,
  bucket: string,
): Promise<ReplicationConfiguration | undefined> {
  try {
    return (await s3.send(new GetBucketReplicationCommand({ Bucket: bucket }))).ReplicationConfiguration;
  } catch (error) {
    if (awsErrorCode(error) === "ReplicationConfigurationNotFoundError") return undefined;
    throw error;
  }
}

/**
 * Whether the bucket's default encryption is SSE-KMS (whose replicas get ETags of their own).
 * @throws the SDK's error for anything but ServerSideEncryptionConfigurationNotFoundError, unwrapped.
 */
export async function readDefaultSseKms(s3: S3Client, bucket: string): Promise<boolean> {
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

/** LocationConstraint to region name (null/empty: us-east-1; the legacy "EU": eu-west-1). */
export function regionOfLocation(location: string | undefined | null): string {
  if (!location) return "us-east-1";
  return location === "EU" ? "eu-west-1" : location;
}

/**
 * The region the bucket lives in.
 * @throws the SDK's error, unwrapped.
 */
export async function readRegion(s3: S3Client, bucket: string): Promise<string> {
  const location = await s3.send(new GetBucketLocationCommand({ Bucket: bucket }));
  return regionOfLocation(location.LocationConstraint);
}

export interface HeadResult {
  readonly status?: string;
  readonly etag?: string;
  readonly size?: number;
}

/**
 * An object's replication status, ETag and size; undefined when the key does not exist.
 * @throws AwsAccessDeniedError naming the permissions to grant, when the HEAD is denied (HTTP 403).
 */
export async function headObject(s3: S3Client, bucket: string, key: string): Promise<HeadResult | undefined> {
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

/**
 * Every key under `prefix`, all pages (a listing is in key order).
 * @throws the SDK's error, unwrapped.
 */
export async function listAllObjects(s3: S3Client, bucket: string, prefix: string): Promise<_Object[]> {
  const contents: _Object[] = [];
  for await (const page of paginateListObjectsV2(
    { client: s3, pageSize: 1000 },
    { Bucket: bucket, Prefix: prefix },
  )) {
    contents.push(...(page.Contents ?? []));
  }
  return contents;
}

/**
 * The first `maxKeys` keys under `prefix`: one page, for a bounded sample.
 * @throws the SDK's error, unwrapped.
 */
export async function listFirstObjects(
  s3: S3Client,
  bucket: string,
  prefix: string,
  maxKeys: number,
): Promise<_Object[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, MaxKeys: maxKeys }));
  return page.Contents ?? [];
}

/**
 * Writes a small JSON object.
 * @throws the SDK's error, unwrapped.
 */
export async function putJsonObject(s3: S3Client, bucket: string, key: string, body: unknown): Promise<void> {
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify(body),
      ContentType: "application/json",
    }),
  );
}

/**
 * Deletes every version of a key (canaries live in versioned buckets; a plain delete leaves them).
 * @throws the SDK's error, unwrapped.
 */
export async function deleteAllVersions(s3: S3Client, bucket: string, key: string): Promise<void> {
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

export interface BatchJob {
  readonly id: string;
  readonly status: string;
  readonly description: string | undefined;
  /** Creation time in epoch milliseconds (0 when S3 does not say). */
  readonly created: number;
}

/**
 * The account's S3 Batch Operations jobs in the given states (every page of ListJobs).
 * @throws the SDK's error, unwrapped.
 */
export async function listBatchJobs(
  s3control: S3ControlClient,
  account: string,
  statuses: readonly JobStatus[],
): Promise<BatchJob[]> {
  const jobs: BatchJob[] = [];
  for await (const page of paginateListJobs(
    { client: s3control },
    { AccountId: account, JobStatuses: [...statuses] },
  )) {
    for (const job of page.Jobs ?? []) {
      if (!job.JobId) continue;
      jobs.push({
        id: job.JobId,
        status: job.Status ?? "Active",
        description: job.Description,
        created: job.CreationTime?.getTime() ?? 0,
      });
    }
  }
  return jobs;
}

/**
 * Creates an S3 Batch Operations job and reads back its status: a request token the job already used
 * returns the earlier job, whose real status is then reported.
 * @throws the SDK's error, unwrapped.
 */
export async function createBatchJob(
  s3control: S3ControlClient,
  input: CreateJobCommandInput & { AccountId: string },
): Promise<{ id: string; status: string }> {
  const created = await s3control.send(new CreateJobCommand(input));
  const id = created.JobId as string;
  const described = await s3control.send(new DescribeJobCommand({ AccountId: input.AccountId, JobId: id }));
  return { id, status: described.Job?.Status ?? "New" };
}
