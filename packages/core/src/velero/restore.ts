import { VeleroBackupNotFoundError, VeleroConflictError } from "./errors.ts";
import type { Deployment, KubeObject, KubeOps } from "./kube.ts";
import {
  LABEL_CREATED_BY,
  LABEL_CREATED_BY_VALUE,
  LABEL_RESTORE_ID,
  labelValue,
  OURS_SELECTOR,
  restoreName,
} from "./naming.ts";
import { type PhaseReport, phaseReport } from "./status.ts";

/**
 * The Velero operations of the restore state machine: start a Restore (idempotent by restore id) and
 * read its status; and the rollout rule "Check rollout" and "Verify" (`restore/rollout.ts`) apply to
 * each workload. Each is one short call; waiting belongs to Step Functions (Wait → check loops).
 */

export interface StartRestoreInput {
  /** Caller-supplied id (the execution name): the Restore's name comes from it. */
  readonly restoreId: string;
  /** A backup name, or `latest`: the newest Completed backup made by gitpod-dr (or KOTS, when allowed). */
  readonly backupName: string;
  readonly veleroNamespace: string;
  readonly includedNamespaces?: readonly string[];
  /** What Velero does with resources that already exist: leave them (`none`) or update them. */
  readonly existingResourcePolicy?: "none" | "update";
  readonly restorePVs?: boolean;
  /** Also consider KOTS instance snapshots for `latest`. */
  readonly includeKotsBackups?: boolean;
  /** A resource modifier ConfigMap (in the Velero namespace) applied to what is restored. */
  readonly resourceModifier?: string;
  /** The Restore's name, when not the restore id's first attempt (`restoreName(restoreId)`). */
  readonly name?: string;
}

export interface StartedRestore {
  readonly name: string;
  readonly backupName: string;
  /** False when a Restore with this id's name existed already and was adopted. */
  readonly created: boolean;
}

/**
 * Resolves `latest` to the newest Completed backup by gitpod-dr (and KOTS instance snapshots when
 * `includeKotsBackups`).
 * @throws VeleroBackupNotFoundError when there is none.
 */
export async function resolveBackup(
  kube: KubeOps,
  namespace: string,
  wanted: string,
  includeKotsBackups = false,
): Promise<KubeObject> {
  if (wanted !== "latest") {
    const backup = await kube.getVelero("backups", namespace, wanted);
    if (!backup)
      throw new VeleroBackupNotFoundError(`Velero backup ${wanted} does not exist in namespace ${namespace}`);
    const phase = phaseReport(backup).phase;
    if (phase !== "Completed" && phase !== "PartiallyFailed") {
      throw new VeleroBackupNotFoundError(
        `Velero backup ${wanted} is ${phase}: only a Completed (or PartiallyFailed) backup can be restored`,
      );
    }
    return backup;
  }
  const candidates = includeKotsBackups
    ? (await kube.listVelero("backups", namespace)).filter(
        (b) =>
          b.metadata.labels?.[LABEL_CREATED_BY] === LABEL_CREATED_BY_VALUE ||
          b.metadata.annotations?.["kots.io/instance"] === "true",
      )
    : await kube.listVelero("backups", namespace, OURS_SELECTOR);
  // By when the backup was taken: in a new cluster, creationTimestamp is when Velero synced the object
  // from the storage location, not when the backup ran.
  const taken = (b: KubeObject) => {
    const status = (b.status ?? {}) as { startTimestamp?: string; completionTimestamp?: string };
    return (
      Date.parse(status.startTimestamp ?? status.completionTimestamp ?? b.metadata.creationTimestamp ?? "") ||
      0
    );
  };
  const newest = candidates
    .filter((b) => phaseReport(b).phase === "Completed")
    .sort((a, b) => taken(b) - taken(a) || b.metadata.name.localeCompare(a.metadata.name))[0];
  if (!newest) {
    throw new VeleroBackupNotFoundError(
      `No Completed Velero backup ${includeKotsBackups ? "by gitpod-dr or KOTS" : "by gitpod-dr"} exists in namespace ${namespace}`,
    );
  }
  return newest;
}

/**
 * Creates the Restore for `restoreId`, or adopts the one a previous attempt with the same id created.
 * @throws VeleroBackupNotFoundError, VeleroConflictError (the name is taken by another restore)
 */
export async function startRestore(kube: KubeOps, input: StartRestoreInput): Promise<StartedRestore> {
  const name = input.name ?? restoreName(input.restoreId);
  // An earlier attempt of the same restore: adopt it (its backup was resolved then; `latest` may have moved).
  const existing = await kube.getVelero("restores", input.veleroNamespace, name);
  if (existing) return adopt(existing, input, name);
  const backup = await resolveBackup(kube, input.veleroNamespace, input.backupName, input.includeKotsBackups);
  const body: KubeObject = {
    apiVersion: "velero.io/v1",
    kind: "Restore",
    metadata: {
      name,
      namespace: input.veleroNamespace,
      labels: { [LABEL_CREATED_BY]: LABEL_CREATED_BY_VALUE, [LABEL_RESTORE_ID]: labelValue(input.restoreId) },
    },
    spec: {
      backupName: backup.metadata.name,
      ...(input.includedNamespaces ? { includedNamespaces: input.includedNamespaces } : {}),
      ...(input.existingResourcePolicy ? { existingResourcePolicy: input.existingResourcePolicy } : {}),
      ...(input.restorePVs !== undefined ? { restorePVs: input.restorePVs } : {}),
      // `velero restore create --resource-modifier-configmap` sets the kind to "configmap".
      ...(input.resourceModifier
        ? { resourceModifier: { kind: "configmap", name: input.resourceModifier } }
        : {}),
    },
  };
  const result = await kube.createVelero("restores", input.veleroNamespace, body);
  if (!result.created) return adopt(result.object, input, name);
  return { name, backupName: backup.metadata.name, created: true };
}

function adopt(existing: KubeObject, input: StartRestoreInput, name: string): StartedRestore {
  const backupName = String((existing.spec as { backupName?: unknown } | undefined)?.backupName ?? "");
  if (existing.metadata.labels?.[LABEL_CREATED_BY] !== LABEL_CREATED_BY_VALUE) {
    throw new VeleroConflictError(`A Restore named ${name} exists but was not created by gitpod-dr`);
  }
  const existingId = existing.metadata.labels?.[LABEL_RESTORE_ID];
  if (existingId !== labelValue(input.restoreId)) {
    throw new VeleroConflictError(
      `Restore ${name} belongs to restore id ${existingId ?? "(none)"}, not ${input.restoreId}: restore ids that differ only in case or punctuation get the same name; use another restore id`,
    );
  }
  if (input.backupName !== "latest" && backupName !== input.backupName) {
    throw new VeleroConflictError(
      `Restore ${name} (restore id ${input.restoreId}) already exists for backup ${backupName}, not ${input.backupName}: use another restore id`,
    );
  }
  return { name, backupName, created: false };
}

export type RestoreStatus = PhaseReport;

/** Phase, counts, failure reason and progress of a Restore; `terminal` as Velero's own `--wait` decides. */
export async function getRestoreStatus(
  kube: KubeOps,
  namespace: string,
  name: string,
): Promise<RestoreStatus> {
  const restore = await kube.getVelero("restores", namespace, name);
  if (!restore)
    throw new VeleroBackupNotFoundError(`Restore ${name} does not exist in namespace ${namespace}`);
  return phaseReport(restore);
}

/** The pod template annotation `kubectl rollout restart` sets (Redeploy sets it the same way). */
export const RESTARTED_AT = "kubectl.kubernetes.io/restartedAt";

export interface RolloutState {
  readonly name: string;
  readonly desired: number;
  readonly updated: number;
  readonly ready: number;
  readonly available: number;
  readonly done: boolean;
}

/** Whether a Deployment's rollout is done, by the rule `kubectl rollout status` uses. */
export function rolloutState(d: Deployment): RolloutState {
  const desired = d.spec?.replicas ?? 1;
  const s = d.status ?? {};
  const updated = s.updatedReplicas ?? 0;
  const ready = s.readyReplicas ?? 0;
  const available = s.availableReplicas ?? 0;
  const observed = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
  const done =
    observed &&
    updated >= desired &&
    (s.replicas ?? updated) <= updated &&
    available >= desired &&
    ready >= desired;
  return { name: d.metadata.name, desired, updated, ready, available, done };
}
