import type { RestoreJobConfig } from "../config.ts";
import { InvalidInputError } from "../errors.ts";
import { storageLocationProblem } from "../velero/backup.ts";
import { KubeApiError, VeleroBackupNotFoundError } from "../velero/errors.ts";
import type { KubeOps } from "../velero/kube.ts";
import {
  LABEL_CREATED_BY,
  LABEL_CREATED_BY_VALUE,
  LABEL_RESTORE_ID,
  labelValue,
  restoreAttemptName,
  restoreName,
} from "../velero/naming.ts";
import { resolveBackup } from "../velero/restore.ts";
import { phaseReport } from "../velero/status.ts";
import { checkDatabaseTarget, type TargetCheckDeps } from "./database-target.ts";
import { PreconditionFailedError } from "./errors.ts";
import { decideHold } from "./fs-volume-hold.ts";
import type { ImageItem, RestorePlan, RestoreRequest, SnapshotRef } from "./types.ts";

/**
 * The "Build plan" state: resolves what Validate left (the Velero backup, the images, the endpoints)
 * and checks every precondition in the target region — the cluster answers, Velero is installed with
 * an Available storage location, the database target's security groups, parameter groups and KMS key
 * are usable (database-target.ts). Every problem is collected; nothing is created. The plan is the state's output (and, with dryRun, the message).
 */

/** Velero Restores one restore id may make (a new one after each that failed). */
const MAX_ATTEMPTS = 10;

export interface PlanDeps extends TargetCheckDeps {
  /** Cluster access (EKS DescribeCluster, then the Kubernetes API) by cluster name and region. */
  readonly kube: (cluster: string, region: string) => Promise<KubeOps>;
}

/** The cluster a restore into `target` uses. */
export function targetCluster(config: RestoreJobConfig, target: "primary" | "dr"): string | undefined {
  return (
    config.restore.targets[target]?.cluster?.name ??
    (target === "primary" ? config.application?.cluster : undefined)
  );
}

/** The name of the resource modifier ConfigMap a restore creates (≤ 253 characters). */
export function modifierName(restoreId: string): string {
  return `${restoreName(restoreId).slice(0, 240)}-hold`;
}

/** What "latest" was ordered by for the chosen snapshot (resolveRestoreSnapshot: the window tag, else SnapshotCreateTime). */
function latestBasis(snapshot: SnapshotRef): string {
  return snapshot.window
    ? `latest is snapshot ${snapshot.identifier}, the newest by the recovery time gitpod-dr recorded on it (gitpod-dr:window ${snapshot.window})`
    : `latest is snapshot ${snapshot.identifier}, the newest by its SnapshotCreateTime (${snapshot.createdAt ?? "not reported"}): it has no gitpod-dr:window tag, and for a copy that time is when it was copied, not when its data was taken`;
}

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

export async function buildPlan(
  request: RestoreRequest,
  config: RestoreJobConfig,
  deps: PlanDeps,
): Promise<RestorePlan> {
  const inputProblems: string[] = [];
  const problems: string[] = [];
  const checked: string[] = [];
  const target = config.restore.targets[request.target];
  if (!target) throw new InvalidInputError(`target: no "${request.target}" target is configured`, ["target"]);
  const wants = (tier: string) => request.tiers.includes(tier as never);

  let database: RestorePlan["database"];
  if (wants("database") && request.database) {
    const settings = {
      instanceClass: target.database.instanceClass,
      subnetGroupName: target.database.subnetGroupName,
      securityGroupIds: target.database.securityGroupIds,
      ...(target.database.parameterGroupName
        ? { parameterGroupName: target.database.parameterGroupName }
        : {}),
      ...(target.database.clusterParameterGroupName
        ? { clusterParameterGroupName: target.database.clusterParameterGroupName }
        : {}),
      ...(target.database.kmsKeyArn ? { kmsKeyArn: target.database.kmsKeyArn } : {}),
    };
    const targetCheck = await checkDatabaseTarget(deps, {
      kind: request.database.kind,
      region: request.region,
      snapshot: request.database.snapshot,
      settings,
      field: `restore.targets.${request.target}.database`,
    });
    problems.push(...targetCheck.problems);
    checked.push(...targetCheck.checked);
    checked.push(
      `snapshot ${request.database.snapshot.identifier} is available; DB subnet group ${settings.subnetGroupName} exists`,
    );
    if (request.dbSnapshot === "latest") checked.push(latestBasis(request.database.snapshot));
    database = { ...request.database, settings };
  }

  let images: RestorePlan["images"];
  if (wants("images") && config.restore.images) {
    const registry = target.registry;
    const other = config.restore.targets[request.target === "dr" ? "primary" : "dr"]?.registry;
    if (!registry) {
      problems.push(
        `restore.targets.${request.target}.registry is not configured: the images have nowhere to be ensured`,
      );
    } else {
      const items: ImageItem[] = config.restore.images.references.map((ref) => ({
        reference: `${registry}/${ref}`,
        ...(other && other !== registry ? { source: `${other}/${ref}` } : {}),
      }));
      images = { registry, items };
    }
  }

  const cluster = targetCluster(config, request.target);
  let application: RestorePlan["application"];
  const needsCluster = wants("application") || wants("database");
  let kube: KubeOps | undefined;
  if (needsCluster && cluster) {
    try {
      kube = await deps.kube(cluster, request.region);
    } catch (error) {
      problems.push(`cluster ${cluster} in ${request.region}: ${message(error)}`);
    }
  }
  if (wants("application") && config.application) {
    const app = config.application;
    if (!cluster) {
      problems.push(
        `restore.targets.${request.target}.cluster is not configured: nowhere to restore the application`,
      );
    } else if (kube) {
      try {
        if (!(await kube.veleroApiServed())) {
          problems.push(
            `Velero is not installed in cluster ${cluster} (velero.io/v1 is not served): install it with the same storage location first`,
          );
        } else {
          const location = await storageLocationProblem(
            kube,
            app.veleroNamespace,
            app.storageLocation,
            "read the backups there",
          );
          if (location) problems.push(`cluster ${cluster}: ${location}`);
          else checked.push(`Velero storage location ${app.storageLocation} in ${cluster} is Available`);
          // A restore id's Velero Restores: the first attempt's name, then -attempt-2, -3… after one that
          // ended failed (a failed Restore cannot be resumed; a new one from the same backup can).
          let name = restoreAttemptName(request.restoreId, 1);
          let adopt = false;
          let backupName: string | undefined;
          let takenAt: string | undefined;
          for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            name = restoreAttemptName(request.restoreId, attempt);
            const existing = await kube.getVelero("restores", app.veleroNamespace, name);
            if (!existing) break;
            const ours =
              existing.metadata.labels?.[LABEL_CREATED_BY] === LABEL_CREATED_BY_VALUE &&
              existing.metadata.labels?.[LABEL_RESTORE_ID] === labelValue(request.restoreId);
            const earlierBackup = String(
              (existing.spec as { backupName?: unknown } | undefined)?.backupName ?? "",
            );
            if (!ours) {
              inputProblems.push(
                `restoreId: a Velero Restore named ${name} exists in ${cluster} and was not created by restore ${request.restoreId}: use another restoreId`,
              );
              break;
            }
            if (request.veleroBackup !== "latest" && earlierBackup !== request.veleroBackup) {
              inputProblems.push(
                `veleroBackup: restore ${request.restoreId} was started from backup ${earlierBackup}, not ${request.veleroBackup}: use another restoreId`,
              );
              break;
            }
            backupName = earlierBackup;
            const phase = phaseReport(existing).phase;
            const failed =
              phase === "Failed" ||
              phase === "FailedValidation" ||
              (phase === "PartiallyFailed" && !request.allowPartialRestore);
            if (!failed) {
              adopt = true;
              checked.push(`Velero Restore ${name} of an earlier attempt (${phase}) is adopted`);
              break;
            }
            checked.push(
              `Velero Restore ${name} of an earlier attempt ended ${phase}: a new attempt restores backup ${earlierBackup} again`,
            );
            if (attempt === MAX_ATTEMPTS) {
              inputProblems.push(
                `restoreId: restore ${request.restoreId} has failed ${MAX_ATTEMPTS} Velero restores: use another restoreId`,
              );
            }
          }
          if (!backupName) {
            try {
              const backup = await resolveBackup(
                kube,
                app.veleroNamespace,
                request.veleroBackup,
                app.includeKotsBackups,
              );
              backupName = backup.metadata.name;
              const status = (backup.status ?? {}) as {
                startTimestamp?: string;
                completionTimestamp?: string;
              };
              takenAt = status.startTimestamp ?? status.completionTimestamp;
              checked.push(`Velero backup ${backupName} is ${phaseReport(backup).phase}`);
            } catch (error) {
              if (!(error instanceof VeleroBackupNotFoundError)) throw error;
              (request.veleroBackup === "latest" ? problems : inputProblems).push(
                `veleroBackup: ${error.message}`,
              );
            }
          }
          const decision = backupName
            ? await decideHold(kube, app.veleroNamespace, backupName, request, config)
            : {};
          if (decision.problem) problems.push(decision.problem);
          if (decision.checked) checked.push(decision.checked);
          if (backupName) {
            application = {
              cluster,
              veleroNamespace: app.veleroNamespace,
              backup: { name: backupName, ...(takenAt ? { takenAt } : {}) },
              restoreName: name,
              modifierName: modifierName(request.restoreId),
              adopt,
              ...(decision.hold ? { hold: decision.hold } : {}),
            };
          }
        }
      } catch (error) {
        if (!(error instanceof KubeApiError)) throw error;
        problems.push(`cluster ${cluster}: ${error.message}`);
      }
    }
  }
  if (kube && !wants("application")) {
    // The restored database is pointed at through this cluster: check now that the restore's identity
    // can read the database Secret, not after the database has been restored.
    const { namespace, databaseSecret } = config.restore.application;
    try {
      const data = await kube.getSecretData(namespace, databaseSecret.name);
      if (data)
        checked.push(`cluster ${cluster} answers; Secret ${namespace}/${databaseSecret.name} is readable`);
      else
        problems.push(
          `Secret ${namespace}/${databaseSecret.name} does not exist in cluster ${cluster}: nothing to point at the restored database`,
        );
    } catch (error) {
      problems.push(`cluster ${cluster}: ${message(error)}`);
    }
  }

  if (inputProblems.length > 0) {
    const all = [...inputProblems, ...problems];
    throw new InvalidInputError(`Invalid restore input: ${all.join("; ")}`, all);
  }
  if (problems.length > 0) {
    throw new PreconditionFailedError(
      `The restore cannot start: ${problems.join("; ")}. Nothing was created`,
      problems,
    );
  }
  const endpoints: RestorePlan["endpoints"] =
    request.target === "dr"
      ? {
          ...(target.bucket ? { bucket: target.bucket } : {}),
          ...(target.registry ? { registry: target.registry } : {}),
        }
      : {};
  return {
    restoreId: request.restoreId,
    target: request.target,
    region: request.region,
    tiers: request.tiers,
    ...(database ? { database } : {}),
    ...(images ? { images } : {}),
    ...(application ? { application } : {}),
    ...(cluster ? { cluster } : {}),
    endpoints,
    checked,
  };
}
