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
import { type ClusterEndpoint, KubeHttp } from "./kube-http.ts";

/**
 * `KubeOps` (and the drill's `DrillKube`) as Kubernetes REST calls: the paths of the API conventions
 * (`/api/v1/namespaces/{ns}/{resource}/{name}`, `/apis/{group}/{version}/…`), lists paged with
 * `limit`/`continue`, JSON merge patches, and discovery to find a kind's resource name. The wire is
 * `kube-http.ts`; the Kubernetes API simulator (packages/sim/src/kube), itself checked against the real
 * `kubectl`, answers these calls in the tests.
 */

const VELERO = "velero.io/v1";
const MERGE_PATCH = "application/merge-patch+json";
const PAGE = 500;

interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const segment = encodeURIComponent;

/** The REST path of a resource, or of one object when `name` is given. */
function resourcePath(apiVersion: string, plural: string, namespace?: string, name?: string): string {
  const root = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const scope = namespace === undefined ? "" : `/namespaces/${segment(namespace)}`;
  return `${root}${scope}/${segment(plural)}${name === undefined ? "" : `/${segment(name)}`}`;
}

function groupVersionPath(apiVersion: string): string {
  return apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
}

export class RestKubeOps implements KubeOps, DrillKube {
  private readonly http: KubeHttp;
  /** Discovery per apiVersion (a failed lookup is not kept, so it is asked again next time). */
  private readonly discovered = new Map<string, Promise<ApiResource[]>>();

  constructor(endpoint: ClusterEndpoint, token: () => Promise<string>) {
    this.http = new KubeHttp(endpoint, token);
  }

  private async orUndefined<T>(run: () => Promise<T>): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  private get<T>(what: string, path: string): Promise<T | undefined> {
    return this.orUndefined(() => this.http.request(what, { method: "GET", path }) as Promise<T>);
  }

  /** Every item of a list, page by page (`limit`, then `continue` until the server gives none). */
  private async list<T>(what: string, path: string, labelSelector?: string): Promise<T[]> {
    const items: T[] = [];
    let token: string | undefined;
    do {
      const page = (await this.http.request(what, {
        method: "GET",
        path,
        query: { labelSelector: labelSelector || undefined, limit: PAGE, continue: token },
      })) as { items?: T[]; metadata?: { continue?: string } } | undefined;
      items.push(...(page?.items ?? []));
      token = page?.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  private mergePatch<T>(what: string, path: string, body: unknown): Promise<T> {
    return this.http.request(what, { method: "PATCH", path, body, contentType: MERGE_PATCH }) as Promise<T>;
  }

  /** Creates `object` (`configmap ns/name`); on 409 AlreadyExists reads the existing one instead. */
  private async create<T>(object: string, path: string, name: string, body: unknown) {
    try {
      const created = await this.http.request(`Create ${object}`, { method: "POST", path, body });
      return { created: true, object: created as T };
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 409) {
        const existing = await this.get<T>(`Get ${object}`, `${path}/${segment(name)}`);
        if (existing) return { created: false, object: existing };
      }
      throw error;
    }
  }

  /** The resource serving `kind` in `apiVersion`, from the server's discovery document. */
  private async resourceFor(apiVersion: string, kind: string): Promise<ApiResource> {
    let resources = this.discovered.get(apiVersion);
    if (!resources) {
      resources = (async () => {
        const doc = (await this.http.request(`Discover ${apiVersion}`, {
          method: "GET",
          path: groupVersionPath(apiVersion),
        })) as { resources?: ApiResource[] } | undefined;
        return doc?.resources ?? [];
      })();
      this.discovered.set(apiVersion, resources);
      resources.catch(() => this.discovered.delete(apiVersion));
    }
    // Subresources (`deployments/status`) share their parent's kind.
    const found = (await resources).find((r) => r.kind === kind && !r.name.includes("/"));
    if (!found) {
      throw new KubeApiError(
        `cluster ${this.http.endpoint.name} does not serve ${kind} in ${apiVersion} (HTTP 404 NotFound)`,
        404,
        "NotFound",
      );
    }
    return found;
  }

  private async objectPath(apiVersion: string, kind: string, namespace?: string, name?: string) {
    const resource = await this.resourceFor(apiVersion, kind);
    return resourcePath(apiVersion, resource.name, resource.namespaced ? namespace : undefined, name);
  }

  async veleroApiServed(): Promise<boolean> {
    const list = await this.get<{ resources?: ApiResource[] }>(
      `Discover ${VELERO}`,
      groupVersionPath(VELERO),
    );
    return (list?.resources ?? []).some((r) => r.name === "backups");
  }

  getVelero(plural: VeleroPlural, namespace: string, name: string): Promise<KubeObject | undefined> {
    return this.get(
      `Get ${plural}.velero.io ${namespace}/${name}`,
      resourcePath(VELERO, plural, namespace, name),
    );
  }

  listVelero(plural: VeleroPlural, namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    return this.list(
      `List ${plural}.velero.io in ${namespace}`,
      resourcePath(VELERO, plural, namespace),
      labelSelector,
    );
  }

  createVelero(
    plural: VeleroPlural,
    namespace: string,
    body: KubeObject,
  ): Promise<{ created: boolean; object: KubeObject }> {
    const name = body.metadata.name;
    return this.create(
      `${plural}.velero.io ${namespace}/${name}`,
      resourcePath(VELERO, plural, namespace),
      name,
      body,
    );
  }

  getDeployment(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.get(
      `Get deployment ${namespace}/${name}`,
      resourcePath("apps/v1", "deployments", namespace, name),
    );
  }

  getStatefulSet(namespace: string, name: string): Promise<Deployment | undefined> {
    return this.get(
      `Get statefulset ${namespace}/${name}`,
      resourcePath("apps/v1", "statefulsets", namespace, name),
    );
  }

  listWorkloads(plural: WorkloadPlural, namespace: string, labelSelector?: string): Promise<Deployment[]> {
    return this.list(
      `List ${plural} in ${namespace}`,
      resourcePath("apps/v1", plural, namespace),
      labelSelector,
    );
  }

  patchWorkload(
    plural: WorkloadPlural,
    namespace: string,
    name: string,
    patch: Record<string, unknown>,
  ): Promise<Deployment> {
    return this.mergePatch(
      `Patch ${plural} ${namespace}/${name}`,
      resourcePath("apps/v1", plural, namespace, name),
      patch,
    );
  }

  async getSecretData(namespace: string, name: string): Promise<Record<string, string> | undefined> {
    const secret = await this.get<{ data?: Record<string, string> }>(
      `Get secret ${namespace}/${name}`,
      resourcePath("v1", "secrets", namespace, name),
    );
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
    await this.mergePatch(
      `Patch secret ${namespace}/${name}`,
      resourcePath("v1", "secrets", namespace, name),
      {
        data: encoded,
      },
    );
  }

  createConfigMap(
    namespace: string,
    body: { metadata: NewObjectMeta; data: Record<string, string> },
  ): Promise<{ created: boolean; object: { metadata: ObjectMeta; data?: Record<string, string> } }> {
    return this.create(
      `configmap ${namespace}/${body.metadata.name}`,
      resourcePath("v1", "configmaps", namespace),
      body.metadata.name,
      { apiVersion: "v1", kind: "ConfigMap", metadata: { ...body.metadata, namespace }, data: body.data },
    );
  }

  listPods(namespace: string, labelSelector?: string): Promise<KubeObject[]> {
    return this.listObjects("v1", "Pod", namespace, labelSelector);
  }

  async patchPod(namespace: string, name: string, patch: Record<string, unknown>): Promise<void> {
    await this.mergePatch(
      `Patch pod ${namespace}/${name}`,
      resourcePath("v1", "pods", namespace, name),
      patch,
    );
  }

  async listObjects(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    labelSelector?: string,
  ): Promise<KubeObject[]> {
    const what = `List ${kind} in ${namespace ?? "the cluster"}`;
    return this.list(what, await this.objectPath(apiVersion, kind, namespace), labelSelector);
  }

  async deleteObject(
    apiVersion: string,
    kind: string,
    namespace: string | undefined,
    name: string,
  ): Promise<boolean> {
    const what = `Delete ${kind} ${namespace ? `${namespace}/${name}` : name}`;
    const path = await this.objectPath(apiVersion, kind, namespace, name);
    try {
      await this.http.request(what, { method: "DELETE", path });
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  }
}
