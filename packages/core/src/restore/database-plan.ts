import {
  type DBInstance,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  DescribeDBSubnetGroupsCommand,
  type RDSClient,
} from "@aws-sdk/client-rds";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { type SnapshotApi, sameIdentifier } from "../rds/api.ts";
import { TAG_SOURCE } from "../rds/naming.ts";
import type { DatabaseKind, Snapshot } from "../rds/types.ts";
import {
  resolveRestoreSnapshot,
  restoredIdentifier,
  TAG_RESTORE_ID,
  TAG_RESTORED_FROM,
  writerIdentifier,
} from "./database.ts";
import { RestoreSnapshotNotFoundError, RestoreTargetTakenError } from "./errors.ts";

/**
 * The database part of the restore's Validate and Build plan states: everything that can be checked
 * before anything is created, collected as a list of problems (the execution then fails with
 * InvalidInput naming every one) rather than stopping at the first.
 */

export interface DatabasePlan {
  readonly snapshot: Snapshot;
  readonly identifier: string;
  /** True when an earlier attempt of this restore id created the target (it will be adopted). */
  readonly adopt: boolean;
}

export interface DatabasePlanInput {
  readonly kind: DatabaseKind;
  /** The source database's identifier (whose snapshots are looked for). */
  readonly database: string;
  readonly dbSnapshot: string;
  readonly restoreId: string;
  readonly targetDbIdentifier?: string;
  readonly subnetGroupName: string;
}

async function subnetGroupExists(rds: RDSClient, name: string): Promise<boolean> {
  try {
    await rds.send(new DescribeDBSubnetGroupsCommand({ DBSubnetGroupName: name }));
    return true;
  } catch (error) {
    if (awsErrorCode(error) === "DBSubnetGroupNotFoundFault") return false;
    throw wrapAwsError(`Unable to describe DB subnet group ${name}`, error);
  }
}

async function targetOwner(
  rds: RDSClient,
  kind: DatabaseKind,
  identifier: string,
): Promise<{ exists: boolean; restoreId?: string; restoredFrom?: string }> {
  try {
    const tags =
      kind === "instance"
        ? (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
            .DBInstances?.[0]?.TagList
        : (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }))).DBClusters?.[0]
            ?.TagList;
    const restoreId = tags?.find((t) => t.Key === TAG_RESTORE_ID)?.Value;
    const restoredFrom = tags?.find((t) => t.Key === TAG_RESTORED_FROM)?.Value;
    return { exists: true, ...(restoreId ? { restoreId } : {}), ...(restoredFrom ? { restoredFrom } : {}) };
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "DBInstanceNotFoundFault" || code === "DBClusterNotFoundFault") return { exists: false };
    throw wrapAwsError(`Unable to describe ${identifier}`, error);
  }
}

/**
 * The problem with an Aurora cluster's writer identifier (`<cluster>-writer`), if any: an instance with it
 * that is not this restore's own writer would make the writer fail after the cluster was created (with
 * deletion protection), leaving the cluster behind.
 */
async function writerProblem(
  rds: RDSClient,
  cluster: string,
  restoreId: string,
): Promise<string | undefined> {
  const writer = writerIdentifier(cluster);
  let found: Pick<DBInstance, "DBClusterIdentifier" | "TagList"> | undefined;
  try {
    found = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: writer })))
      .DBInstances?.[0];
  } catch (error) {
    if (awsErrorCode(error) === "DBInstanceNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe DB instance ${writer}`, error);
  }
  if (!found) return undefined;
  const inCluster = found.DBClusterIdentifier;
  const ours = found.TagList?.some((t) => t.Key === TAG_RESTORE_ID && t.Value === restoreId.slice(0, 256));
  if (inCluster && sameIdentifier(inCluster, cluster) && ours) return undefined;
  return `targetDbIdentifier: the writer instance of cluster ${cluster} would be ${writer}, which exists as an instance ${inCluster ? `of cluster ${inCluster}` : "in no cluster"}${inCluster && sameIdentifier(inCluster, cluster) ? ` and was not created by restore ${restoreId}` : ""}: choose another targetDbIdentifier`;
}

/**
 * The problem with a snapshot that is not of the configured database (today's `kind: auto` would restore
 * another database's): a gitpod-dr snapshot says its source in its tag, any other its DB identifier.
 */
function ownerProblem(snapshot: Snapshot, kind: DatabaseKind, database: string): string | undefined {
  const source = snapshot.tags[TAG_SOURCE];
  if (
    source !== undefined
      ? sameIdentifier(source, database)
      : sameIdentifier(snapshot.databaseIdentifier, database)
  )
    return undefined;
  const of = source ?? snapshot.databaseIdentifier;
  return `dbSnapshot: snapshot ${snapshot.identifier} is of ${kind === "instance" ? "DB instance" : "DB cluster"} ${of}, not of ${database} (database.identifier): name a snapshot of ${database}`;
}

/**
 * Resolves and checks the database restore: the snapshot exists, is available in the target region and
 * is of the configured database; the target identifier (and for a cluster, its writer's) is free or
 * this restore id's own; the DB subnet group exists.
 * @returns the plan, or the problems found (every one).
 */
export async function planDatabase(
  rds: RDSClient,
  api: SnapshotApi,
  input: DatabasePlanInput,
): Promise<{ plan?: DatabasePlan; problems: string[] }> {
  const problems: string[] = [];
  let snapshot: Snapshot | undefined;
  try {
    snapshot = await resolveRestoreSnapshot(api, rds, input.database, input.dbSnapshot);
  } catch (error) {
    if (!(error instanceof RestoreSnapshotNotFoundError)) throw error;
    problems.push(`dbSnapshot: ${error.message}`);
  }
  const notOurs = snapshot && ownerProblem(snapshot, input.kind, input.database);
  if (notOurs) {
    problems.push(notOurs);
    snapshot = undefined;
  }
  const identifier = input.targetDbIdentifier ?? restoredIdentifier(input.database, input.restoreId);
  if (identifier.toLowerCase() === input.database.toLowerCase()) {
    problems.push(
      `targetDbIdentifier: ${identifier} is the source database itself; a restore never overwrites it`,
    );
  }
  const owner = await targetOwner(rds, input.kind, identifier);
  if (owner.exists && owner.restoreId !== input.restoreId) {
    problems.push(
      `targetDbIdentifier: ${new RestoreTargetTakenError(`${identifier} exists and was not created by restore ${input.restoreId}: choose another targetDbIdentifier`).message}`,
    );
  }
  // Adopting an earlier attempt is resuming it: from the same snapshot, or the data would not be what
  // the input (and the final message) says.
  if (
    owner.exists &&
    owner.restoreId === input.restoreId &&
    snapshot &&
    owner.restoredFrom &&
    owner.restoredFrom !== snapshot.arn
  ) {
    const earlier = owner.restoredFrom.replace(/^.*:(cluster-)?snapshot:/, "");
    problems.push(
      input.dbSnapshot === "latest"
        ? `dbSnapshot: restore ${input.restoreId} restored ${identifier} from snapshot ${earlier}, and the latest is now ${snapshot.identifier}: give "dbSnapshot": "${earlier}" to resume it, or use another restoreId`
        : `dbSnapshot: restore ${input.restoreId} restored ${identifier} from snapshot ${earlier}, not ${snapshot.identifier}: give "dbSnapshot": "${earlier}" to resume it, or use another restoreId`,
    );
  }
  const writer = input.kind === "cluster" ? await writerProblem(rds, identifier, input.restoreId) : undefined;
  if (writer) problems.push(writer);
  if (!(await subnetGroupExists(rds, input.subnetGroupName))) {
    problems.push(
      `DB subnet group ${input.subnetGroupName} does not exist in ${await rds.config.region()}: create it or fix the restore configuration`,
    );
  }
  if (problems.length > 0 || !snapshot) return { problems };
  return { plan: { snapshot, identifier, adopt: owner.exists }, problems };
}
