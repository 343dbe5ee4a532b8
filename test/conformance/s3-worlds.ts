/**
 * The two S3 worlds of the conformance suite (s3.test.ts, s3-calls.test.ts): moto_server reached through
 * real SDK clients, and our fake (packages/sim/src/s3/fake-s3.ts), built from the same bucket list, with the
 * helpers that read both the same way.
 */
import { createHash } from "node:crypto";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { headObject, listAllObjects } from "../../packages/core/src/s3/api.ts";
import {
  runStorageCheck,
  type StorageCheckSummary,
  type StorageDeps,
} from "../../packages/core/src/s3/job.ts";
import { type BucketSpec, DR, FakeS3World, jobConfig, PRIMARY } from "../../packages/sim/src/s3/fake-s3.ts";
import type { MotoServer } from "../fixtures/moto.ts";
import { MOTO_S3_GAPS } from "./moto-gaps.ts";

/** One bucket as both worlds build it. */
export interface Bucket extends BucketSpec {
  name: string;
}

export interface World {
  readonly name: "moto" | "fake";
  readonly deps: StorageDeps;
  build(buckets: readonly Bucket[]): Promise<void>;
  /** What S3 does between runs: replicate what is pending (the fake plays it; moto never does). */
  replicate(): Promise<void>;
}

/** A KMS key ARN both worlds use for SSE-KMS (moto's S3 does not look it up; the fake has no KMS). */
let kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000";

export async function motoWorld(moto: MotoServer): Promise<World> {
  await moto.reset();
  const s3 = new S3Client(moto.clientConfig(PRIMARY));
  const s3Dr = new S3Client(moto.clientConfig(DR));
  const deps: StorageDeps = {
    s3,
    s3Dr,
    cloudwatch: new CloudWatchClient(moto.clientConfig(PRIMARY)),
    s3control: new S3ControlClient(moto.clientConfig(PRIMARY)),
  };
  kmsKeyArn =
    (await new KMSClient(moto.clientConfig(PRIMARY)).send(new CreateKeyCommand({}))).KeyMetadata?.Arn ??
    kmsKeyArn;
  return {
    name: "moto",
    deps,
    async build(buckets) {
      // Buckets first (a rule names its destination), then versioning, then the rules.
      for (const b of buckets) {
        const region = b.region ?? PRIMARY;
        // CreateBucket goes to the bucket's own region (S3 refuses a location the endpoint is not in).
        const client =
          region === PRIMARY ? s3 : region === DR ? s3Dr : new S3Client(moto.clientConfig(region));
        const input: CreateBucketCommandInput = { Bucket: b.name };
        if (region !== "us-east-1") input.CreateBucketConfiguration = { LocationConstraint: region as never };
        await client.send(new CreateBucketCommand(input));
      }
      for (const b of buckets) {
        if (b.versioning === "Enabled" || b.replication) {
          await s3.send(
            new PutBucketVersioningCommand({
              Bucket: b.name,
              VersioningConfiguration: { Status: "Enabled" },
            }),
          );
        }
        if (b.encryption) {
          await s3.send(
            new PutBucketEncryptionCommand({
              Bucket: b.name,
              ServerSideEncryptionConfiguration: {
                Rules: [
                  {
                    ApplyServerSideEncryptionByDefault: {
                      SSEAlgorithm: b.encryption,
                      ...(b.encryption === "aws:kms" ? { KMSMasterKeyID: kmsKeyArn } : {}),
                    },
                  },
                ],
              },
            }),
          );
        }
      }
      for (const b of buckets) {
        if (b.replication) {
          await s3.send(
            new PutBucketReplicationCommand({ Bucket: b.name, ReplicationConfiguration: b.replication }),
          );
        }
        if (b.versioning === "Suspended") {
          await s3.send(
            new PutBucketVersioningCommand({
              Bucket: b.name,
              VersioningConfiguration: { Status: "Suspended" },
            }),
          );
        }
      }
    },
    async replicate() {},
  };
}

export function fakeWorld(): World {
  const world = FakeS3World.create();
  return {
    name: "fake",
    deps: world.deps,
    async build(buckets) {
      for (const { name, ...spec } of buckets) world.bucket(name, spec);
    },
    async replicate() {
      world.replicate();
    },
  };
}

export const nonce = (text: string) =>
  text.replace(/(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)-[0-9a-f]{6}/g, "$1-<nonce>");

/** A run's summary as both worlds are compared (canary nonces are random). */
export function seen(summary: StorageCheckSummary) {
  return {
    health: summary.health,
    buckets: summary.buckets.map((b) => ({
      bucket: b.bucket,
      health: b.health,
      findings: b.findings.map((f) => ({ ...f, message: nonce(f.message) })),
      canaryWritten: b.canaryWritten === undefined ? undefined : nonce(b.canaryWritten),
      lastReplicatedCanary: b.lastReplicatedCanary,
      secondsSinceReplicatedCanary: b.secondsSinceReplicatedCanary,
      sample: b.sample,
    })),
  };
}

/** Runs the check; a failed run's summary is on its ReplicationUnhealthyError. */
export async function run(world: World, at: Date, config = jobConfig(), dryRun = false) {
  try {
    return seen(await runStorageCheck({ dryRun }, config, world.deps, { now: at, random: () => 0.5 }));
  } catch (error) {
    const summary = (error as { summary?: StorageCheckSummary }).summary;
    if (!summary) throw error;
    return seen(summary);
  }
}

/** The current objects under a prefix, read through the check's own S3 calls (the same for both). */
export async function objects(s3: S3Client, bucket: string, prefix: string) {
  const listed = await listAllObjects(s3, bucket, prefix);
  return Promise.all(
    listed.map(async (o) => ({
      key: nonce(o.Key as string),
      ...(await headObject(s3, bucket, o.Key as string)),
    })),
  );
}

export async function versionCount(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
}

export const md5 = (text: string) => createHash("md5").update(text).digest("hex");

export const gap = (field: string) => {
  const found = MOTO_S3_GAPS.find((g) => g.field === field);
  if (!found) throw new Error(`moto-gaps.ts lists no S3 gap ${field}`);
  return found;
};
