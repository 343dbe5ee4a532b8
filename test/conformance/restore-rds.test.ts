/**
 * Conformance: the restore's Validate and Build plan against moto_server (an independent RDS, EC2 and
 * KMS), through the real SDK clients. What a real restore would trip over after creating something —
 * a snapshot named in upper case, a taken writer name, a missing parameter group, an unusable KMS key,
 * security groups of another VPC, another database's snapshot, a copy-time ordering of `latest` — must be
 * refused here with nothing created. (The fake RDS runs the same cases in test/unit/restore.)
 */
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { CreateKeyCommand, DisableKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  CreateDBClusterCommand,
  CreateDBClusterParameterGroupCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBParameterGroupCommand,
  CreateDBSnapshotCommand,
  CreateDBSubnetGroupCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
  RestoreDBInstanceFromDBSnapshotCommand,
} from "@aws-sdk/client-rds";
import { describe, expect, it } from "vitest";
import { type RestoreJobConfig, restoreJobConfigSchema } from "../../packages/core/src/config.ts";
import { InvalidInputError } from "../../packages/core/src/errors.ts";
import { snapshotTags } from "../../packages/core/src/rds/naming.ts";
import { buildPlan, type PlanDeps } from "../../packages/core/src/restore/build-plan.ts";
import { PreconditionFailedError } from "../../packages/core/src/restore/errors.ts";
import type { RestoreRequest } from "../../packages/core/src/restore/types.ts";
import { validateRestore } from "../../packages/core/src/restore/validate.ts";
import { FakeAws } from "../../packages/sim/src/rds/fake-rds.ts";
import { useMoto } from "../fixtures/moto.ts";

const DR = "eu-central-1";
const PRIMARY = "eu-west-1";
const ACCOUNT = "123456789012";
const AURORA_VERSION = "8.0.mysql_aurora.3.05.2";
const OLDER = new Date("2026-11-24T03:00:00Z");
const NEWER = new Date("2026-11-25T03:00:00Z");
const NEWER_ID = "gitpod-dr-gitpod-2026-11-25-0300";
const TARGET = "gitpod-dr-gitpod-r-drill-1";

interface MotoRestoreWorld {
  rds: RDSClient;
  ec2: EC2Client;
  kms: KMSClient;
  deps: PlanDeps;
  /** The DR target's settings, all usable. */
  target: {
    subnetGroupName: string;
    securityGroupIds: string[];
    otherVpcGroup: string;
    parameterGroupName: string;
    clusterParameterGroupName: string;
    kmsKeyArn: string;
    disabledKeyArn: string;
  };
}

const moto = useMoto();

/**
 * The DR region on moto: a VPC with a subnet group and a security group, a security group in another VPC,
 * parameter groups of the Aurora MySQL 8.0 family, an enabled and a disabled KMS key, and the database
 * `gitpod` of `kind` with two gitpod-dr snapshots — the newer window's made FIRST, so that a copy-time
 * (SnapshotCreateTime) ordering picks the older window.
 */
async function motoWorld(kind: "instance" | "cluster"): Promise<MotoRestoreWorld> {
  await moto.reset();
  const rds = new RDSClient(moto.clientConfig(DR));
  const ec2 = new EC2Client(moto.clientConfig(DR));
  const kms = new KMSClient(moto.clientConfig(DR));
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.0.0.0/16" }))).Vpc?.VpcId as string;
  const otherVpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: "10.1.0.0/16" }))).Vpc?.VpcId as string;
  const subnets: string[] = [];
  for (const [cidr, az] of [
    ["10.0.1.0/24", `${DR}a`],
    ["10.0.2.0/24", `${DR}b`],
  ] as const) {
    subnets.push(
      (await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: az }))).Subnet
        ?.SubnetId as string,
    );
  }
  await rds.send(
    new CreateDBSubnetGroupCommand({
      DBSubnetGroupName: "gitpod-db-dr",
      DBSubnetGroupDescription: "restore",
      SubnetIds: subnets,
    }),
  );
  const group = async (vpcId: string, name: string) =>
    (await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: name, VpcId: vpcId })))
      .GroupId as string;
  const sg = await group(vpc, "gitpod-db");
  const otherVpcGroup = await group(otherVpc, "elsewhere");
  await rds.send(
    new CreateDBParameterGroupCommand({
      DBParameterGroupName: "gitpod-writer",
      DBParameterGroupFamily: kind === "cluster" ? "aurora-mysql8.0" : "mysql8.0",
      Description: "restore",
    }),
  );
  await rds.send(
    new CreateDBClusterParameterGroupCommand({
      DBClusterParameterGroupName: "gitpod-cluster",
      DBParameterGroupFamily: "aurora-mysql8.0",
      Description: "restore",
    }),
  );
  const kmsKeyArn = (await kms.send(new CreateKeyCommand({}))).KeyMetadata?.Arn as string;
  const disabledKey = (await kms.send(new CreateKeyCommand({}))).KeyMetadata;
  const disabledKeyArn = disabledKey?.Arn as string;
  // moto's DisableKey takes the key id (an ARN makes it answer a 500 page).
  await kms.send(new DisableKeyCommand({ KeyId: disabledKey?.KeyId }));

  const tags = (db: string, window: Date) =>
    Object.entries(snapshotTags(db, window)).map(([Key, Value]) => ({ Key, Value }));
  const snapshot = async (db: string, id: string, window: Date) =>
    kind === "cluster"
      ? rds.send(
          new CreateDBClusterSnapshotCommand({
            DBClusterIdentifier: db,
            DBClusterSnapshotIdentifier: id,
            Tags: tags(db, window),
          }),
        )
      : rds.send(
          new CreateDBSnapshotCommand({
            DBInstanceIdentifier: db,
            DBSnapshotIdentifier: id,
            Tags: tags(db, window),
          }),
        );
  for (const db of ["gitpod", "reporting"]) {
    if (kind === "cluster") {
      await rds.send(
        new CreateDBClusterCommand({
          DBClusterIdentifier: db,
          Engine: "aurora-mysql",
          EngineVersion: AURORA_VERSION,
          MasterUsername: "admin",
          MasterUserPassword: "not-a-secret-1",
        }),
      );
    } else {
      await rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: db,
          Engine: "mysql",
          EngineVersion: "8.0.39",
          DBInstanceClass: "db.t3.micro",
          AllocatedStorage: 20,
          MasterUsername: "admin",
          MasterUserPassword: "not-a-secret-1",
        }),
      );
    }
  }
  await snapshot("gitpod", NEWER_ID, NEWER);
  await new Promise((r) => setTimeout(r, 20));
  await snapshot("gitpod", "gitpod-dr-gitpod-2026-11-24-0300", OLDER);
  await snapshot("reporting", "reporting-final", OLDER);
  return {
    rds,
    ec2,
    kms,
    deps: {
      rds: () => rds,
      ec2: () => ec2,
      kms: () => kms,
      kube: async () => {
        throw new Error("no cluster in this test");
      },
    },
    target: {
      subnetGroupName: "gitpod-db-dr",
      securityGroupIds: [sg],
      otherVpcGroup,
      parameterGroupName: "gitpod-writer",
      clusterParameterGroupName: "gitpod-cluster",
      kmsKeyArn,
      disabledKeyArn,
    },
  };
}

function config(
  kind: "instance" | "cluster" | "auto",
  dr: Partial<MotoRestoreWorld["target"]> &
    Pick<MotoRestoreWorld["target"], "subnetGroupName" | "securityGroupIds">,
): RestoreJobConfig {
  const { otherVpcGroup: _, disabledKeyArn: __, ...database } = dr;
  return restoreJobConfigSchema.parse({
    stage: "conformance",
    account: ACCOUNT,
    regions: { primary: PRIMARY, dr: DR },
    database: { identifier: "gitpod", kind },
    restore: {
      targets: {
        primary: {
          database: {
            instanceClass: "db.r6g.large",
            subnetGroupName: "gitpod-db",
            securityGroupIds: ["sg-0123456789abcdef0"],
          },
        },
        dr: { database: { instanceClass: "db.r6g.large", ...database } },
      },
    },
  });
}

const validate = (world: MotoRestoreWorld, cfg: RestoreJobConfig, input: Record<string, unknown> = {}) =>
  validateRestore(
    {
      input: { target: "dr", tiers: ["database"], restoreId: "drill-1", ...input },
      executionName: "exec-1",
      executionStartedAt: "2026-11-26T10:00:00.000Z",
    },
    cfg,
    { rds: () => world.rds },
  );

async function rejection(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

/** The DB instances and clusters on moto, to show that nothing was created. */
async function databases(rds: RDSClient): Promise<string[]> {
  const instances = (await rds.send(new DescribeDBInstancesCommand({}))).DBInstances ?? [];
  const clusters = (await rds.send(new DescribeDBClustersCommand({}))).DBClusters ?? [];
  return [
    ...instances.map((d) => `instance ${d.DBInstanceIdentifier}`),
    ...clusters.map((d) => `cluster ${d.DBClusterIdentifier}`),
  ].sort();
}

describe.each(["instance", "cluster"] as const)("Validate and Build plan on moto (DB %s)", (kind) => {
  it("latest is the newest window (the gitpod-dr:window tag), not the snapshot made last; a name in upper case is found", async () => {
    const world = await motoWorld(kind);
    const cfg = config(kind, world.target);

    const latest = await validate(world, cfg);
    const upper = await validate(world, cfg, { dbSnapshot: NEWER_ID.toUpperCase() });
    const plan = await buildPlan(latest, cfg, world.deps);

    expect(latest.database?.snapshot.identifier).toBe(NEWER_ID);
    expect(upper.database?.snapshot.identifier).toBe(NEWER_ID);
    expect(plan.database?.settings.parameterGroupName).toBe("gitpod-writer");
  }, 30_000);

  it("another database's snapshot with kind auto: InvalidInput naming dbSnapshot, nothing created", async () => {
    const world = await motoWorld(kind);
    const before = await databases(world.rds);

    const error = await rejection(
      validate(world, config("auto", world.target), { dbSnapshot: "reporting-final" }),
    );

    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues).toEqual([
      `dbSnapshot: snapshot reporting-final is of DB ${kind} reporting, not of gitpod (database.identifier): name a snapshot of gitpod`,
    ]);
    expect(await databases(world.rds)).toEqual(before);
  }, 30_000);

  it("a missing parameter group and security groups of another VPC: PreconditionFailed naming each, nothing created", async () => {
    const world = await motoWorld(kind);
    const { otherVpcGroup } = world.target;
    const good = config(kind, world.target);
    const request: RestoreRequest = await validate(world, good);
    const before = await databases(world.rds);

    const error = await rejection(
      buildPlan(
        request,
        config(kind, {
          ...world.target,
          securityGroupIds: [...world.target.securityGroupIds, otherVpcGroup],
          parameterGroupName: "no-such-group",
          clusterParameterGroupName: "no-such-cluster-group",
        }),
        world.deps,
      ),
    );

    expect(error).toBeInstanceOf(PreconditionFailedError);
    const problems = (error as PreconditionFailedError).problems;
    expect(problems[0]).toMatch(
      new RegExp(
        `^restore\\.targets\\.dr\\.database\\.securityGroupIds: security group ${otherVpcGroup} is in VPC vpc-`,
      ),
    );
    expect(problems.slice(1)).toEqual([
      `restore.targets.dr.database.parameterGroupName: DB parameter group no-such-group does not exist in ${DR}: create it there or fix the setting`,
      ...(kind === "cluster"
        ? [
            `restore.targets.dr.database.clusterParameterGroupName: DB cluster parameter group no-such-cluster-group does not exist in ${DR}: create it there or fix the setting`,
          ]
        : []),
    ]);
    expect(await databases(world.rds)).toEqual(before);
  }, 30_000);
});

describe("Validate and Build plan on moto (Aurora only)", () => {
  it("the writer's identifier held by another cluster's instance: InvalidInput naming targetDbIdentifier, no cluster restored", async () => {
    const world = await motoWorld("cluster");
    await world.rds.send(
      new CreateDBInstanceCommand({
        DBInstanceIdentifier: `${TARGET}-writer`,
        DBClusterIdentifier: "reporting",
        Engine: "aurora-mysql",
        DBInstanceClass: "db.r6g.large",
      }),
    );
    const before = await databases(world.rds);

    const error = await rejection(validate(world, config("cluster", world.target)));

    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).issues).toEqual([
      `targetDbIdentifier: the writer instance of cluster ${TARGET} would be ${TARGET}-writer, which exists as an instance of cluster reporting: choose another targetDbIdentifier`,
    ]);
    expect(await databases(world.rds)).toEqual(before);
  }, 30_000);

  it("a KMS key that is disabled or does not exist in the region: PreconditionFailed naming kmsKeyArn", async () => {
    const world = await motoWorld("cluster");
    const request = await validate(world, config("cluster", world.target));
    const missing = `arn:aws:kms:${DR}:${ACCOUNT}:key/00000000-0000-4000-8000-000000000000`;

    const disabled = await rejection(
      buildPlan(
        request,
        config("cluster", { ...world.target, kmsKeyArn: world.target.disabledKeyArn }),
        world.deps,
      ),
    );
    const absent = await rejection(
      buildPlan(request, config("cluster", { ...world.target, kmsKeyArn: missing }), world.deps),
    );

    expect((disabled as PreconditionFailedError).problems).toEqual([
      `restore.targets.dr.database.kmsKeyArn: KMS key ${world.target.disabledKeyArn} is Disabled, not Enabled: RDS cannot encrypt with it`,
    ]);
    expect((absent as PreconditionFailedError).problems).toEqual([
      `restore.targets.dr.database.kmsKeyArn: KMS key ${missing} does not exist in ${DR}`,
    ]);
  }, 30_000);
});

describe("the fake RDS and moto agree on what the restore relies on", () => {
  /** The same calls on one RDS; what each answered (identifiers as stored, or the error's name). */
  async function probe(rds: RDSClient, prepare: (rds: RDSClient) => Promise<void>) {
    await prepare(rds);
    const answer = async (call: () => Promise<unknown>) => {
      try {
        return await call();
      } catch (error) {
        return (error as Error).name;
      }
    };
    return {
      instance: await answer(
        async () =>
          (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: "GITPOD" })))
            .DBInstances?.[0]?.DBInstanceIdentifier,
      ),
      snapshotByUpper: await answer(
        async () =>
          (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: "GITPOD-DR-X" })))
            .DBSnapshots?.[0]?.DBSnapshotIdentifier,
      ),
      snapshotByLower: await answer(
        async () =>
          (await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: "gitpod-dr-x" })))
            .DBSnapshots?.[0]?.DBSnapshotIdentifier,
      ),
      restoreWithMissingParameterGroup: await answer(async () =>
        rds.send(
          new RestoreDBInstanceFromDBSnapshotCommand({
            DBInstanceIdentifier: "restored",
            DBSnapshotIdentifier: "Gitpod-Dr-X",
            DBInstanceClass: "db.t3.micro",
            DBParameterGroupName: "no-such-group",
          }),
        ),
      ),
    };
  }

  it("identifiers are stored lower-cased and match any case; a restore naming a missing parameter group is refused", async () => {
    await moto.reset();
    const prepare = async (rds: RDSClient) => {
      await rds.send(
        new CreateDBInstanceCommand({
          DBInstanceIdentifier: "Gitpod",
          Engine: "mysql",
          DBInstanceClass: "db.t3.micro",
          AllocatedStorage: 20,
          MasterUsername: "admin",
          MasterUserPassword: "not-a-secret-1",
        }),
      );
      await rds.send(
        new CreateDBSnapshotCommand({ DBInstanceIdentifier: "gitpod", DBSnapshotIdentifier: "GITPOD-DR-X" }),
      );
    };
    const fake = new FakeAws(() => new Date()).region(DR);

    const onMoto = await probe(new RDSClient(moto.clientConfig(DR)), prepare);
    const onFake = await probe(fake.client, async (rds) => {
      await prepare(rds);
      // The fake's snapshots start `creating`; RDS finishes them in minutes.
      for (const s of fake.snapshots.instance) s.status = "available";
    });

    expect(onMoto).toEqual({
      instance: "gitpod",
      snapshotByUpper: "gitpod-dr-x",
      snapshotByLower: "gitpod-dr-x",
      restoreWithMissingParameterGroup: "DBParameterGroupNotFoundFault",
    });
    expect(onFake).toEqual(onMoto);
  }, 30_000);
});
