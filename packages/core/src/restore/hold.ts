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
 * The database host the application's Secret names while a backup with file-system volumes is held:
 * a name in `.invalid`, which never resolves (RFC 6761 §6.4), so no container can reach any database.
 */
export const HELD_DATABASE_HOST = "held-by-gitpod-dr.invalid";

/** The application's database Secret, for the file-system-volume hold. */
export interface HeldSecret {
  readonly name: string;
  readonly hostKey: string;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * The Velero resource modifier that holds the application back until "Point application" has named
 * the restored database. Two ways, chosen by the plan per backup (`fs-volume-hold.ts`):
 *
 * - Without file-system volumes (the default): everything matching `holdSelector` in the application
 *   namespace is restored with a scheduling gate, so no pod of it is ever scheduled: Deployments,
 *   StatefulSets and ReplicaSets in their pod template (replica counts stay as backed up), bare Pods in
 *   their own spec. The gate survives a KOTS redeploy (`kubectl apply` keeps fields its manifests do not
 *   set), so KOTS may scale the workloads up: their pods wait, gated, until Redeploy removes the gate
 *   after the database Secret was checked.
 * - With `heldSecret` (the backup has file-system volumes in the namespace): Velero writes those volumes
 *   through its `restore-wait` init container, which runs only in a started pod, and the Restore waits
 *   for it — a gated pod never starts, so the Restore would hang until Velero's fs-backup timeout and end
 *   PartiallyFailed without the data. So nothing is gated: the pods start and their volumes are restored,
 *   and the application is kept off every database instead by restoring its database Secret with
 *   `HELD_DATABASE_HOST` in `hostKey` (Velero restores Secrets before any pod). Point application writes
 *   the restored host and Redeploy restarts every workload, so no container reads the old host. The plan
 *   refuses this mode when it is not safe (no restored database to point at, or a Secret already in the
 *   cluster that Velero would not overwrite).
 *
 * In both, Jobs and CronJobs are restored suspended and every matching object carries `HELD_ANNOTATION`
 * (Redeploy removes it; Verify fails while one is left). Every patch is a JSON merge patch of an object
 * onto an object, and the conditions hold only a groupResource, the namespace, `^name$` and the
 * selector the configuration validates: no rule can fail on an item (a failing rule would restore that
 * item without its patch, unheld, as Velero does).
 */
export function holdModifier(
  namespace: string,
  holdSelector: Record<string, string>,
  restoreId: string,
  heldSecret?: HeldSecret,
): string {
  const mark = { annotations: { [HELD_ANNOTATION]: labelValue(restoreId) } };
  const gates = [{ name: HOLD_GATE }];
  const rule = (groupResource: string, patch: Record<string, unknown>) => ({
    conditions: { groupResource, namespaces: [namespace], labelSelector: { matchLabels: holdSelector } },
    // One patch kind per rule (Velero rejects a rule with two).
    mergePatches: [{ patchData: JSON.stringify(patch) }],
  });
  const gate = heldSecret === undefined;
  const template = gate ? { spec: { template: { spec: { schedulingGates: gates } } } } : {};
  const rules: unknown[] = [
    ...["deployments.apps", "statefulsets.apps", "replicasets.apps"].map((gr) =>
      rule(gr, { metadata: mark, ...template }),
    ),
    rule("pods", { metadata: mark, ...(gate ? { spec: { schedulingGates: gates } } : {}) }),
    rule("jobs.batch", { metadata: mark, spec: { suspend: true } }),
    rule("cronjobs.batch", { metadata: mark, spec: { suspend: true } }),
  ];
  if (heldSecret) {
    const host = Buffer.from(HELD_DATABASE_HOST, "utf8").toString("base64");
    rules.push({
      conditions: {
        groupResource: "secrets",
        namespaces: [namespace],
        resourceNameRegex: `^${escapeRegex(heldSecret.name)}$`,
      },
      mergePatches: [{ patchData: JSON.stringify({ metadata: mark, data: { [heldSecret.hostKey]: host } }) }],
    });
  }
  // JSON (a YAML subset): every key and string quoted, so Velero's YAML 1.1 decoder (sigs.k8s.io/yaml)
  // cannot read a selector label such as `Y` or `on` as a boolean, and no anchors for the shared selector.
  return `${JSON.stringify({ version: "v1", resourceModifierRules: rules }, null, 2)}\n`;
}

/** Whether a workload is still held by a restore: marked, or its pod template gated. */
export function isHeld(w: Deployment): boolean {
  const gates = (w.spec?.template?.spec as { schedulingGates?: { name?: string }[] } | undefined)
    ?.schedulingGates;
  return (
    w.metadata.annotations?.[HELD_ANNOTATION] !== undefined || (gates ?? []).some((g) => g.name === HOLD_GATE)
  );
}
