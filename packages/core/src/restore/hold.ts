import { stringify } from "yaml";
import type { Deployment } from "../velero/kube.ts";
import { labelValue } from "../velero/naming.ts";

/**
 * The hold: how the restore keeps the application's pods from running until "Point application" has
 * named the restored database ("Restore application" sets it, "Redeploy" lifts it, "Verify" checks it
 * is gone).
 */

/** Marks a workload the restore holds back; Redeploy releases it and removes the mark. */
export const HELD_ANNOTATION = "gitpod-dr/held-by-restore";
/** The scheduling gate that holds the restored pods: the scheduler places no pod that carries one. */
export const HOLD_GATE = "gitpod-dr/held";

/**
 * The Velero resource modifier that holds the application back until "Point application" has named
 * the restored database. Everything matching `holdSelector` in the application namespace is restored
 * with a scheduling gate, so no pod of it is ever scheduled: Deployments, StatefulSets and ReplicaSets
 * in their pod template (replica counts stay as backed up), bare Pods in their own spec. Jobs and
 * CronJobs are restored suspended. The gate survives a KOTS redeploy (`kubectl apply` keeps fields its
 * manifests do not set), so KOTS may scale the workloads up: their pods wait, gated, until Redeploy
 * removes the gate after the database Secret was checked.
 */
export function holdModifier(
  namespace: string,
  holdSelector: Record<string, string>,
  restoreId: string,
): string {
  const mark = { annotations: { [HELD_ANNOTATION]: labelValue(restoreId) } };
  const gates = [{ name: HOLD_GATE }];
  const template = { spec: { schedulingGates: gates } };
  const rule = (groupResource: string, patch: Record<string, unknown>) => ({
    conditions: { groupResource, namespaces: [namespace], labelSelector: { matchLabels: holdSelector } },
    // One patch kind per rule (Velero rejects a rule with two).
    mergePatches: [{ patchData: JSON.stringify(patch) }],
  });
  return stringify({
    version: "v1",
    resourceModifierRules: [
      ...["deployments.apps", "statefulsets.apps", "replicasets.apps"].map((gr) =>
        rule(gr, { metadata: mark, spec: { template } }),
      ),
      rule("pods", { metadata: mark, spec: { schedulingGates: gates } }),
      rule("jobs.batch", { metadata: mark, spec: { suspend: true } }),
      rule("cronjobs.batch", { metadata: mark, spec: { suspend: true } }),
    ],
  });
}

/** Whether a workload is still held by a restore: marked, or its pod template gated. */
export function isHeld(w: Deployment): boolean {
  const gates = (w.spec?.template?.spec as { schedulingGates?: { name?: string }[] } | undefined)
    ?.schedulingGates;
  return (
    w.metadata.annotations?.[HELD_ANNOTATION] !== undefined || (gates ?? []).some((g) => g.name === HOLD_GATE)
  );
}
