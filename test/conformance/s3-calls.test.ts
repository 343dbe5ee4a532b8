/**
 * Conformance: the S3 calls of the replication check (s3/api.ts) one by one, and the canary age it
 * publishes as the restore reads it back (s3/cloudwatch.ts), on moto_server and on our fake
 * (packages/sim/src/s3/fake-s3.ts). Where moto and AWS part (moto-gaps.ts), the fake follows AWS.
 */
import { DeleteObjectCommand, GetBucketEncryptionCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { describe, expect, it } from "vitest";
import { awsErrorCode } from "../../packages/core/src/aws/errors.ts";
import {
  deleteAllVersions,
  headObject,
  listAllObjects,
  listBucketsWithPrefix,
  listFirstObjects,
  putJsonObject,
  readDefaultSseKms,
  readRegion,
  readReplication,
  readVersioning,
} from "../../packages/core/src/s3/api.ts";
import { publishCanaryAges, replicationLag } from "../../packages/core/src/s3/cloudwatch.ts";
import { CANARY_PREFIX, DR, minutesAfter, SOURCE } from "../../packages/sim/src/s3/fake-s3.ts";
import { useMoto } from "../fixtures/moto.ts";
import { fakeWorld, gap, md5, motoWorld, versionCount } from "./s3-worlds.ts";

const moto = useMoto();

describe("the check's S3 calls (s3/api.ts) answer the same on moto and on the fake", () => {
  it("versions, deletes every version, heads, lists by page and prefix, reads regions and encryption", async () => {
    const onMoto = await motoWorld(moto);
    const onFake = fakeWorld();
    const answers: Record<string, unknown> = {};
    const gapsSeen: Record<string, { kmsEtagIsMd5: boolean; defaultEncryption: string | undefined }> = {};
    for (const world of [onMoto, onFake]) {
      await world.build([
        { name: "gitpod-user-a", versioning: "Enabled" },
        { name: "gitpod-user-b", region: DR, versioning: "Enabled" },
        { name: "gitpod-userx", region: "us-east-1" },
        { name: "other-kms", encryption: "aws:kms" },
        { name: "other-aes", encryption: "AES256" },
      ]);
      const { s3 } = world.deps;
      const key = `${CANARY_PREFIX}2026-11-26T03-00-00Z-abcdef`;
      await putJsonObject(s3, "gitpod-user-a", key, { n: 1 });
      await putJsonObject(s3, "gitpod-user-a", key, { n: 2 });
      await putJsonObject(s3, "gitpod-user-a", "data/1", { n: 3 });
      await putJsonObject(s3, "gitpod-user-a", "data/2", { n: 4 });
      await s3.send(new PutObjectCommand({ Bucket: "gitpod-user-a", Key: "gone", Body: "x" }));
      await s3.send(new DeleteObjectCommand({ Bucket: "gitpod-user-a", Key: "gone" }));
      const head = await headObject(s3, "gitpod-user-a", key);
      const before = await versionCount(s3, "gitpod-user-a", key);
      await deleteAllVersions(s3, "gitpod-user-a", key);
      await deleteAllVersions(s3, "gitpod-user-a", "gone");
      answers[world.name] = {
        buckets: await listBucketsWithPrefix(s3, "gitpod-user-"),
        head,
        versionsBefore: before,
        versionsAfter: await versionCount(s3, "gitpod-user-a", key),
        goneAfter: await versionCount(s3, "gitpod-user-a", "gone"),
        headDeleted: await headObject(s3, "gitpod-user-a", key),
        headMissing: await headObject(s3, "gitpod-user-a", "never"),
        firstPage: (await listFirstObjects(s3, "gitpod-user-a", "", 1)).map((o) => o.Key),
        all: (await listAllObjects(s3, "gitpod-user-a", "data/")).map((o) => [o.Key, o.Size]),
        regions: [
          await readRegion(s3, "gitpod-user-a"),
          await readRegion(world.deps.s3Dr, "gitpod-user-b"),
          await readRegion(s3, "gitpod-userx"),
        ],
        versioning: [await readVersioning(s3, "gitpod-user-a"), await readVersioning(s3, "gitpod-userx")],
        sseKms: [
          await readDefaultSseKms(s3, "other-kms"),
          await readDefaultSseKms(s3, "other-aes"),
          await readDefaultSseKms(s3, "gitpod-userx"),
        ],
        replication: await readReplication(s3, "gitpod-user-a"),
      };
      const body = JSON.stringify({ n: 5 });
      await putJsonObject(s3, "other-kms", "k", { n: 5 });
      gapsSeen[world.name] = {
        kmsEtagIsMd5: (await headObject(s3, "other-kms", "k"))?.etag === `"${md5(body)}"`,
        defaultEncryption: await s3.send(new GetBucketEncryptionCommand({ Bucket: "gitpod-userx" })).then(
          (out) =>
            out.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault
              ?.SSEAlgorithm,
          (error: unknown) => awsErrorCode(error),
        ),
      };
    }
    expect(answers.moto).toEqual(answers.fake);
    // Where moto and AWS part (MOTO_S3_GAPS), the fake answers as AWS documents: an SSE-KMS object's
    // ETag is not the MD5 of its data, and a bucket never configured has SSE-S3 default encryption.
    expect(gapsSeen.fake).toEqual({ kmsEtagIsMd5: false, defaultEncryption: "AES256" });
    expect(gapsSeen.moto).toEqual({
      kmsEtagIsMd5: true,
      defaultEncryption: "ServerSideEncryptionConfigurationNotFoundError",
    });
    expect(gap("ETag")).toBeDefined();
    expect(gap("GetBucketEncryption")).toBeDefined();
    expect(answers.fake).toMatchObject({
      buckets: ["gitpod-user-a", "gitpod-user-b"],
      head: { size: 7, etag: expect.stringMatching(/^"[0-9a-f]{32}"$/) },
      versionsBefore: 2,
      versionsAfter: 0,
      goneAfter: 0,
      headDeleted: undefined,
      headMissing: undefined,
      firstPage: ["data/1"],
      regions: ["eu-west-1", "eu-central-1", "us-east-1"],
      versioning: ["Enabled", undefined],
      sseKms: [true, false, false],
      replication: undefined,
    });
  }, 30_000);
});

describe("the canary age the check publishes, as the restore reads it back (CloudWatch)", () => {
  it("reads the newest value per bucket on moto and on the fake, none for a bucket never published", async () => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const lags: Record<string, Awaited<ReturnType<typeof replicationLag>>> = {};
    for (const world of [await motoWorld(moto), fakeWorld()]) {
      const { cloudwatch } = world.deps;
      await publishCanaryAges(
        cloudwatch,
        [
          { bucket: SOURCE, seconds: 600 },
          { bucket: "gitpod-user-a", seconds: 30 },
        ],
        minutesAfter(now, -40),
      );
      await publishCanaryAges(cloudwatch, [{ bucket: SOURCE, seconds: 60 }], minutesAfter(now, -2));
      lags[world.name] = await replicationLag(cloudwatch, [SOURCE, "gitpod-user-a", "never"], now);
    }
    for (const name of ["moto", "fake"]) {
      const [source, user, never] = lags[name] ?? [];
      // The newest value plus the time since its period began: 60 s + 2 to 7 minutes.
      expect(source?.seconds, name).toBeGreaterThanOrEqual(60 + 120);
      expect(source?.seconds, name).toBeLessThan(60 + 120 + 300);
      expect(user?.seconds, name).toBeGreaterThanOrEqual(30 + 40 * 60);
      expect(user?.seconds, name).toBeLessThan(30 + 40 * 60 + 300);
      expect(never, name).toEqual({ bucket: "never" });
    }
  }, 30_000);
});
