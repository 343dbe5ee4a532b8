import {
  CreateDBInstanceCommand,
  type CreateDBInstanceCommandInput,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type RDSClient,
  RestoreDBClusterFromSnapshotCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  type Tag,
} from "@aws-sdk/client-rds";
import * as z from "zod";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import type { SnapshotApi } from "../rds/api.ts";
import { isManagedBy, recoveryTime } from "../rds/naming.ts";
import type { DatabaseKind, Snapshot } from "../rds/types.ts";
import { CREATED_BY_TAG } from "../tags.ts";
import {
  checkDeadline,
  DatabaseRestoreFailedError,
  RestoreSnapshotNotFoundError,
  RestoreTargetTakenError,
} from "./errors.ts";
import { passedOn, type RestoreTargetSettings, type SnapshotRef } from "./types.ts";

/**
 * The database branch of the restore, as short calls for Step Functions tasks: resolve the snapshot,
 * start the restore into a new instance or cluster (adopting what an earlier attempt with the same
 * restore id created), and check its status (the machine's Wait → Check loop).
 */

export const TAG_RESTORE_ID = "gitpod-dr:restore-id";
export const TAG_RESTORED_FROM = "gitpod-dr:restored-from";

export { recoveryTime } from "../rds/naming.ts";

/**
 * The newest `available` snapshot gitpod-dr made of `database` in the client's region (in the DR
 * region: its copies), newest by `recoveryTime`; or the named one (in any case: RDS identifiers are).
 * @throws RestoreSnapshotNotFoundError
 */
export async function resolveRestoreSnapshot(
  api: SnapshotApi,
  rds: RDSClient,
  database: string,
  wanted: string,
): Promise<Snapshot> {
  const region = await rds.config.region();
  if (wanted !== "latest") {
    const snapshot = await api.describeSnapshot(rds, wanted);
    if (!snapshot) throw new RestoreSnapshotNotFoundError(`Snapshot ${wanted} does not exist in ${region}`);
    if (snapshot.status !== "available") {
      throw new RestoreSnapshotNotFoundError(
        `Snapshot ${wanted} in ${region} is ${snapshot.status}, not available`,
      );
    }
    return snapshot;
  }
  const candidates = (await api.listManualSnapshots(rds)).filter(
    (s) => s.status === "available" && isManagedBy(s.tags, database),
  );
  const at = (s: Snapshot) => recoveryTime(s).at?.getTime() ?? 0;
  const newest = candidates.sort((a, b) => at(b) - at(a) || b.identifier.localeCompare(a.identifier))[0];
  if (!newest) {
    throw new RestoreSnapshotNotFoundError(
      `No available snapshot of ${database} made by gitpod-dr exists in ${region}: name one with dbSnapshot`,
    );
  }
  return newest;
}

/** `gitpod-dr-<db>-r-<restore id>`, cut and cleaned to RDS identifier rules (deterministic per restore id). */
export function restoredIdentifier(database: string, restoreId: string): string {
  const id = restoreId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `gitpod-dr-${database}-r-${id}`.slice(0, 63).replace(/-+$/, "").replace(/--+/g, "-");
}

export interface StartDatabaseRestoreInput {
  readonly kind: DatabaseKind;
  readonly snapshot: Snapshot;
  readonly identifier: string;
  readonly restoreId: string;
  readonly settings: RestoreTargetSettings;
}

export interface StartedDatabaseRestore {
  readonly identifier: string;
  /** False when an earlier attempt of the same restore id had created it (adopted). */
  readonly created: boolean;
}

const tagList = (input: StartDatabaseRestoreInput): Tag[] => [
  CREATED_BY_TAG,
  { Key: TAG_RESTORE_ID, Value: input.restoreId.slice(0, 256) },
  { Key: TAG_RESTORED_FROM, Value: input.snapshot.arn },
];

const tagsOf = (list: Tag[] | undefined) =>
  Object.fromEntries((list ?? []).filter((t) => t.Key).map((t) => [t.Key as string, t.Value ?? ""]));

async function existing(
  rds: RDSClient,
  kind: DatabaseKind,
  identifier: string,
): Promise<{ tags: Record<string, string> } | undefined> {
  try {
    if (kind === "instance") {
      const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier }));
      const db = out.DBInstances?.[0];
      return db ? { tags: tagsOf(db.TagList) } : undefined;
    }
    const out = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier }));
    const db = out.DBClusters?.[0];
    return db ? { tags: tagsOf(db.TagList) } : undefined;
  } catch (error) {
    const code = awsErrorCode(error);
    if (code === "DBInstanceNotFoundFault" || code === "DBClusterNotFoundFault") return undefined;
    throw wrapAwsError(`Unable to describe ${identifier}`, error);
  }
}

/**
 * Starts restoring the snapshot into `identifier` (for Aurora: the cluster, then its writer
 * instance), or adopts it when an earlier attempt of the same restore id created it.
 * @throws RestoreTargetTakenError when another database has the identifier.
 */
export async function startDatabaseRestore(
  rds: RDSClient,
  input: StartDatabaseRestoreInput,
): Promise<StartedDatabaseRestore> {
  const found = await existing(rds, input.kind, input.identifier);
  if (found) {
    if (found.tags[TAG_RESTORE_ID] !== input.restoreId.slice(0, 256)) {
      throw new RestoreTargetTakenError(
        `${input.kind === "instance" ? "DB instance" : "DB cluster"} ${input.identifier} exists and was not created by restore ${input.restoreId}: choose another targetDbIdentifier`,
      );
    }
    // The writer can be created only once the cluster is available; the Check state does it then.
    return { identifier: input.identifier, created: false };
  }
  const s = input.settings;
  try {
    if (input.kind === "instance") {
      await rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: input.identifier,
          DBSnapshotIdentifier: input.snapshot.arn,
          DBInstanceClass: s.instanceClass,
          DBSubnetGroupName: s.subnetGroupName,
          VpcSecurityGroupIds: [...s.securityGroupIds],
          ...(s.parameterGroupName ? { DBParameterGroupName: s.parameterGroupName } : {}),
          PubliclyAccessible: false,
          CopyTagsToSnapshot: true,
          DeletionProtection: s.deletionProtection ?? true,
          Tags: tagList(input),
        }),
      );
    } else {
      const engine = clusterEngine(input.snapshot);
      await rds.send(
        new RestoreDBClusterFromSnapshotCommand({
          DBClusterIdentifier: input.identifier,
          SnapshotIdentifier: input.snapshot.arn,
          Engine: engine,
          // The snapshot's version: without it RDS restores at the region's default version.
          ...(input.snapshot.engineVersion ? { EngineVersion: input.snapshot.engineVersion } : {}),
          DBSubnetGroupName: s.subnetGroupName,
          VpcSecurityGroupIds: [...s.securityGroupIds],
          ...(s.clusterParameterGroupName
            ? { DBClusterParameterGroupName: s.clusterParameterGroupName }
            : {}),
          ...(s.kmsKeyArn ? { KmsKeyId: s.kmsKeyArn } : {}),
          DeletionProtection: s.deletionProtection ?? true,
          Tags: tagList(input),
        }),
      );
    }
  } catch (error) {
    throw wrapAwsError(`Unable to restore ${input.snapshot.identifier} into ${input.identifier}`, error);
  }
  return { identifier: input.identifier, created: true };
}

/** The engine to restore a cluster snapshot into (RDS reports it on the snapshot). */
function clusterEngine(snapshot: Snapshot): string {
  return snapshot.engine ?? "aurora-mysql";
}

/** `<identifier>-writer`, the identifier cut first so the result stays a valid RDS identifier (≤ 63). */
export function writerIdentifier(identifier: string): string {
  return `${identifier.slice(0, 63 - "-writer".length).replace(/-+$/, "")}-writer`;
}

async function ensureWriter(rds: RDSClient, input: StartDatabaseRestoreInput): Promise<void> {
  const writer = writerIdentifier(input.identifier);
  const found = await existing(rds, "instance", writer);
  if (found) {
    if (found.tags[TAG_RESTORE_ID] !== input.restoreId.slice(0, 256)) {
      throw new RestoreTargetTakenError(
        `DB instance ${writer} (the writer name of ${input.identifier}) exists and was not created by restore ${input.restoreId}: choose another targetDbIdentifier`,
      );
    }
    return;
  }
  const params: CreateDBInstanceCommandInput = {
    DBInstanceIdentifier: writer,
    DBClusterIdentifier: input.identifier,
    DBInstanceClass: input.settings.instanceClass,
    Engine: clusterEngine(input.snapshot),
    ...(input.settings.parameterGroupName ? { DBParameterGroupName: input.settings.parameterGroupName } : {}),
    PubliclyAccessible: false,
    Tags: tagList(input),
  };
  try {
    await rds.send(new CreateDBInstanceCommand(params));
  } catch (error) {
    throw wrapAwsError(`Unable to create the writer instance ${writer} of ${input.identifier}`, error);
  }
}

/** The writer instance, or undefined when there is none (RDS answers DBInstanceNotFound). */
async function describeWriter(rds: RDSClient, writer: string) {
  try {
    return (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: writer })))
      .DBInstances?.[0];
  } catch (error) {
    if (awsErrorCode(error) === "DBInstanceNotFoundFault") return undefined;
    throw error;
  }
}

/** States RDS does not leave by itself: the restore has failed. */
const TERMINAL_FAILURE =
  /^(writer-)?(failed|incompatible-.*|storage-full|inaccessible-encryption-credentials.*)$/;

export interface DatabaseRestoreStatus {
  readonly identifier: string;
  readonly status: string;
  /** The writer endpoint once available. */
  readonly endpoint?: string;
  readonly port?: number;
  readonly done: boolean;
}

/**
 * The status of the restored database (the Check state of the Wait → Check loop).
 * @throws DatabaseRestoreFailedError for a terminal failure state.
 */
export async function checkDatabaseRestore(
  rds: RDSClient,
  kind: DatabaseKind,
  identifier: string,
  /** For a cluster: how to create its writer instance once the cluster is available. */
  writer?: StartDatabaseRestoreInput,
): Promise<DatabaseRestoreStatus> {
  let status: string;
  let endpoint: string | undefined;
  let port: number | undefined;
  try {
    if (kind === "instance") {
      const db = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })))
        .DBInstances?.[0];
      status = db?.DBInstanceStatus ?? "unknown";
      endpoint = db?.Endpoint?.Address;
      port = db?.Endpoint?.Port;
    } else {
      const cluster = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier })))
        .DBClusters?.[0];
      status = cluster?.Status ?? "unknown";
      endpoint = cluster?.Endpoint;
      port = cluster?.Port;
      // The cluster is usable once its writer is.
      if (status === "available") {
        const found = await describeWriter(rds, writerIdentifier(identifier));
        if (found && found.DBClusterIdentifier !== identifier) {
          throw new RestoreTargetTakenError(
            `DB instance ${writerIdentifier(identifier)} ${found.DBClusterIdentifier ? `belongs to cluster ${found.DBClusterIdentifier}` : "is in no cluster"}, not ${identifier}'s writer: choose another targetDbIdentifier`,
          );
        }
        if (!found && writer) {
          // RDS accepts the writer only now (RestoreDBClusterFromSnapshot: "only after … available").
          await ensureWriter(rds, writer);
          status = "writer-creating";
        } else if (found?.DBInstanceStatus !== "available") {
          status = `writer-${found?.DBInstanceStatus ?? "missing"}`;
        }
      }
    }
  } catch (error) {
    throw wrapAwsError(`Unable to describe the restored database ${identifier}`, error);
  }
  if (TERMINAL_FAILURE.test(status)) {
    throw new DatabaseRestoreFailedError(
      `The restored database ${identifier} is ${status}: RDS will not finish this restore. Check the RDS events of ${identifier}, fix the cause (KMS key, storage, parameter group), delete it and start the restore again`,
    );
  }
  return {
    identifier,
    status,
    ...(endpoint ? { endpoint } : {}),
    ...(port !== undefined ? { port } : {}),
    done: status === "available",
  };
}

/** The snapshot as `startDatabaseRestore` needs it, from the plan's JSON form. */
function snapshotOf(ref: SnapshotRef, region: string, database: string): Snapshot {
  return {
    identifier: ref.identifier,
    arn: ref.arn,
    region,
    databaseIdentifier: database,
    status: "available",
    tags: {},
    encrypted: ref.encrypted,
    ...(ref.engine ? { engine: ref.engine } : {}),
    ...(ref.engineVersion ? { engineVersion: ref.engineVersion } : {}),
    ...(ref.createdAt ? { createdAt: new Date(ref.createdAt) } : {}),
  };
}

export interface PlannedDatabase {
  readonly kind: DatabaseKind;
  readonly snapshot: SnapshotRef;
  readonly identifier: string;
  readonly settings: RestoreTargetSettings;
}

/** "Restore database": starts the restore (or adopts an earlier attempt's), and stamps the start time. */
export async function restoreDatabaseStep(
  rds: RDSClient,
  restoreId: string,
  region: string,
  plan: PlannedDatabase,
  now: Date,
): Promise<StartedDatabaseRestore & { readonly startedAt: string }> {
  const started = await startDatabaseRestore(rds, {
    kind: plan.kind,
    snapshot: snapshotOf(plan.snapshot, region, plan.identifier),
    identifier: plan.identifier,
    restoreId,
    settings: plan.settings,
  });
  return { ...started, startedAt: now.toISOString() };
}

/**
 * "Check database": the restored database's status; terminal failures throw, and so does the deadline
 * (`restore.database.deadlineMinutes`) passing.
 */
export async function checkDatabaseStep(
  rds: RDSClient,
  restoreId: string,
  region: string,
  plan: PlannedDatabase,
  startedAt: string,
  deadlineMinutes: number,
  now: Date,
): Promise<DatabaseRestoreStatus & { readonly startedAt: string; readonly finishedAt?: string }> {
  const status = await checkDatabaseRestore(
    rds,
    plan.kind,
    plan.identifier,
    plan.kind === "cluster"
      ? {
          kind: plan.kind,
          snapshot: snapshotOf(plan.snapshot, region, plan.identifier),
          identifier: plan.identifier,
          restoreId,
          settings: plan.settings,
        }
      : undefined,
  );
  if (status.done) return { ...status, startedAt, finishedAt: now.toISOString() };
  checkDeadline(
    startedAt,
    deadlineMinutes,
    now,
    `The restored database ${plan.identifier} (${status.status})`,
    "restore.database.deadlineMinutes",
  );
  return { ...status, startedAt };
}

const databaseFields = {
  restoreId: z.string().min(1),
  region: z.string().min(1),
  database: passedOn<PlannedDatabase>(),
};

/** "Restore database" and "Check database". */
export const databaseEvent = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ...databaseFields }),
  z.object({ action: z.literal("check"), ...databaseFields, started: z.object({ startedAt: z.string() }) }),
]);
