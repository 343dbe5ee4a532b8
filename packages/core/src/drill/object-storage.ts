import {
  GetBucketReplicationCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  type S3Client,
} from "@aws-sdk/client-s3";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";

/**
 * "Check object storage": a bounded random sample of objects older than the watermark, taken from one
 * page of the source bucket's listing (calls do not grow with the bucket), must be in the replica bucket
 * with the same size and ETag. The replica is the destination of the source's enabled replication rule.
 */

export interface SampleInput {
  readonly bucket: string;
  readonly watermark: string;
  readonly sampleSize: number;
  /** The one listing page's size. */
  readonly listLimit?: number;
}

export interface SampleResult {
  readonly bucket: string;
  readonly replica?: string;
  readonly eligible: number;
  readonly sampled: number;
  readonly matched: number;
  readonly problems: readonly string[];
}

export interface ObjectStorageDeps {
  /** S3 in the source bucket's region, and in the replica's. */
  readonly source: Pick<S3Client, "send">;
  readonly replica: Pick<S3Client, "send">;
  /** [0, 1): the sample's choice (injected so a test can fix it). */
  readonly random?: () => number;
}

const bucketOfArn = (arn: string | undefined) => arn?.replace(/^arn:[^:]+:s3:::/, "");
const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, "");

/** @throws AwsCallError (listing or replication configuration unreadable) */
export async function sampleReplica(deps: ObjectStorageDeps, input: SampleInput): Promise<SampleResult> {
  let replica: string | undefined;
  try {
    const rules = (await deps.source.send(new GetBucketReplicationCommand({ Bucket: input.bucket })))
      .ReplicationConfiguration?.Rules;
    replica = bucketOfArn(rules?.find((r) => r.Status === "Enabled")?.Destination?.Bucket);
  } catch (error) {
    if (awsErrorCode(error) !== "ReplicationConfigurationNotFoundError") {
      throw wrapAwsError(`Unable to read the replication configuration of ${input.bucket}`, error);
    }
  }
  const base = { bucket: input.bucket, eligible: 0, sampled: 0, matched: 0 };
  if (!replica)
    return {
      ...base,
      problems: [`${input.bucket} has no enabled replication rule: nothing to restore from`],
    };
  const watermark = Date.parse(input.watermark);
  let listed: {
    Key?: string | undefined;
    Size?: number | undefined;
    ETag?: string | undefined;
    LastModified?: Date | undefined;
  }[];
  try {
    listed =
      (
        await deps.source.send(
          new ListObjectsV2Command({ Bucket: input.bucket, MaxKeys: input.listLimit ?? 1000 }),
        )
      ).Contents ?? [];
  } catch (error) {
    throw wrapAwsError(`Unable to list ${input.bucket}`, error);
  }
  const eligible = listed.filter((o) => o.Key && o.LastModified && o.LastModified.getTime() < watermark);
  const random = deps.random ?? Math.random;
  const pool = [...eligible];
  const sample: typeof eligible = [];
  while (sample.length < input.sampleSize && pool.length > 0) {
    sample.push(...pool.splice(Math.floor(random() * pool.length), 1));
  }
  const problems: string[] = [];
  let matched = 0;
  for (const object of sample) {
    const key = object.Key as string;
    try {
      const head = await deps.replica.send(new HeadObjectCommand({ Bucket: replica, Key: key }));
      if (head.ContentLength !== object.Size) {
        problems.push(
          `${replica}/${key}: size ${head.ContentLength} in the replica, ${object.Size} in ${input.bucket}`,
        );
      } else if (unquote(head.ETag) !== unquote(object.ETag)) {
        problems.push(
          `${replica}/${key}: ETag ${unquote(head.ETag)} in the replica, ${unquote(object.ETag)} in ${input.bucket}`,
        );
      } else {
        matched += 1;
      }
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === "NotFound" || code === "NoSuchKey") {
        problems.push(
          `${replica}/${key} is missing (written to ${input.bucket} ${object.LastModified?.toISOString()}, before the watermark)`,
        );
      } else {
        throw wrapAwsError(`Unable to read ${replica}/${key}`, error);
      }
    }
  }
  return { ...base, replica, eligible: eligible.length, sampled: sample.length, matched, problems };
}
