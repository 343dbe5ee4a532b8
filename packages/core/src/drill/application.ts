import { holdModifier } from "../restore/hold.ts";
import { KubeApiError } from "../velero/errors.ts";
import type { KubeObject, KubeOps } from "../velero/kube.ts";
import { LABEL_CREATED_BY, LABEL_CREATED_BY_VALUE } from "../velero/naming.ts";
import { resolveBackup } from "../velero/restore.ts";
import { phaseReport } from "../velero/status.ts";
import type { DrillKube } from "./kube.ts";
import { drillRestoreName, LABEL_DRILL, namespaceMapping } from "./naming.ts";

/**
 * The application part of a drill: a Velero Restore of the recovery point's backup into scratch
 * namespaces (`namespaceMapping`: `gitpod` → `gitpod-drill-<id>`), nothing cluster-scoped, and every
 * workload held — and its verification. The hold is the restore's scheduling-gate modifier (its
 * conditions name the backed-up namespace, which is what Velero matches, not the mapped one). Pods are
 * not restored at all: their controllers, restored gated, create gated pods, so no pod of the restored
 * application starts; and Velero's file-system volume restore (which waits for a restored pod to start,
 * `restore/fs-volume-hold.ts`) is not triggered, so the Restore cannot hang on it. Volume data is thus
 * not part of a drill; the report says how many file-system volumes the backup holds.
 */

export interface DrillRestoreInput {
  readonly drillId: string;
  /** The backup to restore (the recovery point's). */
  readonly backupName: string;
  readonly veleroNamespace: string;
  readonly namespaces: readonly string[];
  /** The application namespace and selector the hold applies to (restore.application). */
  readonly holdNamespace: string;
  readonly holdSelector: Record<string, string>;
}

export interface DrillRestoreStarted {
  readonly name: string;
  readonly backupName: string;
  readonly namespaceMapping: Record<string, string>;
  readonly created: boolean;
  readonly startedAt: string;
}

const drillLabels = (id: string) => ({ [LABEL_CREATED_BY]: LABEL_CREATED_BY_VALUE, [LABEL_DRILL]: id });

/** The Restore's spec (exported for the tests that check it against Velero's CRD). */
export function drillRestoreSpec(input: DrillRestoreInput, modifier: string): Record<string, unknown> {
  return {
    backupName: input.backupName,
    includedNamespaces: [...input.namespaces],
    namespaceMapping: namespaceMapping(input.namespaces, input.drillId),
    // Nothing cluster-scoped: a scratch restore must not change what the production namespaces share.
    includeClusterResources: false,
    excludedResources: ["pods"],
    restorePVs: false,
    existingResourcePolicy: "none",
    resourceModifier: { kind: "configmap", name: modifier },
  };
}

/**
 * Creates the hold ConfigMap and the Restore (both adopted on a retry of the same drill).
 * @throws VeleroBackupNotFoundError, KubeApiError
 */
export async function startDrillRestore(
  kube: KubeOps,
  input: DrillRestoreInput,
  now: Date,
): Promise<DrillRestoreStarted> {
  const name = drillRestoreName(input.drillId);
  const modifier = `${name}-hold`;
  const labels = drillLabels(input.drillId);
  await resolveBackup(kube, input.veleroNamespace, input.backupName);
  await kube.createConfigMap(input.veleroNamespace, {
    metadata: { name: modifier, namespace: input.veleroNamespace, labels },
    data: { "hold.yaml": holdModifier(input.holdNamespace, input.holdSelector, input.drillId) },
  });
  const body: KubeObject = {
    apiVersion: "velero.io/v1",
    kind: "Restore",
    metadata: { name, namespace: input.veleroNamespace, labels },
    spec: drillRestoreSpec(input, modifier),
  };
  const result = await kube.createVelero("restores", input.veleroNamespace, body);
  return {
    name,
    backupName: input.backupName,
    namespaceMapping: namespaceMapping(input.namespaces, input.drillId),
    created: result.created,
    startedAt: now.toISOString(),
  };
}

export interface DrillRestoreVerification {
  readonly done: boolean;
  readonly phase: string;
  readonly warnings: number;
  readonly errors: number;
  readonly itemsRestored?: number;
  readonly itemsBackedUp?: number;
  /** Count per expected kind, per scratch namespace. */
  readonly kinds?: Record<string, Record<string, number>>;
  /** Pods of the restored application that run or are ready (must be none: the hold). */
  readonly podsStarted?: readonly string[];
  readonly problems: readonly string[];
}

const isStarted = (pod: KubeObject): boolean => {
  const status = (pod.status ?? {}) as { phase?: string; conditions?: { type?: string; status?: string }[] };
  return (
    status.phase === "Running" ||
    status.phase === "Succeeded" ||
    (status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
  );
};

const KIND_API: Record<string, string> = {
  Deployment: "apps/v1",
  StatefulSet: "apps/v1",
  Secret: "v1",
  ConfigMap: "v1",
};

/**
 * Reads the Restore: not finished → `done: false`; finished → the verification (phase accepted, items
 * restored vs backed up, the expected kinds in every scratch namespace, no pod started).
 * @throws KubeApiError
 */
export async function verifyDrillRestore(
  kube: KubeOps & DrillKube,
  input: {
    readonly veleroNamespace: string;
    readonly name: string;
    readonly scratchNamespaces: readonly string[];
    readonly expectedKinds: readonly string[];
    readonly allowPartialRestore: boolean;
    readonly itemsBackedUp?: number | undefined;
  },
): Promise<DrillRestoreVerification> {
  const restore = await kube.getVelero("restores", input.veleroNamespace, input.name);
  if (!restore) {
    return {
      done: true,
      phase: "Missing",
      warnings: 0,
      errors: 0,
      problems: [`Velero Restore ${input.veleroNamespace}/${input.name} does not exist`],
    };
  }
  const report = phaseReport(restore);
  const progress = (
    restore.status as { progress?: { itemsRestored?: number; totalItems?: number } } | undefined
  )?.progress;
  const base = {
    phase: report.phase,
    warnings: report.warnings,
    errors: report.errors,
    ...(progress?.itemsRestored !== undefined ? { itemsRestored: progress.itemsRestored } : {}),
    ...(input.itemsBackedUp !== undefined ? { itemsBackedUp: input.itemsBackedUp } : {}),
  };
  if (!report.terminal) return { ...base, done: false, problems: [] };
  const problems: string[] = [];
  const counts = `${report.warnings} warning(s), ${report.errors} error(s)`;
  if (report.phase === "PartiallyFailed" && !input.allowPartialRestore) {
    problems.push(
      `Velero restore ${input.name} ended PartiallyFailed (${counts}); drill.allowPartialRestore is false`,
    );
  } else if (report.phase !== "Completed" && report.phase !== "PartiallyFailed") {
    const why = report.failureReason ?? report.validationErrors.join("; ");
    problems.push(`Velero restore ${input.name} ended ${report.phase}${why ? `: ${why}` : ""} (${counts})`);
  }
  const kinds: Record<string, Record<string, number>> = {};
  const podsStarted: string[] = [];
  let secretsForbidden = false;
  for (const namespace of input.scratchNamespaces) {
    kinds[namespace] = {};
    for (const kind of input.expectedKinds) {
      if (kind === "Secret" && secretsForbidden) continue;
      let n: number;
      try {
        n = (await kube.listObjects(KIND_API[kind] ?? "v1", kind, namespace)).length;
      } catch (error) {
        if (!(error instanceof KubeApiError && error.status === 403 && kind === "Secret")) throw error;
        // The one kind deploy/rbac-drill.yaml leaves out on purpose: a check to fix, not an outage.
        secretsForbidden = true;
        problems.push(
          `the drill is forbidden (403) to list Secrets in its scratch namespaces: remove "Secret" from drill.checks.application.expectedKinds, or kubectl apply -f deploy/rbac-drill-secrets.yaml (which lets the drill read every Secret in the cluster)`,
        );
        continue;
      }
      kinds[namespace][kind] = n;
      if (n === 0) problems.push(`scratch namespace ${namespace} has no ${kind} after the restore`);
    }
    for (const pod of await kube.listObjects("v1", "Pod", namespace)) {
      if (isStarted(pod)) podsStarted.push(`${namespace}/${pod.metadata.name}`);
    }
  }
  if (podsStarted.length > 0) {
    problems.push(
      `pods of the restored application started despite the hold: ${podsStarted.slice(0, 10).join(", ")}`,
    );
  }
  return { ...base, done: true, kinds, podsStarted, problems };
}
