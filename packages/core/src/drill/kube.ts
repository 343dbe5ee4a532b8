import type { KubeObject } from "../velero/kube.ts";

/**
 * The cluster operations a drill needs beyond the restore's `KubeOps`: list and delete any object (the
 * scratch namespaces, the drill's Restore and hold ConfigMap, the kinds the verification counts).
 * `RestKubeOps` implements both interfaces.
 */
export interface DrillKube {
  /** Every object of a kind (`namespace` undefined: cluster-scoped, or all namespaces). */
  listObjects(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<KubeObject[]>;
  /** Deletes one object; false when it did not exist (404). */
  deleteObject(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<boolean>;
}
