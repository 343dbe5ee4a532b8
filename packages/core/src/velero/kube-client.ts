import {
  ApiException,
  AppsV1Api,
  CustomObjectsApi,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { DrillKube } from "../drill/kube.ts";
import { rememberSecretValues } from "../notify/secrets.ts";
import { KubeApiError } from "./errors.ts";
import type {
  Deployment,
  KubeObject,
  KubeOps,
  NewObjectMeta,
  ObjectMeta,
  VeleroPlural,
  WorkloadPlural,
} from "./kube.ts";

/**
 * `KubeOps` on `@kubernetes/client-node`: the one file that knows the client library. The KubeConfig
 * is built in memory from the cluster's endpoint and CA and a bearer token; `token()` is asked before
 * every request and rebuilds the clients when it hands out a new token (EKS tokens last 15 minutes).
 */

export interface ClusterEndpoint {
  readonly name: string;
  /** `https://…` API server endpoint. */
  readonly server: string;
  /** Base64 PEM of the cluster CA (as EKS `DescribeCluster` returns it). */
  readonly caData: string;
}

const GROUP = "velero.io";
const VERSION = "v1";

interface Clients {
  readonly token: string;
  readonly custom: CustomObjectsApi;
  readonly apps: AppsV1Api;
  /** Secrets and ConfigMaps through the generic object API (CoreV1Api would add ~0.6 MB to every bundle). */
  readonly objects: KubernetesObjectApi;
}

/** Reads the Kubernetes `Status` from an ApiException body (a JSON string or an object). */
function statusOf(error: ApiException<unknown>): { reason: string; message: string } {
  let body: unknown = error.body;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body);
    } catch {
      // not JSON
    }
  }
  const status = body as { reason?: string; message?: string } | undefined;
  // client-node 2.0.1 drops the body of a 401 (its Status is always reason Unauthorized).
  if (status === undefined && error.code === 401) return { reason: "Unauthorized", message: "Unauthorized" };
  return { reason: status?.reason ?? `HTTP_${error.code}`, message: status?.message ?? error.message };
}

/**
 * Turns a client-node failure into `KubeApiError`, with what to fix for 401 and 403. The one place that
 * recognises `@kubernetes/client-node`'s own errors (`ApiException`, network errors), which are not AWS
 * SDK errors: everywhere else a Kubernetes failure is a `KubeApiError`, recognised with `instanceof` and
 * its HTTP `status`.
 */
export function kubeError(error: unknown, what: string, cluster: string): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    const { reason, message } = statusOf(error);
    const hint =
      error.code === 401
        ? " — the cluster does not accept the function's identity: check the EKS access entry for its role"
        : error.code === 403
          ? " — apply deploy/rbac.yaml (kubectl apply -f deploy/rbac.yaml) so the gitpod-dr group may do this"
          : "";
    return new KubeApiError(
      `${what} on cluster ${cluster}: ${message} (HTTP ${error.code} ${reason})${hint}`,
      error.code,
      reason,
      {
        cause: error,
      },
    );
  }
  const code =
    (error as { code?: string; cause?: { code?: string } }).code ??
    (error as { cause?: { code?: string } }).cause?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new KubeApiError(
    `${what} on cluster ${cluster}: ${message}${code ? ` (${code})` : ""}`,
    0,
    code ?? "NetworkError",
    {
      cause: error,
    },
  );
}

export class ClientNodeKubeOps implements KubeOps, DrillKube {
  private clients: Clients | undefined;

  constructor(
    private readonly endpoint: ClusterEndpoint,
    /** The current bearer token (cached by the caller until shortly before it expires). */
    private readonly token: () => Promise<string>,
  ) {}

  private async api(): Promise<Clients> {
    const token = await this.token();
    if (this.clients?.token === token) return this.clients;
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [
        {
          name: this.endpoint.name,
          server: this.endpoint.server,
          caData: this.endpoint.caData,
          skipTLSVerify: false,
        },
      ],
      users: [{ name: "gitpod-dr", token }],
      contexts: [{ name: "gitpod-dr", cluster: this.endpoint.name, user: "gitpod-dr" }],
      currentContext: "gitpod-dr",
    });
    this.clients = {
      token,
      custom: kc.makeApiClient(CustomObjectsApi),
      apps: kc.makeApiClient(AppsV1Api),
      objects: KubernetesObjectApi.makeApiClient(kc),
    };
    return this.clients;
  }

  private async call<T>(what: string, run: (clients: Clients) => Promise<T>): Promise<T> {
    const clients = await this.api();
    try {
      return await run(clients);
    } catch (error) {
      throw kubeError(error, what, this.endpoint.name);
    }
  }

  private async orUndefined<T>(what: string, run: (clients: Clients) => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(what, run);
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async veleroApiServed(): Promise<boolean> {
    const list = await this.orUndefined("Discover velero.io/v1", (c) =>
      c.custom.getAPIResources({ group: GROUP, version: VERSION }),
    );
    return list !== undefined && (list.resources ?? []).some((r) => r.name === "backups");
  }

  getVelero(plural: VeleroPlural, namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.orUndefined(`Get ${plural}.velero.io ${namespace}/${name}`, (c) =>
      c.custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name }),
    ) as Promise<KubeObject | undefined>;
  }

  async listVelero(plural: VeleroPlural, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let _continue: string | undefined;
    do {
      const page = (await this.call(`List ${plural}.velero.io in ${namespace}`, (c) =>
        c.custom.listNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace,
          plural,
          limit: 500,
          ...(labelSelector ? { labelSelector } : {}),
          ...(_continue ? { _continue } : {}),
        }),
      )) as { items?: KubeObject[]; metadata?: { continue?: string } };
      items.push(...(page.items ?? []));
      _continue = page.metadata?.continue || undefined;
    } while (_continue);
    return items;
  }

  async createVelero(
    plural: VeleroPlural,
    namespace: string,
    body: KubeObject,
  ): Promise<{ created: boolean; object: KubeObject }> {
    try {
      const object = (await this.call(`Create ${plural}.velero.io ${namespace}/${body.metadata.name}`, (c) =>
        c.custom.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body }),
      )) as KubeObject;
      return { created: true, object };
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) {
        const existing = await this.getVelero(plural, namespace, body.metadata.name);
        if (existing) return { created: false, object: existing };
      }
      throw error;
    }
  }

  getDeployment(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.orUndefined(`Get deployment ${namespace}/${name}`, (c) =>
      c.apps.readNamespacedDeployment({ namespace, name }),
    ) as Promise<Deployment | undefined>;
  }

  getStatefulSet(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.orUndefined(`Get statefulset ${namespace}/${name}`, (c) =>
      c.apps.readNamespacedStatefulSet({ namespace, name }),
    ) as Promise<Deployment | undefined>;
  }

  async listWorkloads(
    plural: WorkloadPlural,
    namespace: string,
    labelSelector?: string,
  ): Promise<Deployment[]> {
    const selector = labelSelector ? { labelSelector } : {};
    const list = await this.call(`List ${plural} in ${namespace}`, (c) =>
      plural === "deployments"
        ? c.apps.listNamespacedDeployment({ namespace, ...selector })
        : c.apps.listNamespacedStatefulSet({ namespace, ...selector }),
    );
    return (list.items ?? []) as unknown as Deployment[];
  }

  async patchWorkload(
    plural: WorkloadPlural,
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
  ): Promise<Deployment> {
    const merge = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
    return (await this.call(`Patch ${plural} ${namespace}/${name}`, (c) =>
      plural === "deployments"
        ? c.apps.patchNamespacedDeployment({ namespace, name, body: patch }, merge)
        : c.apps.patchNamespacedStatefulSet({ namespace, name, body: patch }, merge),
    )) as unknown as Deployment;
  }

  async getSecretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const secret = (await this.orUndefined(`Get secret ${namespace}/${name}`, (c) =>
      c.objects.read({ apiVersion: "v1", kind: "Secret", metadata: { namespace, name } }),
    )) as { data?: Record<string, string> } | undefined;
    if (!secret) return undefined;
    const data = Object.fromEntries(
      Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
    );
    // The database password, the kotsadm auth string: removed from any message that quotes them.
    rememberSecretValues(data);
    return data;
  }

  async patchSecretData(namespace: string, name: string, data: Record<string, string>): Promise<void> {
    const encoded = Object.fromEntries(
      Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "utf8").toString("base64")]),
    );
    await this.call(`Patch secret ${namespace}/${name}`, (c) =>
      c.objects.patch(
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { namespace, name },
          data: encoded,
        } as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  async createConfigMap(
    namespace: string,
    body: { metadata: NewObjectMeta; data: Record<string, string> },
  ): Promise<{ created: boolean; object: { metadata: ObjectMeta; data?: Record<string, string> } }> {
    const what = `Create configmap ${namespace}/${body.metadata.name}`;
    try {
      const object = await this.call(what, (c) =>
        c.objects.create({
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { ...body.metadata, namespace },
          data: body.data,
        } as KubernetesObject),
      );
      return { created: true, object: object as unknown as { metadata: ObjectMeta } };
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) {
        const existing = await this.orUndefined(`Get configmap ${namespace}/${body.metadata.name}`, (c) =>
          c.objects.read({
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: { namespace, name: body.metadata.name },
          }),
        );
        if (existing) return { created: false, object: existing as unknown as { metadata: ObjectMeta } };
      }
      throw error;
    }
  }

  async listPods(namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`List pods in ${namespace}`, (c) =>
        c.objects.list(
          "v1",
          "Pod",
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
          500,
          token,
        ),
      );
      items.push(...((page.items ?? []) as unknown as KubeObject[]));
      token = page.metadata?._continue || undefined;
    } while (token);
    return items;
  }

  async patchPod(namespace: string, name: string, patch: Record<string, unknown>): Promise<void> {
    await this.call(`Patch pod ${namespace}/${name}`, (c) =>
      c.objects.patch(
        { apiVersion: "v1", kind: "Pod", metadata: { namespace, name }, ...patch } as KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        PatchStrategy.MergePatch,
      ),
    );
  }

  async listObjects(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.call(`List ${kind} in ${namespace ?? "the cluster"}`, (c) =>
        c.objects.list(
          apiVersion,
          kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          labelSelector,
          500,
          token,
        ),
      );
      items.push(...((page.items ?? []) as unknown as KubeObject[]));
      token = page.metadata?._continue || undefined;
    } while (token);
    return items;
  }

  async deleteObject(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<boolean> {
    const where = namespace ? `${namespace}/${name}` : name;
    const deleted = await this.orUndefined(`Delete ${kind} ${where}`, (c) =>
      c.objects.delete({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } }),
    );
    return deleted !== undefined;
  }
}
