/**
 * Self-test of the Kubernetes API server SIMULATOR (packages/sim/src/kube/server.ts): drives it with the
 * real `@kubernetes/client-node` 2.0.1 over HTTPS, so the simulator's wire format, error shapes and the
 * client's quirks (how errors surface, which Content-Type a patch gets) are pinned down here.
 */

import https from "node:https";
import {
  ApiException,
  ApisApi,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  VersionApi,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type KubeApi,
  type KubeUser,
  loadRbac,
  namespaceObject,
  startKubeApi,
} from "../../packages/sim/src/kube/server.ts";

const ADMIN: KubeUser = { name: "admin", groups: ["system:masters", "system:authenticated"] };
const DR: KubeUser = {
  name: "gitpod-dr-fn",
  groups: ["gitpod-dr", "gitpod-dr-restore", "system:authenticated"],
};
const TOKENS: Record<string, KubeUser> = { t: ADMIN, dr: DR };

const NOW = "2025-03-01T12:00:00Z";
const VELERO = { group: "velero.io", version: "v1" } as const;

function kubeConfig(api: KubeApi, token: string, caData: string | undefined = api.caData): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: api.url, ...(caData ? { caData } : {}) }],
    users: [{ name: "u", token }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

/** The rejection of `promise`, which must be an ApiException. */
async function apiError(promise: Promise<unknown>): Promise<ApiException<unknown>> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApiException);
  return error as ApiException<unknown>;
}

/** client-node 2.0.1 puts the raw response text in `body` (a string) for every non-401 error. */
function statusOf(error: ApiException<unknown>): { reason: string; code: number; message: string } {
  expect(typeof error.body).toBe("string");
  return JSON.parse(error.body as string);
}

const backup = (name: string, labels: Record<string, string> = {}) => ({
  apiVersion: "velero.io/v1",
  kind: "Backup",
  metadata: { name, namespace: "velero", labels },
  spec: { includedNamespaces: ["gitpod"], ttl: "24h0m0s", storageLocation: "default" },
});

const deployment = (namespace: string, name: string, replicas: number) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name, namespace, labels: { app: name } },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name, image: `example.com/${name}:1.0.0` }] },
    },
  },
  status: {
    observedGeneration: 1,
    replicas,
    updatedReplicas: replicas,
    readyReplicas: replicas,
    availableReplicas: replicas,
  },
});

describe("kube API simulator with @kubernetes/client-node", () => {
  let api: KubeApi;
  let custom: CustomObjectsApi;
  let apps: AppsV1Api;
  let drCustom: CustomObjectsApi;
  let drApps: AppsV1Api;

  beforeAll(async () => {
    api = await startKubeApi({
      authenticate: (token) => TOKENS[token],
      rbac: [...loadRbac(), ...loadRbac("deploy/rbac-restore.yaml")],
    });
    for (const name of ["velero", "gitpod"]) api.store.put(namespaceObject(name));
    custom = kubeConfig(api, "t").makeApiClient(CustomObjectsApi);
    apps = kubeConfig(api, "t").makeApiClient(AppsV1Api);
    drCustom = kubeConfig(api, "dr").makeApiClient(CustomObjectsApi);
    drApps = kubeConfig(api, "dr").makeApiClient(AppsV1Api);
  });
  afterAll(async () => {
    await api.stop();
  });
  beforeEach(() => {
    api.store.setNow(NOW);
  });

  it("creates a Backup (201), then 409 AlreadyExists as an ApiException with a Status body", async () => {
    const created = await custom.createNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      body: backup("b-create"),
    });
    expect(created.metadata).toMatchObject({
      name: "b-create",
      namespace: "velero",
      generation: 1,
      creationTimestamp: NOW,
    });
    expect(created.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.metadata.resourceVersion).toMatch(/^\d+$/);
    expect(created.status).toBeUndefined();
    expect(api.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/apis/velero.io/v1/namespaces/velero/backups",
      user: "admin",
      status: 201,
      contentType: "application/json",
    });

    const error = await apiError(
      custom.createNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "backups",
        body: backup("b-create"),
      }),
    );
    expect(error.code).toBe(409);
    expect(statusOf(error)).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'backups.velero.io "b-create" already exists',
      reason: "AlreadyExists",
      details: { name: "b-create", group: "velero.io", kind: "backups" },
      code: 409,
    });
  });

  it("gets a Backup, and 404 NotFound for a missing one", async () => {
    api.store.put(backup("b-get"));
    const got = await custom.getNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      name: "b-get",
    });
    expect(got).toMatchObject({ apiVersion: "velero.io/v1", kind: "Backup", metadata: { name: "b-get" } });

    const error = await apiError(
      custom.getNamespacedCustomObject({ ...VELERO, namespace: "velero", plural: "backups", name: "nope" }),
    );
    expect(error.code).toBe(404);
    expect(statusOf(error)).toMatchObject({
      reason: "NotFound",
      message: 'backups.velero.io "nope" not found',
    });
  });

  it("lists with labelSelector (=, !=, in, notin, exists, !key), cluster-wide and in pages", async () => {
    api.store.put(backup("l-1", { suite: "list", tier: "a", daily: "yes" }));
    api.store.put(backup("l-2", { suite: "list", tier: "b" }));
    api.store.put(backup("l-3", { suite: "list", tier: "c", daily: "yes" }));
    api.store.put({
      ...backup("l-4", { suite: "list", tier: "a" }),
      metadata: { name: "l-4", namespace: "other", labels: { suite: "list", tier: "a" } },
    });
    const names = async (labelSelector: string) => {
      const list = await custom.listNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "backups",
        labelSelector,
      });
      expect(list).toMatchObject({ kind: "BackupList", apiVersion: "velero.io/v1" });
      expect(list.metadata.resourceVersion).toMatch(/^\d+$/);
      return (list.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    };
    expect(await names("suite=list")).toEqual(["l-1", "l-2", "l-3"]);
    expect(await names("suite==list,tier!=a")).toEqual(["l-2", "l-3"]);
    expect(await names("suite=list,tier in (a, c)")).toEqual(["l-1", "l-3"]);
    expect(await names("suite=list,tier notin (a,c)")).toEqual(["l-2"]);
    expect(await names("suite=list,daily")).toEqual(["l-1", "l-3"]);
    expect(await names("suite=list,!daily")).toEqual(["l-2"]);
    expect(api.requests.at(-1)?.query).toBe("labelSelector=suite%3Dlist%2C%21daily");

    const error = await apiError(
      custom.listNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "backups",
        labelSelector: "a in b",
      }),
    );
    expect(error.code).toBe(400);
    expect(statusOf(error).reason).toBe("BadRequest");

    const all = await custom.listClusterCustomObject({
      ...VELERO,
      plural: "backups",
      labelSelector: "tier=a",
    });
    expect(all.items.map((i: { metadata: { namespace: string } }) => i.metadata.namespace)).toEqual([
      "other",
      "velero",
    ]);

    const page1 = await custom.listNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      labelSelector: "suite=list",
      limit: 2,
    });
    expect(page1.items).toHaveLength(2);
    expect(page1.metadata.remainingItemCount).toBe(1);
    const page2 = await custom.listNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      labelSelector: "suite=list",
      limit: 2,
      _continue: page1.metadata.continue,
    });
    expect(page2.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual(["l-3"]);
    expect(page2.metadata.continue).toBeUndefined();
  });

  it("serves discovery: /apis, /apis/velero.io/v1, /apis/apps/v1, /version", async () => {
    const groups = await kubeConfig(api, "dr").makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(["apps", "authorization.k8s.io", "velero.io"]);
    const velero = await drCustom.getAPIResources({ group: "velero.io", version: "v1" });
    expect(velero.groupVersion).toBe("velero.io/v1");
    expect(velero.resources.map((r) => [r.name, r.kind, r.namespaced])).toEqual([
      ["backups", "Backup", true],
      ["restores", "Restore", true],
      ["backupstoragelocations", "BackupStorageLocation", true],
      ["schedules", "Schedule", true],
      ["podvolumebackups", "PodVolumeBackup", true],
    ]);
    const appsResources = await drApps.getAPIResources();
    expect(appsResources.resources.map((r) => r.name)).toEqual(["deployments", "statefulsets"]);
    const version = await kubeConfig(api, "dr").makeApiClient(VersionApi).getCode();
    expect(version.major).toBe("1");
  });

  it("patches a Deployment: merge and strategic merge via setHeaderOptions, JSON patch by default", async () => {
    api.store.put(deployment("gitpod", "server", 2));
    const restartedAt = { "kubectl.kubernetes.io/restartedAt": NOW };
    const merged = await apps.patchNamespacedDeployment(
      {
        namespace: "gitpod",
        name: "server",
        body: { spec: { template: { metadata: { annotations: restartedAt } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(api.requests.at(-1)).toMatchObject({
      method: "PATCH",
      status: 200,
      contentType: PatchStrategy.MergePatch,
    });
    expect(merged.metadata?.generation).toBe(2);
    expect(merged.spec?.template.metadata?.annotations).toEqual(restartedAt);
    expect(merged.spec?.template.spec?.containers[0]?.image).toBe("example.com/server:1.0.0");

    await apps.patchNamespacedDeployment(
      { namespace: "gitpod", name: "server", body: { metadata: { labels: { touched: "yes" } } } },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
    expect(api.requests.at(-1)?.contentType).toBe("application/strategic-merge-patch+json");
    expect(api.store.get("apps/v1", "Deployment", "gitpod", "server")?.metadata).toMatchObject({
      generation: 2, // metadata only: no new generation
      labels: { app: "server", touched: "yes" },
    });

    // Without the header option client-node 2.0.1 sends application/json-patch+json: an object body is
    // then a malformed JSON patch (400), and an array of operations is what works.
    const wrong = await apiError(
      apps.patchNamespacedDeployment({
        namespace: "gitpod",
        name: "server",
        body: { spec: { replicas: 3 } },
      }),
    );
    expect(api.requests.at(-1)?.contentType).toBe("application/json-patch+json");
    expect(wrong.code).toBe(400);
    const patched = await apps.patchNamespacedDeployment({
      namespace: "gitpod",
      name: "server",
      body: [
        { op: "test", path: "/spec/replicas", value: 2 },
        { op: "replace", path: "/spec/replicas", value: 3 },
      ],
    });
    expect(patched.spec?.replicas).toBe(3);
    expect(patched.metadata?.generation).toBe(3);
    const failedTest = await apiError(
      apps.patchNamespacedDeployment({
        namespace: "gitpod",
        name: "server",
        body: [{ op: "test", path: "/spec/replicas", value: 2 }],
      }),
    );
    expect(failedTest.code).toBe(422);

    // Server-side apply is not simulated: 415.
    const apply = await apiError(
      apps.patchNamespacedDeployment(
        { namespace: "gitpod", name: "server", body: { spec: {} } },
        setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
      ),
    );
    expect(apply.code).toBe(415);
    expect(statusOf(apply).reason).toBe("UnsupportedMediaType");
    // Strategic merge patch is not accepted for custom resources (as on a real API server).
    api.store.put(backup("b-smp"));
    const smp = await apiError(
      custom.patchNamespacedCustomObject(
        {
          ...VELERO,
          namespace: "velero",
          plural: "backups",
          name: "b-smp",
          body: { metadata: { labels: { a: "b" } } },
        },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      ),
    );
    expect(smp.code).toBe(415);
  });

  it("answers 401 Unauthorized to an unknown token (client-node: ApiException, body undefined)", async () => {
    const error = await apiError(
      kubeConfig(api, "wrong")
        .makeApiClient(CustomObjectsApi)
        .getNamespacedCustomObject({ ...VELERO, namespace: "velero", plural: "backups", name: "x" }),
    );
    expect(error.code).toBe(401);
    expect(error.body).toBeUndefined();
    expect(api.requests.at(-1)?.status).toBe(401);
    expect(api.requests.at(-1)?.user).toBeUndefined();
  });

  it("enforces deploy/rbac.yaml for the gitpod-dr group (403 Forbidden)", async () => {
    api.store.put(backup("b-rbac"));
    api.store.put(deployment("velero", "velero", 1));
    api.store.put(deployment("velero", "other", 1));
    api.store.put(deployment("gitpod", "proxy", 1));

    const del = await apiError(
      drCustom.deleteNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "backups",
        name: "b-rbac",
      }),
    );
    expect(del.code).toBe(403);
    expect(statusOf(del)).toMatchObject({
      reason: "Forbidden",
      message:
        'backups.velero.io "b-rbac" is forbidden: User "gitpod-dr-fn" cannot delete resource "backups" in API group "velero.io" in the namespace "velero"',
      details: { name: "b-rbac", group: "velero.io", kind: "backups" },
    });
    // Allowed by RBAC: deleted.
    await custom.deleteNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      name: "b-rbac",
    });
    expect(api.store.get("velero.io/v1", "Backup", "velero", "b-rbac")).toBeUndefined();

    const patchVelero = await apiError(
      drApps.patchNamespacedDeployment(
        { namespace: "velero", name: "velero", body: { metadata: { labels: { x: "y" } } } },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      ),
    );
    expect(patchVelero.code).toBe(403);

    // resourceNames: get of deployments/velero only; no list, no other name.
    expect(
      (await drApps.readNamespacedDeployment({ namespace: "velero", name: "velero" })).metadata?.name,
    ).toBe("velero");
    expect(
      (await apiError(drApps.readNamespacedDeployment({ namespace: "velero", name: "other" }))).code,
    ).toBe(403);
    const list = await apiError(drApps.listNamespacedDeployment({ namespace: "velero" }));
    expect(statusOf(list).message).toBe(
      'deployments.apps is forbidden: User "gitpod-dr-fn" cannot list resource "deployments" in API group "apps" in the namespace "velero"',
    );

    // What the role does allow.
    await drCustom.createNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      body: backup("b-dr"),
    });
    await drCustom.listNamespacedCustomObject({ ...VELERO, namespace: "velero", plural: "backups" });
    const inGitpod = await drApps.listNamespacedDeployment({
      namespace: "gitpod",
      labelSelector: "app=proxy",
    });
    expect(inGitpod.items.map((d) => d.metadata?.name)).toEqual(["proxy"]);
    expect(inGitpod.items[0]?.kind).toBeUndefined(); // built-in list items carry no kind on the wire
    await drApps.patchNamespacedDeployment(
      {
        namespace: "gitpod",
        name: "proxy",
        body: { spec: { template: { metadata: { annotations: { a: "b" } } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    // Cluster-wide list needs a ClusterRoleBinding.
    const clusterList = await apiError(drCustom.listClusterCustomObject({ ...VELERO, plural: "backups" }));
    expect(statusOf(clusterList).message).toContain("at the cluster scope");
    expect(
      (
        await apiError(
          drCustom.listNamespacedCustomObject({ ...VELERO, namespace: "gitpod", plural: "backups" }),
        )
      ).code,
    ).toBe(403);
  });

  it("ticks a Backup New → InProgress → Completed, and follows plans", async () => {
    await custom.createNamespacedCustomObject({
      ...VELERO,
      namespace: "velero",
      plural: "backups",
      body: backup("b-tick"),
    });
    const phase = async (name: string, plural = "backups") =>
      (await custom.getNamespacedCustomObject({ ...VELERO, namespace: "velero", plural, name })).status;
    expect(await phase("b-tick")).toBeUndefined();
    api.velero.tick();
    expect(await phase("b-tick")).toMatchObject({
      phase: "InProgress",
      startTimestamp: NOW,
      expiration: "2025-03-02T12:00:00Z",
      progress: { itemsBackedUp: 0, totalItems: 10 },
    });
    api.store.advance(60_000);
    api.velero.tick();
    expect(await phase("b-tick")).toMatchObject({
      phase: "Completed",
      completionTimestamp: "2025-03-01T12:01:00Z",
      progress: { itemsBackedUp: 10, totalItems: 10 },
    });
    api.velero.tick();
    expect((await phase("b-tick"))?.phase).toBe("Completed");

    api.velero.planBackup("b-partial", [
      { phase: "InProgress" },
      {
        phase: "PartiallyFailed",
        status: { errors: 2, warnings: 5, failureReason: "volume snapshot failed" },
      },
    ]);
    api.velero.planBackup("b-stuck", [{ phase: "InProgress" }]);
    for (const name of ["b-partial", "b-stuck"]) {
      await custom.createNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "backups",
        body: backup(name),
      });
    }
    for (let i = 0; i < 5; i++) api.velero.tick();
    expect(await phase("b-partial")).toMatchObject({ phase: "PartiallyFailed", errors: 2, warnings: 5 });
    expect((await phase("b-stuck"))?.phase).toBe("InProgress");
    api.velero.setPhase("Backup", "velero", "b-stuck", "Failed", { failureReason: "boom" });
    expect(await phase("b-stuck")).toMatchObject({ phase: "Failed", failureReason: "boom" });
    api.velero.tick();
    expect((await phase("b-stuck"))?.phase).toBe("Failed");

    // Restore: default plan, validated against its backup.
    for (const [name, backupName] of [
      ["r-ok", "b-tick"],
      ["r-missing", "nope"],
    ]) {
      await custom.createNamespacedCustomObject({
        ...VELERO,
        namespace: "velero",
        plural: "restores",
        body: { apiVersion: "velero.io/v1", kind: "Restore", metadata: { name }, spec: { backupName } },
      });
    }
    api.velero.tick();
    api.velero.tick();
    expect(await phase("r-ok", "restores")).toMatchObject({
      phase: "Completed",
      progress: { itemsRestored: 10, totalItems: 10 },
    });
    expect(await phase("r-missing", "restores")).toMatchObject({
      phase: "FailedValidation",
      validationErrors: ['Error retrieving backup: backups.velero.io "nope" not found'],
    });
  });

  it("rolls a Deployment out one replica per tick after a template change, and can stall it", async () => {
    api.store.put(deployment("gitpod", "ws-manager", 3));
    api.store.put(deployment("gitpod", "stuck", 2));
    api.velero.stallRollout("gitpod", "stuck");
    const restart = (name: string) =>
      apps.patchNamespacedDeployment(
        {
          namespace: "gitpod",
          name,
          body: {
            spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": NOW } } } },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
    expect((await restart("ws-manager")).metadata?.generation).toBe(2);
    await restart("stuck");
    const status = async (name: string) =>
      (await apps.readNamespacedDeployment({ namespace: "gitpod", name })).status;
    expect((await status("ws-manager"))?.observedGeneration).toBe(1);
    api.velero.tick();
    expect(await status("ws-manager")).toMatchObject({
      observedGeneration: 2,
      updatedReplicas: 1,
      readyReplicas: 3,
    });
    api.velero.tick();
    api.velero.tick();
    const done = await status("ws-manager");
    expect(done).toMatchObject({
      observedGeneration: 2,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(done?.conditions?.find((c) => c.type === "Progressing")?.reason).toBe("NewReplicaSetAvailable");
    expect(await status("stuck")).toMatchObject({
      observedGeneration: 2,
      updatedReplicas: 2,
      readyReplicas: 1,
    });
    api.velero.resumeRollout("gitpod", "stuck");
    api.velero.tick();
    expect((await status("stuck"))?.readyReplicas).toBe(2);

    // A new Deployment counts its ready pods up from zero (zero counters omitted).
    const { status: _status, ...fresh } = deployment("gitpod", "fresh", 2);
    await apps.createNamespacedDeployment({ namespace: "gitpod", body: fresh });
    expect((await status("fresh"))?.readyReplicas).toBeUndefined();
    api.velero.tick();
    expect((await status("fresh"))?.readyReplicas).toBe(1);
    api.velero.tick();
    expect((await status("fresh"))?.readyReplicas).toBe(2);
  });

  it("reads ConfigMaps through the core API", async () => {
    api.store.put({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "cm", namespace: "gitpod" },
      data: { a: "1" },
    });
    const core = kubeConfig(api, "t").makeApiClient(CoreV1Api);
    expect((await core.readNamespacedConfigMap({ namespace: "gitpod", name: "cm" })).data).toEqual({
      a: "1",
    });
  });

  it("answers Status objects on the wire (raw HTTPS, no client library)", async () => {
    const raw = (
      method: string,
      path: string,
      token: string | undefined,
      body?: string,
      contentType?: string,
    ) =>
      new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
        const req = https.request(
          `${api.url}${path}`,
          {
            method,
            ca: api.caPem,
            headers: {
              ...(token ? { Authorization: `Bearer ${token}` } : {}),
              ...(contentType ? { "Content-Type": contentType } : {}),
            },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk) => {
              text += chunk;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    const path = "/apis/velero.io/v1/namespaces/velero/backups";
    expect(await raw("GET", path, undefined)).toEqual({
      status: 401,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: "Unauthorized",
        reason: "Unauthorized",
        details: {},
        code: 401,
      },
    });
    api.store.put(backup("b-raw"));
    const text = await raw("PATCH", `${path}/b-raw`, "t", "{}", "text/plain");
    expect(text.status).toBe(415);
    expect(text.body.reason).toBe("UnsupportedMediaType");
    expect((await raw("PUT", `${path}/b-raw`, "t", "{}", "application/json")).body.reason).toBe("BadRequest");
    // deletecollection is not served (nor advertised).
    expect((await raw("DELETE", path, "t", undefined)).body.reason).toBe("MethodNotAllowed");
    expect((await raw("POST", path, "t", "{not json", "application/json")).body.reason).toBe("BadRequest");
    const stale = await raw(
      "PATCH",
      `${path}/b-raw`,
      "t",
      JSON.stringify({ metadata: { resourceVersion: "1" }, spec: { ttl: "1h" } }),
      "application/merge-patch+json",
    );
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    const ops = [
      { op: "add", path: "/metadata/labels", value: { a: "1" } },
      { op: "copy", from: "/metadata/labels/a", path: "/metadata/labels/b" },
      { op: "move", from: "/metadata/labels/a", path: "/metadata/labels/c" },
      { op: "add", path: "/spec/includedNamespaces/-", value: "velero" },
      { op: "remove", path: "/spec/includedNamespaces/0" },
    ];
    const patched = await raw(
      "PATCH",
      `${path}/b-raw`,
      "t",
      JSON.stringify(ops),
      "application/json-patch+json",
    );
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).toMatchObject({ labels: { b: "1", c: "1" }, generation: 2 });
    expect(patched.body.spec).toMatchObject({ includedNamespaces: ["velero"] });
    expect((await raw("GET", "/apis", "dr")).body.kind).toBe("APIGroupList");
  });

  it("needs the CA: a KubeConfig without caData cannot connect", async () => {
    const error = await kubeConfig(api, "t", "")
      .makeApiClient(CustomObjectsApi)
      .getAPIResources({ group: "velero.io", version: "v1" })
      .then(
        () => undefined,
        (e: unknown) => e as Error & { cause?: { code?: string } },
      );
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ApiException);
    // undici's fetch: TypeError "fetch failed" whose cause has code UNABLE_TO_VERIFY_LEAF_SIGNATURE.
    expect(error?.message).toBe("fetch failed");
    expect(error?.cause?.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
  });
});

describe("kube API simulator without Velero", () => {
  let api: KubeApi;
  beforeAll(async () => {
    api = await startKubeApi({ authenticate: (token) => TOKENS[token], veleroInstalled: false });
  });
  afterAll(async () => {
    await api.stop();
  });

  it("answers 404 for velero.io discovery and resources, and leaves velero.io out of /apis", async () => {
    const kc = kubeConfig(api, "dr");
    const custom = kc.makeApiClient(CustomObjectsApi);
    const discovery = await apiError(custom.getAPIResources({ group: "velero.io", version: "v1" }));
    expect(discovery.code).toBe(404);
    expect(statusOf(discovery)).toMatchObject({
      reason: "NotFound",
      message: "the server could not find the requested resource",
    });
    const list = await apiError(
      custom.listNamespacedCustomObject({ ...VELERO, namespace: "velero", plural: "backups" }),
    );
    expect(list.code).toBe(404);
    const groups = await kc.makeApiClient(ApisApi).getAPIVersions();
    expect(groups.groups.map((g) => g.name)).toEqual(["apps", "authorization.k8s.io"]);
  });
});
