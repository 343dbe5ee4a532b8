import {
  CopyDBClusterSnapshotCommand,
  CopyDBSnapshotCommand,
  CreateDBClusterSnapshotCommand,
  CreateDBSnapshotCommand,
  type DBClusterSnapshot,
  type DBSnapshot,
  DeleteDBClusterSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBClusterSnapshotsCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  paginateDescribeDBClusterSnapshots,
  paginateDescribeDBSnapshots,
  type RDSClient,
  type Tag,
} from "@aws-sdk/client-rds";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { defined } from "../defined.ts";
import { DatabaseNotFoundError, DatabaseNotReadyError, UnsupportedDatabaseError } from "./errors.ts";
import type { Database, DatabaseKind, Snapshot } from "./types.ts";

/**
 * The RDS calls the snapshot job makes, one implementation per API family (DB instance snapshots and
 * DB cluster snapshots), so the job is written once. Every method adds what it was doing to errors.
 */
export interface SnapshotApi {
  readonly kind: DatabaseKind;
  /** Every manual snapshot of this family in the client's region, all pages. */
  listManualSnapshots(rds: RDSClient): Promise<Snapshot[]>;
  /** One snapshot by identifier in the client's region, or undefined when there is none. */
  describeSnapshot(rds: RDSClient, identifier: string): Promise<Snapshot | undefined>;
  /** @returns `created`, or `exists` when RDS already has a snapshot with that identifier. */
  createSnapshot(
    rds: RDSClient,
    database: Database,
    identifier: string,
    tags: Record<string, string>,
  ): Promise<"created" | "exists">;
  /** Starts a cross-region copy in the client's (DR) region. @returns `exists` when the target exists. */
  copySnapshot(
    rds: RDSClient,
    source: Snapshot,
    options: { kmsKeyId: string; tags: Record<string, string> },
  ): Promise<"started" | "exists">;
  /** @returns `gone` when the snapshot was already deleted. */
  deleteSnapshot(rds: RDSClient, identifier: string): Promise<"deleted" | "gone">;
}

const toTagList = (tags: Record<string, string>): Tag[] =>
  Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));

const fromTagList = (tags: Tag[] | undefined): Record<string, string> =>
  Object.fromEntries((tags ?? []).filter((t) => t.Key).map((t) => [t.Key as string, t.Value ?? ""]));

/** RDS identifiers are case-insensitive: RDS keeps them lower-cased and matches any case. */
export const sameIdentifier = (a: string | undefined, b: string): boolean =>
  a !== undefined && a.toLowerCase() === b.toLowerCase();

function regionOfArn(arn: string): string {
  return arn.split(":")[3] ?? "";
}

function fromDbSnapshot(s: DBSnapshot): Snapshot {
  const arn = s.DBSnapshotArn ?? "";
  // A field RDS did not report is left out of the snapshot, not set to undefined.
  return {
    ...defined({
      identifier: s.DBSnapshotIdentifier ?? "",
      arn,
      region: regionOfArn(arn),
      databaseIdentifier: s.DBInstanceIdentifier ?? "",
      status: s.Status ?? "unknown",
      createdAt: s.OriginalSnapshotCreateTime ?? s.SnapshotCreateTime,
      tags: fromTagList(s.TagList),
      encrypted: s.Encrypted ?? false,
      kmsKeyId: s.KmsKeyId,
      sourceSnapshotArn: s.SourceDBSnapshotIdentifier,
      percentProgress: s.PercentProgress,
    }),
    ...(s.Engine ? { engine: s.Engine } : {}),
    ...(s.EngineVersion ? { engineVersion: s.EngineVersion } : {}),
  };
}

function fromClusterSnapshot(s: DBClusterSnapshot): Snapshot {
  const arn = s.DBClusterSnapshotArn ?? "";
  return {
    ...defined({
      identifier: s.DBClusterSnapshotIdentifier ?? "",
      arn,
      region: regionOfArn(arn),
      databaseIdentifier: s.DBClusterIdentifier ?? "",
      status: s.Status ?? "unknown",
      createdAt: s.SnapshotCreateTime,
      tags: fromTagList(s.TagList),
      encrypted: s.StorageEncrypted ?? false,
      kmsKeyId: s.KmsKeyId,
      sourceSnapshotArn: s.SourceDBClusterSnapshotArn,
      percentProgress: s.PercentProgress,
    }),
    ...(s.Engine ? { engine: s.Engine } : {}),
    ...(s.EngineVersion ? { engineVersion: s.EngineVersion } : {}),
  };
}

const instanceApi: SnapshotApi = {
  kind: "instance",
  async listManualSnapshots(rds) {
    const snapshots: Snapshot[] = [];
    try {
      for await (const page of paginateDescribeDBSnapshots(
        { client: rds, pageSize: 100 },
        { SnapshotType: "manual" },
      )) {
        for (const s of page.DBSnapshots ?? []) snapshots.push(fromDbSnapshot(s));
      }
    } catch (err) {
      throw wrapAwsError(`Unable to list manual DB snapshots in ${await rds.config.region()}`, err);
    }
    return snapshots;
  },
  async describeSnapshot(rds, identifier) {
    try {
      const out = await rds.send(new DescribeDBSnapshotsCommand({ DBSnapshotIdentifier: identifier }));
      // RDS stores identifiers lower-cased and matches them in any case: so does the answer's check.
      const found = out.DBSnapshots?.find((s) => sameIdentifier(s.DBSnapshotIdentifier, identifier));
      return found ? fromDbSnapshot(found) : undefined;
    } catch (err) {
      if (awsErrorCode(err) === "DBSnapshotNotFoundFault") return undefined;
      throw wrapAwsError(`Unable to describe snapshot ${identifier} in ${await rds.config.region()}`, err);
    }
  },
  async createSnapshot(rds, database, identifier, tags) {
    try {
      await rds.send(
        new CreateDBSnapshotCommand({
          DBInstanceIdentifier: database.identifier,
          DBSnapshotIdentifier: identifier,
          Tags: toTagList(tags),
        }),
      );
      return "created";
    } catch (err) {
      if (awsErrorCode(err) === "DBSnapshotAlreadyExistsFault") return "exists";
      if (awsErrorCode(err) === "InvalidDBInstanceStateFault") {
        throw new DatabaseNotReadyError(
          `Unable to create snapshot ${identifier}: DB instance ${database.identifier} is not in a state that allows snapshots (${(err as Error).message}); the next run tries again`,
          { cause: err },
        );
      }
      throw wrapAwsError(
        `Unable to create snapshot ${identifier} of DB instance ${database.identifier}`,
        err,
      );
    }
  },
  async copySnapshot(rds, source, { kmsKeyId, tags }) {
    try {
      await rds.send(
        new CopyDBSnapshotCommand({
          SourceDBSnapshotIdentifier: source.arn,
          TargetDBSnapshotIdentifier: source.identifier,
          KmsKeyId: kmsKeyId,
          // The source is an ARN in another region: the SDK's RDS middleware (@aws-sdk/middleware-sdk-rds)
          // then computes the PreSignedUrl that a cross-region copy needs (what SourceRegion does in v2).
          Tags: toTagList(tags),
        }),
      );
      return "started";
    } catch (err) {
      if (awsErrorCode(err) === "DBSnapshotAlreadyExistsFault") return "exists";
      throw wrapAwsError(`Unable to copy snapshot ${source.identifier} to ${await rds.config.region()}`, err);
    }
  },
  async deleteSnapshot(rds, identifier) {
    try {
      await rds.send(new DeleteDBSnapshotCommand({ DBSnapshotIdentifier: identifier }));
      return "deleted";
    } catch (err) {
      if (awsErrorCode(err) === "DBSnapshotNotFoundFault") return "gone";
      throw wrapAwsError(`Unable to delete snapshot ${identifier} in ${await rds.config.region()}`, err);
    }
  },
};

const clusterApi: SnapshotApi = {
  kind: "cluster",
  async listManualSnapshots(rds) {
    const snapshots: Snapshot[] = [];
    try {
      for await (const page of paginateDescribeDBClusterSnapshots(
        { client: rds, pageSize: 100 },
        { SnapshotType: "manual" },
      )) {
        for (const s of page.DBClusterSnapshots ?? []) snapshots.push(fromClusterSnapshot(s));
      }
    } catch (err) {
      throw wrapAwsError(`Unable to list manual DB cluster snapshots in ${await rds.config.region()}`, err);
    }
    return snapshots;
  },
  async describeSnapshot(rds, identifier) {
    try {
      const out = await rds.send(
        new DescribeDBClusterSnapshotsCommand({ DBClusterSnapshotIdentifier: identifier }),
      );
      const found = out.DBClusterSnapshots?.find((s) =>
        sameIdentifier(s.DBClusterSnapshotIdentifier, identifier),
      );
      return found ? fromClusterSnapshot(found) : undefined;
    } catch (err) {
      if (awsErrorCode(err) === "DBClusterSnapshotNotFoundFault") return undefined;
      throw wrapAwsError(
        `Unable to describe cluster snapshot ${identifier} in ${await rds.config.region()}`,
        err,
      );
    }
  },
  async createSnapshot(rds, database, identifier, tags) {
    try {
      await rds.send(
        new CreateDBClusterSnapshotCommand({
          DBClusterIdentifier: database.identifier,
          DBClusterSnapshotIdentifier: identifier,
          Tags: toTagList(tags),
        }),
      );
      return "created";
    } catch (err) {
      if (awsErrorCode(err) === "DBClusterSnapshotAlreadyExistsFault") return "exists";
      if (awsErrorCode(err) === "InvalidDBClusterStateFault") {
        throw new DatabaseNotReadyError(
          `Unable to create snapshot ${identifier}: DB cluster ${database.identifier} is not in a state that allows snapshots (${(err as Error).message}); the next run tries again`,
          { cause: err },
        );
      }
      throw wrapAwsError(`Unable to create snapshot ${identifier} of DB cluster ${database.identifier}`, err);
    }
  },
  async copySnapshot(rds, source, { kmsKeyId, tags }) {
    try {
      await rds.send(
        new CopyDBClusterSnapshotCommand({
          SourceDBClusterSnapshotIdentifier: source.arn,
          TargetDBClusterSnapshotIdentifier: source.identifier,
          // RDS rejects a KmsKeyId for an unencrypted cluster snapshot (CopyDBClusterSnapshot reference).
          KmsKeyId: source.encrypted ? kmsKeyId : undefined,
          Tags: toTagList(tags),
        }),
      );
      return "started";
    } catch (err) {
      if (awsErrorCode(err) === "DBClusterSnapshotAlreadyExistsFault") return "exists";
      throw wrapAwsError(
        `Unable to copy cluster snapshot ${source.identifier} to ${await rds.config.region()}`,
        err,
      );
    }
  },
  async deleteSnapshot(rds, identifier) {
    try {
      await rds.send(new DeleteDBClusterSnapshotCommand({ DBClusterSnapshotIdentifier: identifier }));
      return "deleted";
    } catch (err) {
      if (awsErrorCode(err) === "DBClusterSnapshotNotFoundFault") return "gone";
      throw wrapAwsError(
        `Unable to delete cluster snapshot ${identifier} in ${await rds.config.region()}`,
        err,
      );
    }
  },
};

/** The snapshot API family for a database kind. */
export function snapshotApi(kind: DatabaseKind): SnapshotApi {
  return kind === "instance" ? instanceApi : clusterApi;
}

const accountOfArn = (arn: string) => arn.split(":")[4] ?? "";

async function describeInstance(rds: RDSClient, identifier: string): Promise<Database | undefined> {
  try {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
    const db = out.DBInstances?.[0];
    if (!db) return undefined;
    if (db.DBClusterIdentifier) {
      throw new UnsupportedDatabaseError(
        `${identifier} is an instance of the DB cluster ${db.DBClusterIdentifier}; snapshots of Aurora and Multi-AZ clusters are taken of the cluster: set database.identifier to "${db.DBClusterIdentifier}"`,
      );
    }
    const arn = db.DBInstanceArn ?? "";
    return {
      kind: "instance",
      identifier,
      arn,
      account: accountOfArn(arn),
      status: db.DBInstanceStatus ?? "unknown",
      engine: db.Engine ?? "unknown",
    };
  } catch (err) {
    if (awsErrorCode(err) === "DBInstanceNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe DB instance ${identifier}`, err);
  }
}

async function describeCluster(rds: RDSClient, identifier: string): Promise<Database | undefined> {
  try {
    const out = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
    const db = out.DBClusters?.[0];
    if (!db) return undefined;
    const arn = db.DBClusterArn ?? "";
    return {
      kind: "cluster",
      identifier,
      arn,
      account: accountOfArn(arn),
      status: db.Status ?? "unknown",
      engine: db.Engine ?? "unknown",
    };
  } catch (err) {
    if (awsErrorCode(err) === "DBClusterNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe DB cluster ${identifier}`, err);
  }
}

/**
 * Finds the configured database and which API family it uses.
 * @throws DatabaseNotFoundError when the identifier names neither an instance nor a cluster.
 * @throws UnsupportedDatabaseError when it names an instance that belongs to a cluster.
 */
export async function resolveDatabase(
  rds: RDSClient,
  identifier: string,
  kind: DatabaseKind | "auto",
): Promise<Database> {
  const region = await rds.config.region();
  const found =
    kind === "instance"
      ? await describeInstance(rds, identifier)
      : kind === "cluster"
        ? await describeCluster(rds, identifier)
        : ((await describeInstance(rds, identifier)) ?? (await describeCluster(rds, identifier)));
  if (!found) {
    const what = kind === "auto" ? "DB instance or DB cluster" : `DB ${kind}`;
    throw new DatabaseNotFoundError(
      `No ${what} named "${identifier}" in ${region}: check database.identifier and regions.primary in the stage configuration`,
    );
  }
  return found;
}
