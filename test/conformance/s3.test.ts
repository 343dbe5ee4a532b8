/**
 * Conformance: the S3 replication check (`runStorageCheck` and its S3 calls in s3/api.ts) against
 * moto_server and against our fake (test/fixtures/s3/fake-s3.ts), the same buckets built in both, the
 * same runs, the end states compared. moto does not replicate objects and never sets ReplicationStatus,
 * and it reads back a reduced replication rule (moto-gaps.ts): what those gaps change is asserted as
 * such, everything else must agree.
 */

import { createHash } from "node:crypto";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateBucketCommand,
  type CreateBucketCommandInput,
  DeleteObjectCommand,
  GetBucketEncryptionCommand,
  ListObjectVersionsCommand,
  PutBucketEncryptionCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  type ReplicationConfiguration,
  S3Client,
} from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import {
  runStorageCheck,
  type StorageCheckSummary,
  type StorageDeps,
} from "../../packages/core/src/s3/job.ts";
import { type MotoServer, startMoto } from "../fixtures/moto.ts";
import {
  type BucketSpec,
  CANARY_PREFIX,
  DESTINATION,
  DR,
  FakeS3World,
  jobConfig,
  minutesAfter,
  PRIMARY,
  replicationConfig,
  replicationRule,
  SOURCE,
  T0,
} from "../fixtures/s3/fake-s3.ts";
import { MOTO_S3_GAPS } from "./moto-gaps.ts";

/** One bucket as both worlds build it. */
interface Bucket extends BucketSpec {
  name: string;
}

interface World {
  readonly name: "moto" | "fake";
  readonly deps: StorageDeps;
  build(buckets: readonly Bucket[]): Promise<void>;
  /** What S3 does between runs: replicate what is pending (the fake plays it; moto never does). */
  replicate(): Promise<void>;
}

/** A KMS key ARN both worlds use for SSE-KMS (moto's S3 does not look it up; the fake has no KMS). */
let kmsKeyArn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000000";

async function motoWorld(moto: MotoServer): Promise<World> {
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

function fakeWorld(): World {
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

const nonce = (text: string) =>
  text.replace(/(\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z)-[0-9a-f]{6}/g, "$1-<nonce>");

/** A run's summary as both worlds are compared (canary nonces are random). */
function seen(summary: StorageCheckSummary) {
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
async function run(world: World, at: Date, config = jobConfig(), dryRun = false) {
  try {
    return seen(await runStorageCheck({ dryRun }, config, world.deps, { now: at, random: () => 0.5 }));
  } catch (error) {
    const summary = (error as { summary?: StorageCheckSummary }).summary;
    if (!summary) throw error;
    return seen(summary);
  }
}

/** The current objects under a prefix, read through the check's own S3 calls (the same for both). */
async function objects(s3: S3Client, bucket: string, prefix: string) {
  const listed = await listAllObjects(s3, bucket, prefix);
  return Promise.all(
    listed.map(async (o) => ({
      key: nonce(o.Key as string),
      ...(await headObject(s3, bucket, o.Key as string)),
    })),
  );
}

async function versionCount(s3: S3Client, bucket: string, prefix: string): Promise<number> {
  const out = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
  return (out.Versions?.length ?? 0) + (out.DeleteMarkers?.length ?? 0);
}

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

const gap = (field: string) => {
  const found = MOTO_S3_GAPS.find((g) => g.field === field);
  if (!found) throw new Error(`moto-gaps.ts lists no S3 gap ${field}`);
  return found;
};

let moto: MotoServer;
beforeAll(async () => {
  moto = await startMoto();
}, 30_000);
afterAll(async () => {
  await moto?.stop();
});

const healthyPair = (rule = {}): Bucket[] => [
  { name: SOURCE, versioning: "Enabled", replication: replicationConfig(replicationRule(DESTINATION, rule)) },
  { name: DESTINATION, region: DR, versioning: "Enabled" },
];

describe("the S3 check on a healthy pair: moto and the fake agree but for replication itself", () => {
  it("audits, writes a canary per run and reads it back; only the fake replicates it", async () => {
    const onMoto = await motoWorld(moto);
    const onFake = fakeWorld();
    const runs: Record<World["name"], unknown[]> = { moto: [], fake: [] };
    const state: Record<World["name"], unknown> = { moto: undefined, fake: undefined };
    for (const world of [onMoto, onFake]) {
      await world.build(healthyPair());
      for (const minutes of [0, 30, 90]) {
        runs[world.name].push(await run(world, minutesAfter(T0, minutes)));
        await world.replicate();
      }
      state[world.name] = {
        source: await objects(world.deps.s3, SOURCE, CANARY_PREFIX),
        destination: await objects(world.deps.s3Dr, DESTINATION, CANARY_PREFIX),
        versioning: [
          await readVersioning(world.deps.s3, SOURCE),
          await readVersioning(world.deps.s3Dr, DESTINATION),
        ],
        regions: [await readRegion(world.deps.s3, SOURCE), await readRegion(world.deps.s3Dr, DESTINATION)],
        replication: await readReplication(world.deps.s3, SOURCE),
      };
    }
    const [motoRuns, fakeRuns] = [runs.moto, runs.fake];

    // The first run is the same in both: healthy, one canary written (nothing to read back yet).
    expect(motoRuns[0]).toEqual(fakeRuns[0]);
    expect(fakeRuns[0]).toMatchObject({
      health: "healthy",
      buckets: [
        { bucket: SOURCE, findings: [], canaryWritten: `${CANARY_PREFIX}2026-11-26T03-00-00Z-<nonce>` },
      ],
    });
    // The fake, like S3, replicated the first canary before the second run, which finds it arrived;
    // on moto the canary never gets a status (MOTO_S3_GAPS ReplicationStatus), so it stays pending…
    expect(fakeRuns[1]).toMatchObject({
      health: "healthy",
      buckets: [{ lastReplicatedCanary: T0.toISOString(), secondsSinceReplicatedCanary: 1800 }],
    });
    expect(motoRuns[1]).toMatchObject({ health: "healthy", buckets: [{ findings: [] }] });
    expect(motoRuns[1]).not.toHaveProperty("buckets.0.lastReplicatedCanary", expect.anything());
    // …and past stalledAfterMinutes (60) it is reported as never having had a status.
    expect(fakeRuns[2]).toMatchObject({ health: "healthy", buckets: [{ findings: [] }] });
    expect(motoRuns[2]).toMatchObject({
      health: "failed",
      buckets: [
        {
          findings: [
            {
              check: "canary",
              severity: "failure",
              message: expect.stringContaining("has no replication status after 90 minutes"),
            },
          ],
        },
      ],
    });

    // End state: the same canaries in the source (three, none cleaned up within keepMinutes), the same
    // sizes and ETags; the statuses and replicas are what S3 replication adds, which moto lacks.
    const motoState = state.moto as { source: { key: string; status?: string }[]; destination: unknown[] };
    const fakeState = state.fake as typeof motoState;
    const withoutStatus = (list: { status?: string }[]) => list.map(({ status: _, ...rest }) => rest);
    expect(withoutStatus(motoState.source)).toEqual(withoutStatus(fakeState.source));
    expect(motoState.source.map((o) => o.key)).toEqual([
      `${CANARY_PREFIX}2026-11-26T03-00-00Z-<nonce>`,
      `${CANARY_PREFIX}2026-11-26T03-30-00Z-<nonce>`,
      `${CANARY_PREFIX}2026-11-26T04-30-00Z-<nonce>`,
    ]);
    expect(fakeState.source.map((o) => o.status)).toEqual(["COMPLETED", "COMPLETED", "COMPLETED"]);
    expect(fakeState.destination).toHaveLength(3);
    expect(motoState.destination).toEqual([]);
    // Each gap is still one: moto sets no status, and replicates nothing.
    expect(motoState.source.every((o) => o.status === undefined)).toBe(true);
    expect(gap("ReplicationStatus").aws).toMatch(/HeadObject/);
    // Versioning, regions and the rule as read back (a rule within what moto keeps) agree.
    const { source: _s, destination: _d, ...motoRest } = motoState as Record<string, unknown>;
    const { source: _fs, destination: _fd, ...fakeRest } = fakeState as Record<string, unknown>;
    expect(motoRest).toEqual(fakeRest);
  }, 45_000);
});

/** Buckets in the states the audit judges, one source each (names are global: one world each). */
const judged = (): Bucket[] => [
  ...healthyPair(),
  // A rule for part of the bucket only (the check expects the whole bucket).
  {
    name: "src-prefix",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule(DESTINATION, { Filter: { Prefix: "logs/" } })),
  },
  // Delete markers replicated (storage.expect.deleteMarkerReplication "Disabled" below).
  {
    name: "src-delete-markers",
    versioning: "Enabled",
    replication: replicationConfig(
      replicationRule(DESTINATION, { DeleteMarkerReplication: { Status: "Enabled" } }),
    ),
  },
  // A V1 rule (Prefix, no Filter): S3 replicates its delete markers.
  {
    name: "src-v1",
    versioning: "Enabled",
    replication: replicationConfig({
      ID: "gitpod-dr-v1",
      Status: "Enabled",
      Prefix: "",
      Destination: { Bucket: `arn:aws:s3:::${DESTINATION}` },
    }),
  },
  // SSE-KMS, with the rule selecting SSE-KMS objects and a replica key.
  {
    name: "src-kms",
    versioning: "Enabled",
    encryption: "aws:kms",
    replication: replicationConfig(
      replicationRule(DESTINATION, {
        SourceSelectionCriteria: { SseKmsEncryptedObjects: { Status: "Enabled" } },
        Destination: {
          Bucket: `arn:aws:s3:::${DESTINATION}`,
          EncryptionConfiguration: { ReplicaKmsKeyID: "arn:aws:kms:eu-central-1:123456789012:key/replica" },
        },
      }),
    ),
  },
  // Replicating to an unversioned bucket, and to a bucket in the primary region.
  {
    name: "src-unversioned-dest",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule("dst-unversioned")),
  },
  { name: "dst-unversioned", region: DR },
  {
    name: "src-same-region",
    versioning: "Enabled",
    replication: replicationConfig(replicationRule("dst-primary")),
  },
  { name: "dst-primary", versioning: "Enabled" },
  // No replication at all, and not versioned.
  { name: "src-plain" },
];

const judgedConfig = () =>
  jobConfig({
    buckets: [
      SOURCE,
      "src-prefix",
      "src-delete-markers",
      "src-v1",
      "src-kms",
      "src-unversioned-dest",
      "src-same-region",
      "src-plain",
    ],
    destinations: { buckets: [DESTINATION, "dst-unversioned", "dst-primary"], bucketPrefixes: [] },
    expect: { deleteMarkerReplication: "Disabled" },
  });

describe("the configuration audit: moto and the fake agree but for what moto drops from a rule", () => {
  it("finds the same problems in every bucket except the rule parts moto does not read back", async () => {
    const onMoto = await motoWorld(moto);
    const onFake = fakeWorld();
    const rules: Record<string, Record<string, ReplicationConfiguration | undefined>> = {};
    const results: Record<string, ReturnType<typeof seen>> = {};
    for (const world of [onMoto, onFake]) {
      await world.build(judged());
      results[world.name] = await run(world, T0, judgedConfig(), true);
      const read: Record<string, ReplicationConfiguration | undefined> = {};
      for (const b of judged()) {
        if (b.replication) read[b.name] = await readReplication(world.deps.s3, b.name);
      }
      rules[world.name] = read;
    }
    const byBucket = (name: string) => ({
      moto: results.moto?.buckets.find((b) => b.bucket === name),
      fake: results.fake?.buckets.find((b) => b.bucket === name),
    });
    const checks = (report: { findings: { check: string; severity: string }[] } | undefined) =>
      report?.findings.map((f) => `${f.severity} ${f.check}`);

    // Where moto keeps what the audit reads, the findings are the same, word for word.
    for (const name of [SOURCE, "src-unversioned-dest", "src-same-region", "src-plain"]) {
      const { moto: m, fake: f } = byBucket(name);
      expect(m, name).toEqual(f);
    }
    expect(checks(byBucket(SOURCE).fake)).toEqual([]);
    expect(checks(byBucket("src-unversioned-dest").fake)).toEqual(["failure versioning"]);
    expect(checks(byBucket("src-same-region").fake)).toEqual(["failure destination"]);
    expect(checks(byBucket("src-plain").fake)).toEqual(["failure versioning", "failure replication-rule"]);

    // The rule parts moto drops (MOTO_S3_GAPS): the fake, like S3, reads back what was put, and the
    // audit judges it; on moto the audit sees a whole-bucket rule without delete markers or SSE-KMS criteria.
    expect(rules.fake?.["src-prefix"]?.Rules?.[0]?.Filter).toEqual({ Prefix: "logs/" });
    expect(rules.moto?.["src-prefix"]?.Rules?.[0]?.Filter).toEqual({ Prefix: "" });
    expect(checks(byBucket("src-prefix").fake)).toEqual(["failure coverage"]);
    expect(checks(byBucket("src-prefix").moto)).toEqual([]);
    expect(gap("Filter.Prefix")).toBeDefined();

    expect(rules.fake?.["src-delete-markers"]?.Rules?.[0]?.DeleteMarkerReplication).toEqual({
      Status: "Enabled",
    });
    expect(rules.moto?.["src-delete-markers"]?.Rules?.[0]?.DeleteMarkerReplication).toEqual({
      Status: "Disabled",
    });
    expect(checks(byBucket("src-delete-markers").fake)).toEqual(["failure delete-markers"]);
    expect(checks(byBucket("src-delete-markers").moto)).toEqual([]);
    expect(gap("DeleteMarkerReplication")).toBeDefined();

    // A V1 rule reads back as a V2 rule with delete markers Disabled on moto.
    expect(rules.fake?.["src-v1"]?.Rules?.[0]?.Filter).toBeUndefined();
    expect(rules.moto?.["src-v1"]?.Rules?.[0]).toMatchObject({
      Filter: { Prefix: "" },
      DeleteMarkerReplication: { Status: "Disabled" },
    });
    expect(checks(byBucket("src-v1").fake)).toEqual(["failure delete-markers"]);
    expect(checks(byBucket("src-v1").moto)).toEqual([]);

    expect(rules.fake?.["src-kms"]?.Rules?.[0]?.SourceSelectionCriteria).toEqual({
      SseKmsEncryptedObjects: { Status: "Enabled" },
    });
    expect(rules.moto?.["src-kms"]?.Rules?.[0]?.SourceSelectionCriteria).toBeUndefined();
    expect(checks(byBucket("src-kms").fake)).toEqual([]);
    expect(checks(byBucket("src-kms").moto)).toEqual(["failure sse-kms"]);
    expect(gap("SourceSelectionCriteria")).toBeDefined();

    // Everything else of each rule reads back the same (ID, priority, status, destination, role).
    // (A V1 rule has no priority; moto gives it Priority 1 with the rest of its V2 form.)
    const kept = (c: ReplicationConfiguration | undefined, v1: boolean) => ({
      Role: c?.Role,
      Rules: c?.Rules?.map((r) => ({
        ID: r.ID,
        ...(v1 ? {} : { Priority: r.Priority }),
        Status: r.Status,
        Destination: r.Destination,
      })),
    });
    for (const name of Object.keys(rules.fake ?? {})) {
      const v1 = rules.fake?.[name]?.Rules?.[0]?.Filter === undefined;
      expect(kept(rules.moto?.[name], v1), name).toEqual(kept(rules.fake?.[name], v1));
    }
    expect(rules.moto?.["src-v1"]?.Rules?.[0]?.Priority).toBe(1);
  }, 45_000);
});

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
