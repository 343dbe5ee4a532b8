/**
 * Conformance: the drill's AWS side against moto_server (an independent RDS, Secrets Manager and S3),
 * through the real SDK clients: teardown removes only drill-named, drill-tagged resources (never
 * production's), reports what it removed, and fails loudly when it cannot; credentials are the drill's
 * own; the replica sample finds missing and changed objects.
 */
import { CreateDBInstanceCommand, DescribeDBInstancesCommand, RDSClient } from "@aws-sdk/client-rds";
import {
  CreateBucketCommand,
  PutBucketReplicationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { beforeEach, describe, expect, it } from "vitest";
import { prepareScratchAccess } from "../../packages/core/src/drill/credentials.ts";
import { DrillScopeError, DrillTeardownFailedError } from "../../packages/core/src/drill/errors.ts";
import type { DrillKube } from "../../packages/core/src/drill/kube.ts";
import { drillSecretName, scratchDbIdentifier, TAG_DRILL } from "../../packages/core/src/drill/naming.ts";
import { sampleReplica } from "../../packages/core/src/drill/object-storage.ts";
import { tearDown } from "../../packages/core/src/drill/teardown.ts";
import { CREATED_BY_TAG } from "../../packages/core/src/tags.ts";
import { useMoto } from "../fixtures/moto.ts";

const REGION = "eu-central-1";
const STAGE = "prod";
const OLD = "20261129-0400-abc123";
const NOW = "20261206-0400-def456";
const moto = useMoto();
let rds: RDSClient;
let secrets: SecretsManagerClient;

const instance = (id: string, tags: { Key: string; Value: string }[], deletionProtection = false) =>
  rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      DBInstanceClass: "db.t3.micro",
      Engine: "mysql",
      MasterUsername: "gitpod",
      MasterUserPassword: "production-password-1",
      AllocatedStorage: 20,
      DeletionProtection: deletionProtection,
      Tags: tags,
    }),
  );
const identifiers = async () =>
  ((await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [])
    .filter((d) => d.DBInstanceStatus !== "deleting")
    .map((d) => d.DBInstanceIdentifier)
    .sort();
const secretNames = async () =>
  ((await secrets.send(new ListSecretsCommand({}))).SecretList ?? []).map((s) => s.Name).sort();

beforeEach(async () => {
  await moto.reset();
  rds = new RDSClient(moto.clientConfig(REGION));
  secrets = new SecretsManagerClient(moto.clientConfig(REGION));
  await instance("gitpod-db", []);
  // Named like a drill's but not tagged as gitpod-dr's: not the drill's to delete.
  await instance(scratchDbIdentifier("20261122-0400-zzz999"), []);
  await instance(scratchDbIdentifier(OLD), [CREATED_BY_TAG, { Key: TAG_DRILL, Value: OLD }]);
  await instance(scratchDbIdentifier(NOW), [CREATED_BY_TAG, { Key: TAG_DRILL, Value: NOW }], true);
  for (const id of [OLD, NOW]) {
    await secrets.send(
      new CreateSecretCommand({
        Name: drillSecretName(STAGE, id),
        SecretString: JSON.stringify({ username: "gitpod", password: `drill-${id}` }),
        Tags: [CREATED_BY_TAG, { Key: TAG_DRILL, Value: id }],
      }),
    );
  }
  await secrets.send(new CreateSecretCommand({ Name: "gitpod/production-db", SecretString: "{}" }));
});

describe("drill teardown on moto", () => {
  it("removes an earlier drill's leftovers first, then this drill's, and never production's", async () => {
    const leftovers = await tearDown({ rds, secrets }, { stage: STAGE, drillId: OLD });
    expect(leftovers.removed).toEqual([
      `DB instance ${scratchDbIdentifier(OLD)}`,
      `secret ${drillSecretName(STAGE, OLD)}`,
    ]);
    const mine = await tearDown({ rds, secrets }, { stage: STAGE, drillId: NOW });
    expect(mine.removed).toEqual([
      `DB instance ${scratchDbIdentifier(NOW)}`,
      `secret ${drillSecretName(STAGE, NOW)}`,
    ]);
    expect(await identifiers()).toEqual(["gitpod-db", scratchDbIdentifier("20261122-0400-zzz999")]);
    expect(await secretNames()).toEqual(["gitpod/production-db"]);
    // Twice is safe: nothing left, nothing wrong.
    expect((await tearDown({ rds, secrets }, { stage: STAGE })).removed).toEqual([]);
  });

  it("fails loudly, naming what it could not remove and what it did remove", async () => {
    const kube: DrillKube = {
      listObjects: async (_api, kind) =>
        kind === "Namespace"
          ? [{ metadata: { name: `gitpod-drill-${NOW}` } }, { metadata: { name: "gitpod" } }]
          : [],
      deleteObject: async () => {
        throw new Error('namespaces "gitpod-drill-20261206-0400-def456" is forbidden');
      },
    };
    const error = await tearDown(
      { rds, secrets, kube },
      { stage: STAGE, drillId: NOW, veleroNamespace: "velero" },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrillTeardownFailedError);
    const e = error as DrillTeardownFailedError;
    expect(e.problems).toEqual([
      `namespace gitpod-drill-${NOW}: Error: namespaces "gitpod-drill-20261206-0400-def456" is forbidden`,
    ]);
    expect(e.summary).toEqual({
      removed: [`DB instance ${scratchDbIdentifier(NOW)}`, `secret ${drillSecretName(STAGE, NOW)}`],
    });
    expect(e.message).toContain("left 1 resource(s) behind");
  });
});

describe("drill credentials on moto", () => {
  it("resets the scratch database's password to the drill's secret, and again to the same one", async () => {
    const first = await prepareScratchAccess(
      { rds, secrets },
      { kind: "instance", identifier: scratchDbIdentifier(NOW), stage: STAGE, drillId: NOW },
    );
    expect(first.username).toBe("gitpod");
    const again = await prepareScratchAccess(
      { rds, secrets },
      { kind: "instance", identifier: scratchDbIdentifier(NOW), stage: STAGE, drillId: NOW },
    );
    expect(again.secretArn).toBe(first.secretArn);
    const value = JSON.parse(
      (await secrets.send(new GetSecretValueCommand({ SecretId: first.secretArn }))).SecretString ?? "{}",
    );
    expect(value.password).toBe(`drill-${NOW}`);
  });

  it("refuses production's database before any call", async () => {
    await expect(
      prepareScratchAccess(
        { rds, secrets },
        { kind: "instance", identifier: "gitpod-db", stage: STAGE, drillId: NOW },
      ),
    ).rejects.toThrow(DrillScopeError);
  });
});

describe("the replica sample on moto", () => {
  it("finds objects missing from the replica or changed, among those older than the watermark", async () => {
    const primary = new S3Client(moto.clientConfig("eu-west-1"));
    const replica = new S3Client(moto.clientConfig(REGION));
    await primary.send(
      new CreateBucketCommand({
        Bucket: "src",
        CreateBucketConfiguration: { LocationConstraint: "eu-west-1" },
      }),
    );
    await replica.send(
      new CreateBucketCommand({ Bucket: "dst", CreateBucketConfiguration: { LocationConstraint: REGION } }),
    );
    for (const [client, bucket] of [
      [primary, "src"],
      [replica, "dst"],
    ] as const) {
      await client.send(
        new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: "Enabled" } }),
      );
    }
    await primary.send(
      new PutBucketReplicationCommand({
        Bucket: "src",
        ReplicationConfiguration: {
          Role: "arn:aws:iam::123456789012:role/replication",
          Rules: [
            {
              ID: "all",
              Status: "Enabled",
              Priority: 1,
              Filter: { Prefix: "" },
              DeleteMarkerReplication: { Status: "Disabled" },
              Destination: { Bucket: "arn:aws:s3:::dst" },
            },
          ],
        },
      }),
    );
    for (const key of ["a", "b", "c", "d"])
      await primary.send(new PutObjectCommand({ Bucket: "src", Key: key, Body: `body ${key}` }));
    await replica.send(new PutObjectCommand({ Bucket: "dst", Key: "a", Body: "body a" }));
    await replica.send(new PutObjectCommand({ Bucket: "dst", Key: "b", Body: "BODY b" }));
    await replica.send(new PutObjectCommand({ Bucket: "dst", Key: "c", Body: "body c" }));
    const watermark = new Date(Date.now() + 60_000).toISOString();
    const result = await sampleReplica(
      { source: primary, replica },
      { bucket: "src", watermark, sampleSize: 10 },
    );
    expect(result).toMatchObject({ bucket: "src", replica: "dst", eligible: 4, sampled: 4, matched: 2 });
    expect([...result.problems].sort()).toEqual([
      expect.stringMatching(/^dst\/b: ETag [0-9a-f]{32} in the replica, [0-9a-f]{32} in src$/),
      expect.stringMatching(/^dst\/d is missing \(written to src .*, before the watermark\)$/),
    ]);
    const none = await sampleReplica(
      { source: primary, replica },
      { bucket: "src", watermark: "2000-01-01T00:00:00Z", sampleSize: 10 },
    );
    expect(none).toMatchObject({ eligible: 0, sampled: 0, problems: [] });
  });
});
