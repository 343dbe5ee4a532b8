/**
 * The narrow interface through which gitpod-dr talks to a cluster: the few operations the Velero
 * backup job and the restore need, and nothing else. `kube-client.ts` implements it as REST calls
 * over `kube-http.ts` (no client library).
 */

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  /** Set when deletion was asked for (a namespace stays Terminating until its objects are gone); client-node gives a Date. */
  deletionTimestamp?: string | Date;
  generation?: number;
  resourceVersion?: string;
}

/** The metadata a client sets on an object it creates; the server fills in the rest. */
export type NewObjectMeta = Pick<ObjectMeta, "name" | "namespace" | "labels" | "annotations">;

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

export interface Deployment extends KubeObject {
  spec?: {
    replicas?: number;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { containers?: { name: string; image?: string }[] };
    };
  } & Record<string, unknown>;
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
  } & Record<string, unknown>;
}

/** The workload kinds the restore holds at zero and scales back (`apps/v1`). */
export type WorkloadPlural = "deployments" | "statefulsets";

/** Velero's resources, all `velero.io/v1`. */
export type VeleroPlural = "backups" | "restores" | "backupstoragelocations" | "podvolumebackups";

export interface KubeOps {
  /** Whether the API server serves `velero.io/v1` (discovery). */
  veleroApiServed(): Promise<boolean>;
  getVelero(plural: VeleroPlural, namespace: string, name: string): Promise<KubeObject | undefined>;
  listVelero(plural: VeleroPlural, namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  /** Creates; on 409 AlreadyExists returns the existing object with `created: false`. */
  createVelero(
    plural: VeleroPlural,
    namespace: string,
    body: KubeObject,
  ): Promise<{ created: boolean; object: KubeObject }>;
  getDeployment(namespace: string, name: string): Promise<Deployment | undefined>;
  getStatefulSet(namespace: string, name: string): Promise<Deployment | undefined>;
  /** List Deployments or StatefulSets (both have `spec.replicas` and the rollout status fields). */
  listWorkloads(plural: WorkloadPlural, namespace: string, labelSelector?: string): Promise<Deployment[]>;
  /** JSON merge patch of one Deployment or StatefulSet. */
  patchWorkload(
    plural: WorkloadPlural,
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
  ): Promise<Deployment>;
  /** A Secret's data, base64-decoded to UTF-8 text; undefined when it does not exist. */
  getSecretData(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  /** Sets the given keys of a Secret's data (JSON merge patch, values base64-encoded by the implementation). */
  patchSecretData(namespace: string, name: string, data: Record<string, string>): Promise<void>;
  /** Creates a ConfigMap; on 409 AlreadyExists returns the existing one with `created: false`. */
  createConfigMap(
    namespace: string,
    body: { metadata: NewObjectMeta; data: Record<string, string> },
  ): Promise<{ created: boolean; object: { metadata: ObjectMeta; data?: Record<string, string> } }>;
  /** Pods matching the selector (the restore releases the ones it gated). */
  listPods(namespace: string, labelSelector?: string): Promise<KubeObject[]>;
  /** JSON merge patch of one Pod. */
  patchPod(namespace: string, name: string, patch: Record<string, unknown>): Promise<void>;
}
