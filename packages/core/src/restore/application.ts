import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import type { RestoreJobConfig } from "../config.ts";
import { VeleroConflictError } from "../velero/errors.ts";
import type { KubeOps } from "../velero/kube.ts";
import { LABEL_CREATED_BY, LABEL_CREATED_BY_VALUE, LABEL_RESTORE_ID, labelValue } from "../velero/naming.ts";
import { getRestoreStatus, startRestore } from "../velero/restore.ts";
import { ApplicationRestoreFailedError, checkDeadline } from "./errors.ts";
import { holdModifier } from "./hold.ts";
import type { RestorePlan, RestoreRequest, Timed } from "./types.ts";

/**
 * The application branch: the Velero Restore with the application's workloads held back (their pods
 * cannot be scheduled, `hold.ts`) and its status. The steps after it are in `point.ts` (pointing the
 * application at the restored endpoints) and `rollout.ts` (redeploy, rollout, verification). Each is one
 * short call; Step Functions does the waiting.
 */

export interface ApplicationDeps {
  readonly kube: (cluster: string, region: string) => Promise<KubeOps>;
  readonly cloudwatch: (region: string) => Pick<CloudWatchClient, "send">;
  readonly fetch: typeof fetch;
  readonly now: () => Date;
}

export interface ApplicationStarted extends Timed {
  readonly name: string;
  readonly backupName: string;
  readonly created: boolean;
}

/**
 * "Restore application": the hold-back ConfigMap, then the Velero Restore (both adopted on a rerun).
 * @throws ApplicationRestoreFailedError (no application in the plan), VeleroConflictError (the
 *   ConfigMap or Restore name is another restore's), VeleroBackupNotFoundError, KubeApiError
 */
export async function startApplicationRestore(
  request: RestoreRequest,
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ApplicationStarted> {
  const app = plan.application;
  const settings = config.application;
  if (!app || !settings) throw new ApplicationRestoreFailedError("The plan has no application restore");
  const kube = await deps.kube(app.cluster, plan.region);
  const startedAt = deps.now().toISOString();
  const hold = config.restore.application;
  const labels = {
    [LABEL_CREATED_BY]: LABEL_CREATED_BY_VALUE,
    [LABEL_RESTORE_ID]: labelValue(request.restoreId),
  };
  // A backup with file-system volumes is held by its database Secret, not a gate (fs-volume-hold.ts).
  const heldSecret = app.hold
    ? { name: hold.databaseSecret.name, hostKey: hold.databaseSecret.hostKey }
    : undefined;
  const data = {
    "hold.yaml": holdModifier(hold.namespace, hold.holdSelector, request.restoreId, heldSecret),
  };
  const modifier = await kube.createConfigMap(app.veleroNamespace, {
    metadata: { name: app.modifierName, namespace: app.veleroNamespace, labels },
    data,
  });
  if (!modifier.created) {
    // An earlier attempt's: adopted only if it is this restore's and holds what this one would.
    const existing = modifier.object;
    const ours = existing.metadata.labels?.[LABEL_RESTORE_ID] === labels[LABEL_RESTORE_ID];
    if (!ours || existing.data?.["hold.yaml"] !== data["hold.yaml"]) {
      throw new VeleroConflictError(
        ours
          ? `ConfigMap ${app.veleroNamespace}/${app.modifierName} of restore ${request.restoreId} holds other rules than this configuration gives (restore.application changed?): use another restoreId`
          : `ConfigMap ${app.veleroNamespace}/${app.modifierName} exists and was not created by restore ${request.restoreId}: use another restoreId`,
      );
    }
  }
  const started = await startRestore(kube, {
    restoreId: request.restoreId,
    backupName: app.backup.name,
    veleroNamespace: app.veleroNamespace,
    includedNamespaces: settings.includedNamespaces,
    existingResourcePolicy: "none",
    includeKotsBackups: settings.includeKotsBackups,
    resourceModifier: app.modifierName,
    name: app.restoreName,
  });
  return { ...started, startedAt };
}

export interface ApplicationStatus extends Timed {
  readonly name: string;
  readonly backupName: string;
  readonly phase: string;
  readonly done: boolean;
  readonly warnings: number;
  readonly errors: number;
  readonly failureReason?: string;
  /** PartiallyFailed, accepted because the input allowed it. */
  readonly partial: boolean;
}

/**
 * "Check application restore": the Restore's phase.
 * @throws ApplicationRestoreFailedError (Failed, FailedValidation, or PartiallyFailed not allowed),
 *   RestoreDeadlineExceededError (restoreDeadlineMinutes), VeleroBackupNotFoundError, KubeApiError
 */
export async function checkApplicationRestore(
  request: RestoreRequest,
  plan: RestorePlan,
  started: ApplicationStarted,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ApplicationStatus> {
  const app = plan.application;
  if (!app) throw new ApplicationRestoreFailedError("The plan has no application restore");
  const kube = await deps.kube(app.cluster, plan.region);
  const status = await getRestoreStatus(kube, app.veleroNamespace, started.name);
  const counts = `${status.warnings} warning(s), ${status.errors} error(s)`;
  const details = `see \`velero restore describe ${started.name} --details\` and \`velero restore logs ${started.name}\``;
  const base = {
    name: started.name,
    backupName: started.backupName,
    phase: status.phase,
    warnings: status.warnings,
    errors: status.errors,
    ...(status.failureReason ? { failureReason: status.failureReason } : {}),
    startedAt: started.startedAt,
  };
  if (status.phase === "Completed")
    return { ...base, done: true, partial: false, finishedAt: deps.now().toISOString() };
  if (status.phase === "PartiallyFailed") {
    if (request.allowPartialRestore)
      return { ...base, done: true, partial: true, finishedAt: deps.now().toISOString() };
    throw new ApplicationRestoreFailedError(
      `Velero restore ${started.name} from backup ${started.backupName} ended PartiallyFailed (${counts}): ${details}. Start again with allowPartialRestore: true and the same restoreId to accept it`,
    );
  }
  if (status.phase === "Failed" || status.phase === "FailedValidation") {
    const why = status.failureReason ?? status.validationErrors.join("; ");
    throw new ApplicationRestoreFailedError(
      `Velero restore ${started.name} from backup ${started.backupName} ended ${status.phase}${why ? `: ${why}` : ""} (${counts}); ${details}`,
    );
  }
  checkDeadline(
    started.startedAt,
    config.restore.application.restoreDeadlineMinutes,
    deps.now(),
    `Velero restore ${started.name} (${status.phase})`,
    "restore.application.restoreDeadlineMinutes",
  );
  return { ...base, done: false, partial: false };
}
