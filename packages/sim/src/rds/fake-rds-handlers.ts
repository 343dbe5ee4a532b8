/**
 * The fake RDS's command handlers: what each RDS command the fake answers does to a region's state, and
 * the shapes (DBInstance, DBSnapshot, ...) it answers with.
 */
import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBInstanceCommand,
  CreateDBSnapshotCommand,
  type DBCluster,
  DBClusterAlreadyExistsFault,
  DBClusterNotFoundFault,
  type DBClusterSnapshot,
  type DBInstance,
  DBInstanceAlreadyExistsFault,
  DBInstanceNotFoundFault,
  DBParameterGroupNotFoundFault,
  type DBSnapshot,
  DBSubnetGroupNotFoundFault,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterParameterGroupsCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBParameterGroupsCommand,
  DescribeDBSnapshotsCommand,
  DescribeDBSubnetGroupsCommand,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
} from "@aws-sdk/client-rds";
import { defined } from "../../../core/src/defined.ts";
import {
  ACCOUNT,
  checkDbIdentifier,
  FAKE_VPC,
  type FakeDatabase,
  type FakeSnapshot,
  fault,
  fromTagList,
  invalidParameter,
  invalidParameterValue,
  toTagList,
} from "./fake-rds-model.ts";
import type { FakeRdsRegion } from "./fake-rds-region.ts";

export function installRdsHandlers(region: FakeRdsRegion): void {
  const m = region.mock;
  m.on(DescribeDBInstancesCommand).callsFake((input) => {
    const db = region.database("instance", input.DBInstanceIdentifier ?? "");
    if (!db) throw fault(DBInstanceNotFoundFault, `DBInstance ${input.DBInstanceIdentifier} not found.`);
    return { DBInstances: [toDbInstance(region, db)] };
  });
  m.on(DescribeDBClustersCommand).callsFake((input) => {
    const db = region.database("cluster", input.DBClusterIdentifier ?? "");
    if (!db) throw fault(DBClusterNotFoundFault, `DBCluster ${input.DBClusterIdentifier} not found.`);
    return { DBClusters: [toDbCluster(region, db)] };
  });
  m.on(RestoreDBInstanceFromDBSnapshotCommand).callsFake((input) => {
    const identifier = checkDbIdentifier("DBInstanceIdentifier", input.DBInstanceIdentifier);
    const snapshot = region.restorable("instance", input.DBSnapshotIdentifier);
    region.checkParameterGroups(input);
    if (region.database("instance", identifier)) {
      throw fault(DBInstanceAlreadyExistsFault, `DB instance already exists`);
    }
    const db: FakeDatabase = {
      kind: "instance",
      identifier: identifier.toLowerCase(),
      encrypted: snapshot.encrypted,
      ...(snapshot.kmsKeyId ? { kmsKeyId: snapshot.kmsKeyId } : {}),
      status: "creating",
      engine: input.Engine ?? snapshot.engine ?? "mysql",
      tags: fromTagList(input.Tags),
      settings: defined({
        snapshot: input.DBSnapshotIdentifier,
        instanceClass: input.DBInstanceClass,
        subnetGroupName: input.DBSubnetGroupName,
        securityGroupIds: input.VpcSecurityGroupIds,
        parameterGroupName: input.DBParameterGroupName,
        publiclyAccessible: input.PubliclyAccessible,
        deletionProtection: input.DeletionProtection,
        copyTagsToSnapshot: input.CopyTagsToSnapshot,
      }),
    };
    region.databases.push(db);
    return { DBInstance: toDbInstance(region, db) };
  });
  m.on(RestoreDBClusterFromSnapshotCommand).callsFake((input) => {
    const identifier = checkDbIdentifier("DBClusterIdentifier", input.DBClusterIdentifier);
    const snapshot = region.restorable("cluster", input.SnapshotIdentifier);
    region.checkParameterGroups(input);
    if (!input.Engine) throw invalidParameterValue("The parameter Engine must be provided.");
    if (snapshot.engine && input.Engine !== snapshot.engine) {
      throw invalidParameter(
        `The engine ${input.Engine} is not compatible with the engine ${snapshot.engine} of the snapshot.`,
      );
    }
    if (region.database("cluster", identifier)) {
      throw fault(DBClusterAlreadyExistsFault, `DB Cluster already exists`);
    }
    const kmsKeyId = input.KmsKeyId ?? snapshot.kmsKeyId;
    const db: FakeDatabase = {
      kind: "cluster",
      identifier: identifier.toLowerCase(),
      encrypted: snapshot.encrypted || input.KmsKeyId !== undefined,
      ...(kmsKeyId ? { kmsKeyId } : {}),
      status: "creating",
      engine: input.Engine,
      tags: fromTagList(input.Tags),
      settings: defined({
        snapshot: input.SnapshotIdentifier,
        subnetGroupName: input.DBSubnetGroupName,
        securityGroupIds: input.VpcSecurityGroupIds,
        clusterParameterGroupName: input.DBClusterParameterGroupName,
        deletionProtection: input.DeletionProtection,
        copyTagsToSnapshot: input.CopyTagsToSnapshot,
      }),
    };
    region.databases.push(db);
    return { DBCluster: toDbCluster(region, db) };
  });
  m.on(CreateDBInstanceCommand).callsFake((input) => {
    const identifier = checkDbIdentifier("DBInstanceIdentifier", input.DBInstanceIdentifier);
    if (!input.Engine) throw invalidParameterValue("The parameter Engine must be provided.");
    region.checkParameterGroups(input);
    const cluster = input.DBClusterIdentifier
      ? region.database("cluster", input.DBClusterIdentifier)
      : undefined;
    if (input.DBClusterIdentifier && !cluster) {
      throw fault(DBClusterNotFoundFault, `DBCluster ${input.DBClusterIdentifier} not found.`);
    }
    if (cluster?.engine && cluster.engine !== input.Engine) {
      throw invalidParameter(
        `The engine ${input.Engine} does not match the engine ${cluster.engine} of DB cluster ${cluster.identifier}.`,
      );
    }
    if (region.database("instance", identifier)) {
      throw fault(DBInstanceAlreadyExistsFault, `DB instance already exists`);
    }
    const db: FakeDatabase = {
      kind: "instance",
      identifier: identifier.toLowerCase(),
      encrypted: cluster?.encrypted ?? input.StorageEncrypted ?? false,
      ...((cluster?.kmsKeyId ?? input.KmsKeyId) ? { kmsKeyId: cluster?.kmsKeyId ?? input.KmsKeyId } : {}),
      ...(cluster ? { clusterIdentifier: cluster.identifier } : {}),
      status: "creating",
      engine: input.Engine,
      tags: fromTagList(input.Tags),
      settings: defined({
        instanceClass: input.DBInstanceClass,
        subnetGroupName: input.DBSubnetGroupName,
        securityGroupIds: input.VpcSecurityGroupIds,
        parameterGroupName: input.DBParameterGroupName,
        publiclyAccessible: input.PubliclyAccessible,
        deletionProtection: input.DeletionProtection,
        copyTagsToSnapshot: input.CopyTagsToSnapshot,
      }),
    };
    region.databases.push(db);
    return { DBInstance: toDbInstance(region, db) };
  });
  installParameterGroups(region);
  m.on(DescribeDBSubnetGroupsCommand).callsFake((input) => {
    const names = [...region.subnetGroups].map((n) => n.toLowerCase());
    const wanted = input.DBSubnetGroupName?.toLowerCase();
    if (wanted !== undefined && !names.includes(wanted)) {
      throw new DBSubnetGroupNotFoundFault({
        message: `DBSubnetGroup ${input.DBSubnetGroupName} not found.`,
        $metadata: {},
      });
    }
    return {
      DBSubnetGroups: (wanted === undefined ? names : [wanted]).map((name) => ({
        DBSubnetGroupName: name,
        VpcId: region.subnetGroupVpcs.get(name) ?? FAKE_VPC,
        DBSubnetGroupArn: `arn:aws:rds:${region.name}:${ACCOUNT}:subgrp:${name}`,
        SubnetGroupStatus: "Complete",
      })),
    };
  });
  m.on(DescribeDBSnapshotsCommand).callsFake((input) => {
    const page = region.page("instance", input);
    return { DBSnapshots: page.items.map((s) => toDbSnapshot(region, s)), Marker: page.marker };
  });
  m.on(DescribeDBClusterSnapshotsCommand).callsFake((input) => {
    const page = region.page("cluster", input);
    return { DBClusterSnapshots: page.items.map((s) => toClusterSnapshot(region, s)), Marker: page.marker };
  });
  m.on(CreateDBSnapshotCommand).callsFake((input) => {
    const s = region.create("instance", input.DBInstanceIdentifier, input.DBSnapshotIdentifier, input.Tags);
    return { DBSnapshot: toDbSnapshot(region, s) };
  });
  m.on(CreateDBClusterSnapshotCommand).callsFake((input) => {
    const s = region.create(
      "cluster",
      input.DBClusterIdentifier,
      input.DBClusterSnapshotIdentifier,
      input.Tags,
    );
    return { DBClusterSnapshot: toClusterSnapshot(region, s) };
  });
  m.on(CopyDBSnapshotCommand).callsFake((input) => {
    const s = region.copy(
      "instance",
      input.SourceDBSnapshotIdentifier,
      input.TargetDBSnapshotIdentifier,
      input.KmsKeyId,
      input.Tags,
    );
    return { DBSnapshot: toDbSnapshot(region, s) };
  });
  m.on(CopyDBClusterSnapshotCommand).callsFake((input) => {
    const s = region.copy(
      "cluster",
      input.SourceDBClusterSnapshotIdentifier,
      input.TargetDBClusterSnapshotIdentifier,
      input.KmsKeyId,
      input.Tags,
    );
    return { DBClusterSnapshot: toClusterSnapshot(region, s) };
  });
  m.on(DeleteDBSnapshotCommand).callsFake((input) => {
    const s = region.delete("instance", input.DBSnapshotIdentifier);
    return { DBSnapshot: { ...toDbSnapshot(region, s), Status: "deleted" } };
  });
  m.on(DeleteDBClusterSnapshotCommand).callsFake((input) => {
    const s = region.delete("cluster", input.DBClusterSnapshotIdentifier);
    return { DBClusterSnapshot: { ...toClusterSnapshot(region, s), Status: "deleted" } };
  });
}

/** Describe*ParameterGroups, and the check Restore* and CreateDBInstance make of the groups they name. */
function installParameterGroups(region: FakeRdsRegion): void {
  const describe = (groups: Map<string, string>, name: string | undefined, what: string) => {
    const names = name === undefined ? [...groups.keys()] : [name.toLowerCase()];
    if (name !== undefined && !groups.has(name.toLowerCase())) {
      throw fault(DBParameterGroupNotFoundFault, `${what} not found: ${name}`);
    }
    return names.map((n) => ({ name: n, family: groups.get(n) ?? "" }));
  };
  region.mock.on(DescribeDBParameterGroupsCommand).callsFake((input) => ({
    DBParameterGroups: describe(region.parameterGroups, input.DBParameterGroupName, "DBParameterGroup").map(
      (g) => ({ DBParameterGroupName: g.name, DBParameterGroupFamily: g.family }),
    ),
  }));
  region.mock.on(DescribeDBClusterParameterGroupsCommand).callsFake((input) => ({
    DBClusterParameterGroups: describe(
      region.clusterParameterGroups,
      input.DBClusterParameterGroupName,
      "DBClusterParameterGroup",
    ).map((g) => ({ DBClusterParameterGroupName: g.name, DBParameterGroupFamily: g.family })),
  }));
}

function toDbInstance(region: FakeRdsRegion, db: FakeDatabase): DBInstance {
  return {
    DBInstanceIdentifier: db.identifier,
    DBInstanceArn: region.arn("db", db.identifier),
    DBInstanceStatus: db.status ?? "available",
    Engine: db.engine ?? (db.clusterIdentifier ? "aurora-mysql" : "mysql"),
    DBClusterIdentifier: db.clusterIdentifier,
    StorageEncrypted: db.encrypted,
    KmsKeyId: db.kmsKeyId,
    ...(db.tags ? { TagList: toTagList(db.tags) } : {}),
    ...(db.endpoint ? { Endpoint: { Address: db.endpoint.address, Port: db.endpoint.port } } : {}),
  };
}

function toDbCluster(region: FakeRdsRegion, db: FakeDatabase): DBCluster {
  return {
    DBClusterIdentifier: db.identifier,
    DBClusterArn: region.arn("cluster-db", db.identifier),
    Status: db.status ?? "available",
    Engine: db.engine ?? "aurora-mysql",
    StorageEncrypted: db.encrypted,
    KmsKeyId: db.kmsKeyId,
    ...(db.tags ? { TagList: toTagList(db.tags) } : {}),
    ...(db.endpoint ? { Endpoint: db.endpoint.address, Port: db.endpoint.port } : {}),
  };
}

function toDbSnapshot(region: FakeRdsRegion, s: FakeSnapshot): DBSnapshot {
  return {
    DBSnapshotIdentifier: s.identifier,
    DBSnapshotArn: region.arn("instance", s.identifier),
    DBInstanceIdentifier: s.databaseIdentifier,
    Status: s.status,
    SnapshotType: s.type,
    SnapshotCreateTime: s.copiedAt ?? s.createdAt,
    OriginalSnapshotCreateTime: s.createdAt,
    TagList: toTagList(s.tags),
    Encrypted: s.encrypted,
    KmsKeyId: s.kmsKeyId,
    SourceDBSnapshotIdentifier: s.sourceArn,
    SourceRegion: s.sourceArn?.split(":")[3],
    PercentProgress: s.status === "available" ? 100 : 0,
    ...(s.engine ? { Engine: s.engine } : {}),
    ...(s.engineVersion ? { EngineVersion: s.engineVersion } : {}),
  };
}

function toClusterSnapshot(region: FakeRdsRegion, s: FakeSnapshot): DBClusterSnapshot {
  return {
    DBClusterSnapshotIdentifier: s.identifier,
    DBClusterSnapshotArn: region.arn("cluster", s.identifier),
    DBClusterIdentifier: s.databaseIdentifier,
    Status: s.status,
    SnapshotType: s.type,
    // A copy is stamped with its own creation time and, unlike an instance snapshot, keeps no original
    // time (RDS API Reference, DBClusterSnapshot; moto agrees: test/conformance/rds.test.ts).
    SnapshotCreateTime: s.copiedAt ?? s.createdAt,
    TagList: toTagList(s.tags),
    StorageEncrypted: s.encrypted,
    KmsKeyId: s.kmsKeyId,
    SourceDBClusterSnapshotArn: s.sourceArn,
    PercentProgress: s.status === "available" ? 100 : 0,
    ...(s.engine ? { Engine: s.engine } : {}),
    ...(s.engineVersion ? { EngineVersion: s.engineVersion } : {}),
  };
}
