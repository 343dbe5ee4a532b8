import {
  GetBucketEncryptionCommand,
  GetBucketLocationCommand,
  GetBucketReplicationCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
} from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { awsErrorCode, wrapAwsError } from "../../../packages/core/src/aws/errors.ts";
import { DESTINATION, DR, FakeS3World, SOURCE } from "../../../packages/sim/src/s3/fake-s3.ts";

/** The fake answers as S3 does for what the check relies on; these pin that down. */
describe("the fake S3 world", () => {
  it("pages ListBuckets by prefix over the buckets of every region", async () => {
    const world = FakeS3World.create();
    for (let i = 0; i < 5; i++) world.bucket(`gitpod-user-${i}`, { region: i % 2 ? DR : "eu-west-1" });
    world.bucket("other");

    const first = await world.s3.send(new ListBucketsCommand({ Prefix: "gitpod-user-", MaxBuckets: 3 }));
    const second = await world.s3.send(
      new ListBucketsCommand({
        Prefix: "gitpod-user-",
        MaxBuckets: 3,
        ContinuationToken: first.ContinuationToken,
      }),
    );

    expect(first.Buckets?.map((b) => b.Name)).toEqual(["gitpod-user-0", "gitpod-user-1", "gitpod-user-2"]);
    expect(first.Buckets?.[1]?.BucketRegion).toBe(DR);
    expect(second.Buckets?.map((b) => b.Name)).toEqual(["gitpod-user-3", "gitpod-user-4"]);
    expect(second.ContinuationToken).toBeUndefined();
  });

  it("answers the SDK's error names, with $metadata, for what is absent", async () => {
    const world = FakeS3World.create();
    world.bucket(SOURCE, { versioning: "Enabled" });

    const errors = await Promise.all([
      world.s3.send(new GetBucketReplicationCommand({ Bucket: SOURCE })).catch((e: unknown) => e),
      world.s3.send(new HeadObjectCommand({ Bucket: SOURCE, Key: "nope" })).catch((e: unknown) => e),
      world.s3.send(new GetBucketLocationCommand({ Bucket: "missing" })).catch((e: unknown) => e),
    ]);

    expect(errors.map(awsErrorCode)).toEqual([
      "ReplicationConfigurationNotFoundError",
      "NotFound",
      "NoSuchBucket",
    ]);
    expect((errors[1] as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(404);
  });

  it("answers SSE-S3 default encryption for a bucket never configured, as S3 does since January 2023", async () => {
    const world = FakeS3World.create();
    world.bucket(SOURCE);

    const out = await world.s3.send(new GetBucketEncryptionCommand({ Bucket: SOURCE }));

    expect(out.ServerSideEncryptionConfiguration?.Rules).toEqual([
      { ApplyServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } },
    ]);
  });

  it("answers AccessDenied for a denied bucket, which the check classifies as such", async () => {
    const world = FakeS3World.create();
    world.bucket(SOURCE);
    world.deny(SOURCE);

    const error = await world.s3
      .send(new GetBucketLocationCommand({ Bucket: SOURCE }))
      .catch((e: unknown) => e);

    expect(wrapAwsError("x", error).name).toBe("AwsAccessDenied");
  });

  it("lists one page of at most MaxKeys keys and says when more follow, for a million objects", async () => {
    const world = FakeS3World.create();
    world.bucket("huge", { bulk: { prefix: "data/", count: 1_000_000 } });
    world.put("huge", "a-first", "x");

    const page = await world.s3.send(new ListObjectsV2Command({ Bucket: "huge", MaxKeys: 3 }));
    const head = await world.s3.send(new HeadObjectCommand({ Bucket: "huge", Key: "data/0999999" }));

    expect(page.Contents?.map((c) => c.Key)).toEqual(["a-first", "data/0000000", "data/0000001"]);
    expect(page.IsTruncated).toBe(true);
    expect(head.ContentLength).toBe(100);
  });

  it("marks new objects under an enabled rule PENDING, and replicate() plays S3", () => {
    const world = FakeS3World.create();
    world.replicatingPair(SOURCE, DESTINATION, { Filter: { Prefix: "in/" } });
    world.put(SOURCE, "in/a", "a");
    world.put(SOURCE, "out/b", "b");

    expect(world.objects(SOURCE).map((o) => [o.key, o.status])).toEqual([
      ["in/a", "PENDING"],
      ["out/b", undefined],
    ]);
    expect(world.replicate()).toEqual([`${SOURCE}/in/a`]);
    expect(world.objects(SOURCE)[0]?.status).toBe("COMPLETED");
    expect(world.objects(DESTINATION)).toEqual([
      { key: "in/a", status: "REPLICA", size: 1, etag: world.objects(SOURCE)[0]?.etag },
    ]);
  });
});
