/**
 * The fake S3 world's command handlers: what each S3, CloudWatch and S3 Control command the fake serves
 * does to the world's state, recorded call by call.
 */
import {
  type CloudWatchClientResolvedConfig,
  type ServiceInputTypes as CwInput,
  type ServiceOutputTypes as CwOutput,
  GetMetricDataCommand,
  type GetMetricDataCommandInput,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from "@aws-sdk/client-cloudwatch";
import {
  DeleteObjectCommand,
  type DeleteObjectCommandInput,
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketReplicationCommand,
  GetBucketVersioningCommand,
  HeadObjectCommand,
  type HeadObjectCommandInput,
  ListBucketsCommand,
  type ListBucketsCommandInput,
  ListObjectsV2Command,
  type ListObjectsV2CommandInput,
  ListObjectVersionsCommand,
  type ListObjectVersionsCommandInput,
  NotFound,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3ClientResolvedConfig,
  type ServiceInputTypes as S3Input,
  type ServiceOutputTypes as S3Output,
} from "@aws-sdk/client-s3";
import {
  CreateJobCommand,
  type CreateJobCommandInput,
  type ServiceInputTypes as CtlInput,
  type ServiceOutputTypes as CtlOutput,
  DescribeJobCommand,
  type DescribeJobCommandInput,
  ListJobsCommand,
  type ListJobsCommandInput,
  type S3ControlClientResolvedConfig,
} from "@aws-sdk/client-s3-control";
import type { AwsStub } from "aws-sdk-client-mock";
import { type FakeJob, type FakeVersion, type Label, md5, s3Error } from "./fake-s3-model.ts";
import type { FakeS3World } from "./fake-s3-world.ts";

export function installS3(
  world: FakeS3World,
  stub: AwsStub<S3Input, S3Output, S3ClientResolvedConfig>,
  label: Label,
): void {
  stub.on(ListBucketsCommand).callsFake(async (input: ListBucketsCommandInput) => {
    world.calls.push({ client: label, command: "ListBuckets", input: { ...input } });
    const prefix = input.Prefix ?? "";
    const all = [...world.buckets.keys()].filter((n) => n.startsWith(prefix)).sort();
    const after = input.ContinuationToken ? Buffer.from(input.ContinuationToken, "base64").toString() : "";
    const rest = all.filter((n) => n > after);
    const page = rest.slice(0, input.MaxBuckets ?? 10_000);
    const last = page.at(-1);
    return {
      Buckets: page.map((name) => ({
        Name: name,
        BucketRegion: world.buckets.get(name)?.region,
        CreationDate: new Date("2026-01-01T00:00:00Z"),
      })),
      ...(input.Prefix ? { Prefix: input.Prefix } : {}),
      ...(rest.length > page.length && last
        ? { ContinuationToken: Buffer.from(last).toString("base64") }
        : {}),
    };
  });
  stub.on(GetBucketVersioningCommand).callsFake(async (input: { Bucket?: string }) => {
    const bucket = world.bucketCall(label, "GetBucketVersioning", input);
    return bucket.versioning ? { Status: bucket.versioning } : {};
  });
  stub.on(GetBucketReplicationCommand).callsFake(async (input: { Bucket?: string }) => {
    const bucket = world.bucketCall(label, "GetBucketReplication", input);
    if (!bucket.replication) {
      throw s3Error(
        "ReplicationConfigurationNotFoundError",
        404,
        "The replication configuration was not found",
      );
    }
    return { ReplicationConfiguration: structuredClone(bucket.replication) };
  });
  stub.on(GetBucketEncryptionCommand).callsFake(async (input: { Bucket?: string }) => {
    const bucket = world.bucketCall(label, "GetBucketEncryption", input);
    // Every bucket has default encryption since 5 January 2023: SSE-S3 unless configured otherwise
    // (S3 User Guide, "Setting default server-side encryption behavior"). moto still answers
    // ServerSideEncryptionConfigurationNotFoundError (test/conformance/moto-gaps.ts).
    return {
      ServerSideEncryptionConfiguration: {
        Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: bucket.encryption ?? "AES256" } }],
      },
    };
  });
  stub.on(GetBucketLocationCommand).callsFake(async (input: { Bucket?: string }) => {
    const bucket = world.bucketCall(label, "GetBucketLocation", input);
    return bucket.region === "us-east-1" ? {} : { LocationConstraint: bucket.region };
  });
  stub.on(ListObjectsV2Command).callsFake(async (input: ListObjectsV2CommandInput) => {
    const bucket = world.bucketCall(label, "ListObjectsV2", input);
    const prefix = input.Prefix ?? "";
    const max = input.MaxKeys ?? 1000;
    const after = input.ContinuationToken
      ? Buffer.from(input.ContinuationToken, "base64").toString()
      : (input.StartAfter ?? "");
    const own = [...bucket.objects.keys()].filter(
      (k) => k.startsWith(prefix) && k > after && world.latest(bucket, k),
    );
    // Enough of the generated keys to fill the page (and tell whether more follow), merged with the
    // bucket's own.
    const bulk = bucket.bulk ? world.bulkKeys(bucket.bulk, prefix, after, max + 1) : [];
    const keys = [...own, ...bulk].sort();
    const page = keys.slice(0, max);
    const truncated = keys.length > page.length;
    const last = page.at(-1);
    return {
      Contents: page.map((key) => ({ Key: key, Size: world.latest(bucket, key)?.size ?? 100 })),
      KeyCount: page.length,
      MaxKeys: max,
      Prefix: prefix,
      IsTruncated: truncated,
      ...(truncated && last ? { NextContinuationToken: Buffer.from(last).toString("base64") } : {}),
    };
  });
  stub.on(HeadObjectCommand).callsFake(async (input: HeadObjectCommandInput) => {
    const bucket = world.bucketCall(label, "HeadObject", input);
    const key = input.Key ?? "";
    const v = world.latest(bucket, key);
    if (v) {
      return {
        ETag: v.etag,
        ContentLength: v.size,
        VersionId: v.versionId,
        ...(v.status ? { ReplicationStatus: v.status } : {}),
      };
    }
    if (bucket.bulk && world.bulkHas(bucket.bulk, key)) {
      return {
        ETag: `"${md5(key)}"`,
        ContentLength: 100,
        ...(bucket.bulk.status ? { ReplicationStatus: bucket.bulk.status } : {}),
      };
    }
    throw new NotFound({ $metadata: { httpStatusCode: 404 }, message: "Not Found" });
  });
  stub.on(PutObjectCommand).callsFake(async (input: PutObjectCommandInput) => {
    world.bucketCall(label, "PutObject", input);
    const v = world.put(input.Bucket ?? "", input.Key ?? "", String(input.Body ?? ""));
    return { ETag: v.etag, ...(v.versionId !== "null" ? { VersionId: v.versionId } : {}) };
  });
  stub.on(ListObjectVersionsCommand).callsFake(async (input: ListObjectVersionsCommandInput) => {
    const bucket = world.bucketCall(label, "ListObjectVersions", input);
    const prefix = input.Prefix ?? "";
    const entries = [...bucket.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b))
      .flatMap(([key, versions]) => [...versions].reverse().map((v, i) => ({ key, v, isLatest: i === 0 })))
      .slice(0, input.MaxKeys ?? 1000);
    return {
      Versions: entries
        .filter((e) => !e.v.deleteMarker)
        .map((e) => ({ Key: e.key, VersionId: e.v.versionId, IsLatest: e.isLatest, ETag: e.v.etag })),
      DeleteMarkers: entries
        .filter((e) => e.v.deleteMarker)
        .map((e) => ({ Key: e.key, VersionId: e.v.versionId, IsLatest: e.isLatest })),
      IsTruncated: false,
    };
  });
  stub.on(DeleteObjectCommand).callsFake(async (input: DeleteObjectCommandInput) => {
    const bucket = world.bucketCall(label, "DeleteObject", input);
    const key = input.Key ?? "";
    const versions = bucket.objects.get(key) ?? [];
    if (input.VersionId) {
      // A version deleted by id is gone for good (and never replicated).
      const left = versions.filter((v) => v.versionId !== input.VersionId);
      if (left.length > 0) bucket.objects.set(key, left);
      else bucket.objects.delete(key);
      return { VersionId: input.VersionId };
    }
    if (bucket.versioning === "Enabled") {
      const marker: FakeVersion = {
        versionId: `v${world.nextVersion++}`,
        deleteMarker: true,
        body: "",
        size: 0,
        etag: "",
      };
      bucket.objects.set(key, [...versions, marker]);
      return { DeleteMarker: true, VersionId: marker.versionId };
    }
    bucket.objects.delete(key);
    return {};
  });
}

export function installCloudWatch(
  world: FakeS3World,
  stub: AwsStub<CwInput, CwOutput, CloudWatchClientResolvedConfig>,
): void {
  stub.on(GetMetricDataCommand).callsFake(async (input: GetMetricDataCommandInput) => {
    world.calls.push({ client: "cloudwatch", command: "GetMetricData", input: { ...input } });
    return {
      MetricDataResults: (input.MetricDataQueries ?? []).map((q) => {
        const metric = q.MetricStat?.Metric;
        // Metrics of our own namespace are what PutMetricData stored, as CloudWatch keeps them.
        if (metric?.Namespace !== "AWS/S3") return { Id: q.Id, ...publishedSeries(world, input, q) };
        const dim = (name: string) => metric?.Dimensions?.find((d) => d.Name === name)?.Value;
        const values =
          world.replicationMetrics.get(
            `${dim("SourceBucket")}|${dim("DestinationBucket")}|${dim("RuleId")}`,
          )?.[metric?.MetricName ?? ""] ?? [];
        return {
          Id: q.Id,
          Label: metric?.MetricName,
          Values: values,
          Timestamps: values.map(() => new Date()),
          StatusCode: "Complete",
        };
      }),
    };
  });
  stub.on(PutMetricDataCommand).callsFake(async (input: PutMetricDataCommandInput) => {
    world.calls.push({ client: "cloudwatch", command: "PutMetricData", input: { ...input } });
    world.published.push(input);
    return {};
  });
}

/**
 * One query's statistic over what PutMetricData stored: per period from StartTime (as moto does; where
 * CloudWatch starts its periods is the README's open question), newest first unless ScanBy says
 * TimestampAscending (CloudWatch's default is TimestampDescending).
 */
function publishedSeries(
  world: FakeS3World,
  input: GetMetricDataCommandInput,
  query: NonNullable<GetMetricDataCommandInput["MetricDataQueries"]>[number],
): { Label?: string; Values: number[]; Timestamps: Date[]; StatusCode: "Complete" } {
  const stat = query.MetricStat;
  const metric = stat?.Metric;
  const dims = (list: { Name?: string | undefined; Value?: string | undefined }[] | undefined) =>
    JSON.stringify((list ?? []).map((d) => [d.Name, d.Value]).sort());
  const start = input.StartTime?.getTime() ?? 0;
  const end = input.EndTime?.getTime() ?? Date.now();
  const periodMs = (stat?.Period ?? 60) * 1000;
  const byPeriod = new Map<number, number[]>();
  for (const put of world.published) {
    if (put.Namespace !== metric?.Namespace) continue;
    for (const datum of put.MetricData ?? []) {
      const at = datum.Timestamp?.getTime() ?? 0;
      if (datum.MetricName !== metric?.MetricName || dims(datum.Dimensions) !== dims(metric?.Dimensions))
        continue;
      if (at < start || at >= end || datum.Value === undefined) continue;
      const period = start + Math.floor((at - start) / periodMs) * periodMs;
      byPeriod.set(period, [...(byPeriod.get(period) ?? []), datum.Value]);
    }
  }
  const statistic = (values: number[]) => {
    const sum = values.reduce((a, b) => a + b, 0);
    switch (stat?.Stat) {
      case "Maximum":
        return Math.max(...values);
      case "Minimum":
        return Math.min(...values);
      case "Sum":
        return sum;
      case "SampleCount":
        return values.length;
      default:
        return sum / values.length;
    }
  };
  const periods = [...byPeriod.keys()].sort((a, b) =>
    input.ScanBy === "TimestampAscending" ? a - b : b - a,
  );
  return {
    ...(metric?.MetricName ? { Label: metric.MetricName } : {}),
    Values: periods.map((p) => statistic(byPeriod.get(p) as number[])),
    Timestamps: periods.map((p) => new Date(p)),
    StatusCode: "Complete",
  };
}

export function installS3Control(
  world: FakeS3World,
  stub: AwsStub<CtlInput, CtlOutput, S3ControlClientResolvedConfig>,
): void {
  stub.on(ListJobsCommand).callsFake(async (input: ListJobsCommandInput) => {
    world.calls.push({ client: "s3control", command: "ListJobs", input: { ...input } });
    const statuses = input.JobStatuses;
    return {
      Jobs: world.jobs
        .filter((j) => !statuses || statuses.includes(j.status as never))
        .map((j) => ({
          JobId: j.id,
          Description: j.input.Description,
          Operation: "S3ReplicateObject",
          Status: j.status,
          Priority: j.input.Priority,
          ...(j.creationTime ? { CreationTime: j.creationTime } : {}),
        })),
    };
  });
  stub.on(DescribeJobCommand).callsFake(async (input: DescribeJobCommandInput) => {
    world.calls.push({ client: "s3control", command: "DescribeJob", input: { ...input } });
    const job = world.jobs.find((j) => j.id === input.JobId);
    return job ? { Job: { JobId: job.id, Status: job.status, Description: job.input.Description } } : {};
  });
  stub.on(CreateJobCommand).callsFake(async (input: CreateJobCommandInput) => {
    world.calls.push({ client: "s3control", command: "CreateJob", input: { ...input } });
    // S3 answers a retried request (same ClientRequestToken) with the job it already created.
    const same = world.jobs.find((j) => j.input.ClientRequestToken === input.ClientRequestToken);
    if (same) return { JobId: same.id };
    const job: FakeJob = { id: `job-${world.jobs.length + 1}`, status: "New", input };
    world.jobs.push(job);
    return { JobId: job.id };
  });
}
