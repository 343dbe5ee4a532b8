import type { RestoreJobConfig } from "../config.ts";
import type { KubeOps } from "../velero/kube.ts";
import type { RestorePlan, RestoreRequest } from "./types.ts";

/**
 * Which hold a backup can take ("Build plan"). A backup with file-system volumes (Kopia/Restic:
 * `defaultVolumesToFsBackup`, a pod's `backup.velero.io/backup-volumes` annotation, every KOTS snapshot)
 * in the application namespace cannot be held with a scheduling gate: Velero restores those volumes
 * through the `restore-wait` init container, which only runs in a started pod, and the Restore waits for
 * it (vmware-tanzu/velero `pkg/podvolume/restorer.go`, `pod_volume_restore_controller.go`) — a gated pod
 * never starts, so the Restore would stay InProgress until Velero's fs-backup timeout (240 minutes) and
 * end PartiallyFailed with the data missing. Such a backup is held by the database Secret instead
 * (`holdModifier` with a held Secret): the pods run, their volumes are restored, and they read a host
 * that does not resolve until Point application writes the restored one and Redeploy restarts them.
 * That is safe only when this restore points the application at a restored database, and when Velero
 * writes the Secret (an existing one is left as it is with existingResourcePolicy none).
 */

export type PlanHold = NonNullable<NonNullable<RestorePlan["application"]>["hold"]>;

export interface HoldDecision {
  /** Set for a backup with file-system volumes (the default gate hold otherwise). */
  readonly hold?: PlanHold;
  readonly problem?: string;
  readonly checked?: string;
}

/**
 * Reads the backup's PodVolumeBackups (labelled `velero.io/backup-name`, synced from the storage
 * location with the backup) and decides the hold.
 * @throws KubeApiError
 */
export async function decideHold(
  kube: KubeOps,
  veleroNamespace: string,
  backupName: string,
  request: RestoreRequest,
  config: RestoreJobConfig,
): Promise<HoldDecision> {
  const { namespace, databaseSecret } = config.restore.application;
  const podVolumes = await kube.listVelero(
    "podvolumebackups",
    veleroNamespace,
    `velero.io/backup-name=${backupName}`,
  );
  const volumes = podVolumes
    .map((b) => {
      const spec = (b.spec ?? {}) as { pod?: { namespace?: string; name?: string }; volume?: string };
      return { namespace: spec.pod?.namespace, text: `${spec.pod?.name}/${spec.volume}` };
    })
    .filter((v) => v.namespace === namespace)
    .map((v) => v.text)
    .sort();
  if (volumes.length === 0) {
    return {
      checked: `backup ${backupName} has no file-system volumes in ${namespace}: held by a scheduling gate`,
    };
  }
  const listed = `${volumes.slice(0, 5).join(", ")}${volumes.length > 5 ? ` and ${volumes.length - 5} more` : ""}`;
  const why = `backup ${backupName} holds file-system volumes of pods in ${namespace} (${listed}); Velero restores them only in pods that start, so the restore cannot hold them with a scheduling gate and holds them by restoring Secret ${namespace}/${databaseSecret.name} with an unresolvable database host instead`;
  const change =
    "or take the application's backups without file-system volume backup for that namespace (defaultVolumesToFsBackup false, no backup.velero.io/backup-volumes annotation; CSI snapshots restore without the pods starting)";
  if (!request.tiers.includes("database") || !request.database) {
    return {
      problem: `${why}, which only the database tier's Point application replaces: restore the database tier too, ${change}`,
    };
  }
  if (await kube.getSecretData(namespace, databaseSecret.name)) {
    return {
      problem: `${why}, but that Secret already exists in the cluster and Velero does not overwrite it (existingResourcePolicy none), so the pods would start with its host: delete Secret ${namespace}/${databaseSecret.name} (or the namespace) before restoring, ${change}`,
    };
  }
  return {
    hold: { mode: "database-secret", fileSystemVolumes: volumes },
    checked: `${why}; Point application writes the restored host and Redeploy restarts every workload`,
  };
}
