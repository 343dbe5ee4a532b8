/**
 * The restore-side additions to the Kubernetes API SIMULATOR (packages/sim/src/kube/server.ts) and the FAKE
 * kotsadm (packages/sim/src/kube/kotsadm.ts), driven through the real `RestKubeOps` as the restore
 * identity (group gitpod-dr-restore, deploy/rbac-restore.yaml): Secrets with RBAC resourceNames, Velero
 * restores writing a backup's contents through a resource modifier, the store's event log for ordering,
 * and kotsadm's config/values endpoint with its deploy.
 */
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Secret,
} from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { HELD_ANNOTATION, HOLD_GATE, holdModifier } from "../../packages/core/src/restore/hold.ts";
import { KubeApiError } from "../../packages/core/src/velero/errors.ts";
import type { KubeOps } from "../../packages/core/src/velero/kube.ts";
import { RestKubeOps } from "../../packages/core/src/velero/kube-client.ts";
import { type FakeKotsadm, startFakeKotsadm } from "../../packages/sim/src/kube/kotsadm.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  backupContentsOf,
  KOTSADM_AUTHSTRING,
  RESTORE_USER,
  rejection,
  secretData,
  seedBackup,
  seedGitpod,
  seedKotsadmAuth,
  seedSecret,
  seedVelero,
  statefulSet,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const TOKEN = "restore-role-token";
const ADMIN_TOKEN = "admin-token";
const NOW = "2026-11-27T09:00:00Z";
const BACKUP = "gitpod-dr-2026-11-26-0200";
const OLD_DB = { host: "gitpod-db.old.eu-west-1.rds.amazonaws.com", port: "5432", password: "s3cret" };

let api: KubeApi;
let kube: KubeOps;
let admin: CoreV1Api;

beforeEach(async () => {
  api = await startKubeApi({
    authenticate: (token) =>
      token === TOKEN
        ? RESTORE_USER
        : token === ADMIN_TOKEN
          ? { name: "admin", groups: ["system:masters"] }
          : undefined,
    rbac: [...loadRbac(), ...loadRbac("deploy/rbac-restore.yaml")],
  });
  api.store.setNow(NOW);
  seedVelero(api.store);
  kube = new RestKubeOps({ name: "gitpod", server: api.url, caData: api.caData }, async () => TOKEN);
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: api.url, caData: api.caData }],
    users: [{ name: "u", token: ADMIN_TOKEN }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  admin = kc.makeApiClient(CoreV1Api);
});

afterEach(async () => {
  await api.stop();
});

const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const workload = (kind: "Deployment" | "StatefulSet", name: string, namespace = "gitpod") =>
  api.store.get("apps/v1", kind, namespace, name);
const restoreObject = (name: string) => api.store.get("velero.io/v1", "Restore", "velero", name);
const gatesOf = (obj: KubeObject | undefined) =>
  (obj?.spec?.template as { spec?: { schedulingGates?: unknown[] } } | undefined)?.spec?.schedulingGates;

/** The application as it was backed up: Deployments, a StatefulSet, kotsadm and the database Secret. */
function seedApplication(): void {
  seedGitpod(api.store, { kotsadm: true });
  api.store.put(
    statefulSet("gitpod", "minio", { replicas: 1, labels: { app: "gitpod", component: "minio" } }),
  );
  seedSecret(api.store, "gitpod", "database", OLD_DB);
  seedSecret(api.store, "gitpod", "other", { token: "not for gitpod-dr" });
  seedKotsadmAuth(api.store);
}

/** Registers the current `gitpod` namespace as the backup's contents, then empties the namespace. */
function backUpAndWipe(): KubeObject[] {
  const contents = backupContentsOf(api.store, ["gitpod"]);
  api.velero.setBackupContents(BACKUP, contents);
  seedBackup(api.store, BACKUP, { createdAt: "2026-11-26T02:00:05Z", phase: "Completed", ours: true });
  for (const obj of contents) {
    api.store.delete(obj.apiVersion, obj.kind, "gitpod", obj.metadata.name);
  }
  return contents;
}

/**
 * Resource modifiers exercising the simulator's rule engine (a JSON patch, a YAML merge patch, a glob
 * groupResource): scale app=gitpod to zero and annotate it; kotsadm is not matched. (The restore itself
 * holds with a scheduling gate, see the holdModifier test.)
 */
const HOLD_MODIFIERS = stringify({
  version: "v1",
  resourceModifierRules: [
    {
      conditions: {
        groupResource: "deployments.apps",
        namespaces: ["gitpod"],
        labelSelector: { matchLabels: { app: "gitpod" } },
      },
      patches: [{ operation: "replace", path: "/spec/replicas", value: "0" }],
    },
    {
      conditions: { groupResource: "statefulsets.apps", labelSelector: { matchLabels: { app: "gitpod" } } },
      mergePatches: [{ patchData: "spec:\n  replicas: 0\n" }],
    },
    {
      conditions: {
        groupResource: "{deployments,statefulsets}.apps",
        labelSelector: { matchLabels: { app: "gitpod" } },
      },
      mergePatches: [{ patchData: '{"metadata":{"annotations":{"gitpod-dr/held-by":"exec-1"}}}' }],
    },
  ],
});

async function createRestore(
  name: string,
  spec: Record<string, unknown>,
  modifiers?: { name: string; yaml?: string },
): Promise<void> {
  if (modifiers?.yaml !== undefined) {
    await kube.createConfigMap("velero", {
      metadata: { name: modifiers.name },
      data: { "resource-modifiers.yaml": modifiers.yaml },
    });
  }
  await kube.createVelero("restores", "velero", {
    apiVersion: "velero.io/v1",
    kind: "Restore",
    metadata: { name, namespace: "velero" },
    spec: {
      backupName: BACKUP,
      ...spec,
      ...(modifiers ? { resourceModifier: { kind: "ConfigMap", name: modifiers.name } } : {}),
    },
  });
}

describe("Secrets", () => {
  beforeEach(seedApplication);

  it("reads and merge-patches the database Secret through RestKubeOps, recording the change", async () => {
    expect(await kube.getSecretData("gitpod", "database")).toEqual(OLD_DB);
    expect(await kube.getSecretData("gitpod", "kotsadm-authstring")).toEqual({
      "kotsadm-authstring": KOTSADM_AUTHSTRING,
    });

    await kube.patchSecretData("gitpod", "database", { host: "gitpod-db.new.eu-west-1.rds.amazonaws.com" });

    expect(secretData(api.store, "gitpod", "database")).toEqual({
      ...OLD_DB,
      host: "gitpod-db.new.eu-west-1.rds.amazonaws.com",
    });
    const stored = api.store.get("v1", "Secret", "gitpod", "database");
    expect(stored?.data).toMatchObject({ host: b64("gitpod-db.new.eu-west-1.rds.amazonaws.com") });
    expect(stored?.type).toBe("Opaque");
    const patch = api.requests.find((r) => r.method === "PATCH");
    expect(patch).toMatchObject({
      path: "/api/v1/namespaces/gitpod/secrets/database",
      status: 200,
      contentType: "application/merge-patch+json",
    });
    const event = api.store.events.find((e) => e.seq === patch?.event);
    expect(event).toMatchObject({
      verb: "patch",
      actor: RESTORE_USER.name,
      kind: "Secret",
      namespace: "gitpod",
      name: "database",
      patchType: "application/merge-patch+json",
      patch: { data: { host: b64("gitpod-db.new.eu-west-1.rds.amazonaws.com") } },
    });
    expect(event?.previous?.data).toMatchObject({ host: b64(OLD_DB.host) });
    expect(event?.object.metadata.resourceVersion).toBe(stored?.metadata.resourceVersion);
  });

  it("answers 403 for Secrets outside the role's resourceNames (and a patch of the auth string)", async () => {
    const other = await rejection(kube.getSecretData("gitpod", "other"));
    expect(other).toBeInstanceOf(KubeApiError);
    expect(other.status).toBe(403);
    expect(other.message).toContain(
      `secrets "other" is forbidden: User "${RESTORE_USER.name}" cannot get resource "secrets" in API group "" in the namespace "gitpod"`,
    );
    const elsewhere = await rejection(kube.getSecretData("velero", "database"));
    expect(elsewhere.status).toBe(403);
    const authPatch = await rejection(kube.patchSecretData("gitpod", "kotsadm-authstring", { x: "y" }));
    expect(authPatch.status).toBe(403);
    // A Secret that does not exist but is named in the role: 404 → undefined.
    api.store.delete("v1", "Secret", "gitpod", "database");
    expect(await kube.getSecretData("gitpod", "database")).toBeUndefined();
    expect(secretData(api.store, "gitpod", "kotsadm-authstring")).toEqual({
      "kotsadm-authstring": KOTSADM_AUTHSTRING,
    });
  });

  it("folds stringData into base64 data on create and merge patch, and rejects data that is not base64", async () => {
    const created = await admin.createNamespacedSecret({
      namespace: "gitpod",
      body: { metadata: { name: "made" }, data: { a: b64("1") }, stringData: { b: "two", a: "one" } },
    });
    expect(created.data).toEqual({ a: b64("one"), b: b64("two") });
    expect(created).not.toHaveProperty("stringData");
    expect(created.type).toBe("Opaque");

    const patched = await admin.patchNamespacedSecret(
      { namespace: "gitpod", name: "made", body: { stringData: { c: "three" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ a: b64("one"), b: b64("two"), c: b64("three") });
    expect(api.store.get("v1", "Secret", "gitpod", "made")).not.toHaveProperty("stringData");

    const listed = await admin.listNamespacedSecret({ namespace: "gitpod" });
    expect(listed.items.map((s: V1Secret) => s.metadata?.name)).toEqual([
      "database",
      "kotsadm-authstring",
      "made",
      "other",
    ]);

    const error = await admin
      .createNamespacedSecret({
        namespace: "gitpod",
        body: { metadata: { name: "bad" }, data: { a: "not base64!" } },
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ApiException);
    expect((error as ApiException<string>).code).toBe(400);
    expect(JSON.parse((error as ApiException<string>).body).message).toContain("illegal base64 data");
  });
});

describe("Velero restore of a backup's contents", () => {
  beforeEach(() => {
    seedApplication();
    backUpAndWipe();
  });

  it("holds the app=gitpod workloads with the real holdModifier: gated at their backed-up replicas, Pending until released", async () => {
    await createRestore(
      "gitpod-dr-restore-gate-1",
      { includedNamespaces: ["gitpod"] },
      { name: "gitpod-dr-restore-gate-1-hold", yaml: holdModifier("gitpod", { app: "gitpod" }, "gate-1") },
    );
    api.velero.tick(); // InProgress
    api.velero.tick(); // Completed: contents written (the rules for pods, ReplicaSets, Jobs match nothing)

    expect(restoreObject("gitpod-dr-restore-gate-1")?.status).toMatchObject({ phase: "Completed" });
    expect(restoreObject("gitpod-dr-restore-gate-1")?.status).not.toHaveProperty("errors");
    for (const [kind, name, replicas] of [
      ["Deployment", "server", 1],
      ["Deployment", "proxy", 2],
      ["StatefulSet", "minio", 1],
    ] as const) {
      const w = workload(kind, name);
      expect(w?.spec?.replicas, name).toBe(replicas);
      expect(w?.metadata.annotations, name).toEqual({ [HELD_ANNOTATION]: "gate-1" });
      expect(gatesOf(w), name).toEqual([{ name: HOLD_GATE }]);
      // The rest of the template is the backup's.
      expect(
        (w?.spec?.template as { spec?: { containers?: unknown[] } })?.spec?.containers,
        name,
      ).toHaveLength(1);
    }
    expect(workload("Deployment", "kotsadm")?.metadata.annotations).toBeUndefined();
    expect(gatesOf(workload("Deployment", "kotsadm"))).toBeUndefined();

    // The Deployment controller creates their pods; gated, they stay Pending: none ready or available.
    for (let i = 0; i < 4; i++) api.velero.tick();
    const proxy = workload("Deployment", "proxy");
    expect(proxy?.status).toMatchObject({ replicas: 2, updatedReplicas: 2, unavailableReplicas: 2 });
    expect(proxy?.status).not.toHaveProperty("readyReplicas");
    expect(proxy?.status).not.toHaveProperty("availableReplicas");
    expect(proxy?.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Available", status: "False" })]),
    );
    // A StatefulSet (OrderedReady) waits for its first pod, which never becomes ready.
    expect(workload("StatefulSet", "minio")?.status).toMatchObject({ replicas: 1, updatedReplicas: 1 });
    expect(workload("StatefulSet", "minio")?.status).not.toHaveProperty("readyReplicas");
    // kotsadm, not held, runs.
    expect(workload("Deployment", "kotsadm")?.status).toMatchObject({ readyReplicas: 1 });
    const held = await kube.listWorkloads("deployments", "gitpod", "app=gitpod");
    expect(held.map((d) => d.status?.availableReplicas ?? 0)).toEqual([0, 0]);

    // Released (gate and mark removed, as Redeploy does): the rollout proceeds, one pod per tick.
    const release = {
      metadata: { annotations: { [HELD_ANNOTATION]: null } },
      spec: { template: { spec: { schedulingGates: null } } },
    };
    await kube.patchWorkload("deployments", "gitpod", "proxy", release);
    await kube.patchWorkload("statefulsets", "gitpod", "minio", release);
    expect(gatesOf(workload("Deployment", "proxy"))).toBeUndefined();
    api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).toMatchObject({ readyReplicas: 1 });
    api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).toMatchObject({
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
      availableReplicas: 2,
    });
    expect(workload("StatefulSet", "minio")?.status).toMatchObject({
      readyReplicas: 1,
      availableReplicas: 1,
    });
    // server is still held: still no ready pod.
    expect(workload("Deployment", "server")?.status).not.toHaveProperty("readyReplicas");
  });

  it("a gate added to a running Deployment keeps its old pods and never makes the new ones ready", async () => {
    await createRestore("r-plain", { includedNamespaces: ["gitpod"] });
    for (let i = 0; i < 5; i++) api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).toMatchObject({ readyReplicas: 2 });
    await kube.patchWorkload("deployments", "gitpod", "proxy", {
      spec: { template: { spec: { schedulingGates: [{ name: "example.com/wait" }] } } },
    });
    for (let i = 0; i < 3; i++) api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).toMatchObject({
      observedGeneration: 2,
      replicas: 4,
      updatedReplicas: 2,
      readyReplicas: 2,
    });
    await kube.patchWorkload("deployments", "gitpod", "proxy", {
      spec: { template: { spec: { schedulingGates: [] } } },
    });
    for (let i = 0; i < 2; i++) api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).toMatchObject({
      observedGeneration: 3,
      replicas: 2,
      updatedReplicas: 2,
      readyReplicas: 2,
    });
  });

  it("applies JSON patches, YAML merge patches and glob groupResources (app=gitpod to 0, annotated); kotsadm keeps its replicas", async () => {
    const since = api.store.lastSeq();
    await createRestore(
      "gitpod-dr-restore-exec-1",
      { includedNamespaces: ["gitpod"] },
      { name: "gitpod-dr-hold-exec-1", yaml: HOLD_MODIFIERS },
    );
    api.velero.tick(); // InProgress
    expect(workload("Deployment", "server")).toBeUndefined();
    api.velero.tick(); // Completed: contents written, rollouts of 0 replicas settle at once

    const restore = restoreObject("gitpod-dr-restore-exec-1");
    expect(restore?.status).toMatchObject({ phase: "Completed" });
    expect(restore?.status).not.toHaveProperty("errors");

    const deployments = await kube.listWorkloads("deployments", "gitpod");
    const byName = Object.fromEntries(deployments.map((d) => [d.metadata.name, d]));
    for (const name of ["server", "proxy"]) {
      expect(byName[name]?.spec?.replicas).toBe(0);
      expect(byName[name]?.metadata.annotations).toEqual({ "gitpod-dr/held-by": "exec-1" });
      expect(byName[name]?.metadata.labels).toMatchObject({
        app: "gitpod",
        "velero.io/backup-name": BACKUP,
        "velero.io/restore-name": "gitpod-dr-restore-exec-1",
      });
      expect(byName[name]?.status).toMatchObject({ observedGeneration: 1 });
      expect(byName[name]?.status).not.toHaveProperty("readyReplicas");
    }
    expect(byName.kotsadm?.spec?.replicas).toBe(1);
    expect(byName.kotsadm?.metadata.annotations).toBeUndefined();
    const [minio] = await kube.listWorkloads("statefulsets", "gitpod", "app=gitpod");
    expect(minio?.spec?.replicas).toBe(0);
    expect(minio?.metadata.annotations).toEqual({ "gitpod-dr/held-by": "exec-1" });
    expect(await kube.getSecretData("gitpod", "database")).toEqual(OLD_DB);

    // Velero's order: Secrets before workloads; all written by velero.
    const creates = api.store.events.filter(
      (e) => e.seq > since && e.verb === "create" && e.namespace === "gitpod",
    );
    expect(creates.every((e) => e.actor === "velero")).toBe(true);
    expect(creates.map((e) => `${e.kind}/${e.name}`)).toEqual([
      "Secret/database",
      "Secret/kotsadm-authstring",
      "Secret/other",
      "Deployment/kotsadm",
      "Deployment/proxy",
      "Deployment/server",
      "StatefulSet/minio",
    ]);
    expect(api.velero.restoreResult("velero", "gitpod-dr-restore-exec-1")).toMatchObject({
      restored: expect.arrayContaining(["deployments.apps gitpod/server", "secrets gitpod/database"]),
      warnings: [],
      errors: [],
    });

    // kotsadm (1 replica, not held) rolls out on the following ticks.
    api.velero.tick();
    expect(workload("Deployment", "kotsadm")?.status).toMatchObject({ readyReplicas: 1 });
    expect(workload("Deployment", "server")?.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Progressing", reason: "NewReplicaSetAvailable" }),
      ]),
    );
  });

  it("fails validation when the resource modifier ConfigMap is missing, and restores nothing", async () => {
    await createRestore("gitpod-dr-restore-exec-2", { includedNamespaces: ["gitpod"] }, { name: "nope" });
    api.velero.tick();
    api.velero.tick();

    expect(restoreObject("gitpod-dr-restore-exec-2")?.status).toMatchObject({
      phase: "FailedValidation",
      validationErrors: ["failed to get resource modifiers configmap velero/nope"],
    });
    expect(api.store.list("apps/v1", "Deployment", "gitpod")).toEqual([]);
    expect(api.store.list("v1", "Secret", "gitpod")).toEqual([]);
  });

  it("rejects modifiers Velero cannot decode or validate (a JSON patch value that is not a string, mixed patch kinds)", async () => {
    const numeric = HOLD_MODIFIERS.replace('value: "0"', "value: 0");
    expect(numeric).not.toBe(HOLD_MODIFIERS);
    await createRestore("r-numeric", {}, { name: "numeric", yaml: numeric });
    const mixed = stringify({
      version: "v1",
      resourceModifierRules: [
        {
          conditions: { groupResource: "deployments.apps" },
          patches: [{ operation: "replace", path: "/spec/replicas", value: "0" }],
          mergePatches: [{ patchData: "{}" }],
        },
      ],
    });
    await createRestore("r-mixed", {}, { name: "mixed", yaml: mixed });
    api.velero.tick();

    expect(restoreObject("r-numeric")?.status?.phase).toBe("FailedValidation");
    expect(restoreObject("r-numeric")?.status?.validationErrors).toEqual([
      expect.stringMatching(
        /^Error in parsing resource modifiers provided in configmap velero\/numeric: .*cannot unmarshal number into Go struct field JSONPatch\.resourceModifierRules\.patches\.value of type string$/,
      ),
    ]);
    expect(restoreObject("r-mixed")?.status?.validationErrors).toEqual([
      "Validation error in resource modifiers provided in configmap velero/mixed: only one of patches, mergePatches, strategicPatches can be specified",
    ]);
  });

  it("a patch that fails on an object is a restore error: Velero restores that object UNPATCHED, the restore PartiallyFailed", async () => {
    // The backed-up Deployments have no annotations: adding under /metadata/annotations/… fails.
    const failing = stringify({
      version: "v1",
      resourceModifierRules: [
        {
          conditions: { groupResource: "deployments.apps", resourceNameRegex: "^server$" },
          patches: [{ operation: "add", path: "/metadata/annotations/gitpod-dr~1held", value: "held" }],
        },
      ],
    });
    await createRestore("r-failing", {}, { name: "failing", yaml: failing });
    api.velero.tick();
    api.velero.tick();

    expect(restoreObject("r-failing")?.status).toMatchObject({ phase: "PartiallyFailed", errors: 1 });
    // Restored as backed up: a hold rule that failed would leave the workload unheld.
    expect(workload("Deployment", "server")?.metadata.annotations).toBeUndefined();
    expect(workload("Deployment", "server")?.spec?.replicas).toBe(1);
    expect(workload("Deployment", "proxy")?.spec?.replicas).toBe(2);
    expect(api.velero.restoreResult("velero", "r-failing")?.errors).toEqual([
      expect.stringContaining(
        "deployments.apps gitpod/server: error in applying patch error in applying JSON Patch",
      ),
    ]);
  });

  it("leaves existing objects untouched with existingResourcePolicy none (warning) and overwrites them with update", async () => {
    api.store.put(
      statefulSet("gitpod", "minio", { replicas: 3, labels: { app: "gitpod", component: "minio" } }),
    );
    await createRestore("r-none", {}, { name: "hold", yaml: HOLD_MODIFIERS });
    api.velero.tick();
    api.velero.tick();
    expect(workload("StatefulSet", "minio")?.spec?.replicas).toBe(3);
    expect(restoreObject("r-none")?.status).toMatchObject({ phase: "Completed", warnings: 1 });
    expect(api.velero.restoreResult("velero", "r-none")?.warnings).toEqual([
      'could not restore, StatefulSet "minio" already exists. Warning: the in-cluster version is different than the backed-up version.',
    ]);

    await kube.createVelero("restores", "velero", {
      apiVersion: "velero.io/v1",
      kind: "Restore",
      metadata: { name: "r-update", namespace: "velero" },
      spec: {
        backupName: BACKUP,
        existingResourcePolicy: "update",
        resourceModifier: { kind: "configmap", name: "hold" },
      },
    });
    const before = api.store.lastSeq();
    api.velero.tick();
    api.velero.tick();
    const minio = workload("StatefulSet", "minio");
    expect(minio?.spec?.replicas).toBe(0);
    expect(minio?.metadata.generation).toBe(2);
    const change = api.store.events.find((e) => e.seq > before && e.name === "minio" && e.actor === "velero");
    expect(change).toMatchObject({ verb: "patch", kind: "StatefulSet" });
    expect(change?.previous?.spec?.replicas).toBe(3);
  });

  it("restores only spec.includedNamespaces", async () => {
    api.velero.setBackupContents(BACKUP, [
      ...backupContentsOf(api.store, ["gitpod"]),
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "elsewhere", namespace: "other" },
        data: { a: "b" },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "db", namespace: "gitpod" },
        stringData: { host: "h" },
      },
    ]);
    await createRestore("r-ns", { includedNamespaces: ["gitpod"] });
    api.velero.tick();
    api.velero.tick();
    expect(api.store.get("v1", "ConfigMap", "other", "elsewhere")).toBeUndefined();
    expect(secretData(api.store, "gitpod", "db")).toEqual({ host: "h" });
  });
});

describe("fake kotsadm", () => {
  let kots: FakeKotsadm;

  beforeEach(async () => {
    seedApplication();
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: OLD_DB.host, db_port: "5432", domain: "gitpod.example.com" } } },
      workloads: { replicas: { proxy: 2 } },
    });
  });

  afterEach(async () => {
    await kots.stop();
  });

  const configValues = (values: Record<string, string>) =>
    Buffer.from(
      stringify({
        apiVersion: "kots.io/v1beta1",
        kind: "ConfigValues",
        spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
      }),
    ).toString("base64");

  async function setConfig(
    authorization: string | undefined,
    body: Record<string, unknown>,
    slug = "gitpod",
  ): Promise<{ status: number; body: unknown }> {
    const response = await fetch(`${kots.url}/api/v1/app/${slug}/config/values`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        ...(authorization !== undefined ? { Authorization: authorization } : {}),
      },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  }

  it("refuses a wrong or missing auth string with 401, never echoing it", async () => {
    const body = { configValues: configValues({ db_host: "x" }), merge: true, deploy: true };
    const wrong = await setConfig("Kots wrong-authstring", body);
    // pkg/handlers/session.go requireValidSession (types.ErrorResponse: error and success).
    expect(wrong).toEqual({
      status: 401,
      body: { error: "failed to parse authorization header", success: false },
    });
    expect(await setConfig(undefined, body)).toEqual({
      status: 401,
      body: { error: "missing authorization token", success: false },
    });
    expect(await setConfig(`Bearer ${KOTSADM_AUTHSTRING.split(" ")[1]}`, body)).toMatchObject({
      status: 401,
    });

    expect(kots.values("gitpod")?.db_host).toBe(OLD_DB.host);
    expect(kots.calls).toHaveLength(3);
    expect(kots.calls[0]).toMatchObject({ authorized: false, status: 401 });
    expect(kots.calls[0]?.headers.authorization).toBe("<redacted>");
    expect(JSON.stringify(kots.calls)).not.toContain("wrong-authstring");
    kots.tick();
    expect(kots.deploys).toEqual([]);
  });

  it("unknown slug: 500 (as kotsadm answers); merge with an unknown item: 500; merge false replaces all values", async () => {
    const auth = (await kube.getSecretData("gitpod", "kotsadm-authstring"))?.["kotsadm-authstring"];
    expect(auth).toBe(KOTSADM_AUTHSTRING);
    const unknown = await setConfig(
      auth,
      { configValues: configValues({ db_host: "x" }), merge: true },
      "nope",
    );
    expect(unknown).toEqual({
      status: 500,
      body: { success: false, error: "failed to get app from app slug" },
    });
    const badKey = await setConfig(auth, { configValues: configValues({ no_such_item: "x" }), merge: true });
    expect(badKey).toEqual({ status: 500, body: { success: false, error: "failed to create new config" } });
    expect(await setConfig(auth, { configValues: "%%%", merge: true })).toMatchObject({ status: 400 });

    const replace = await setConfig(auth, { configValues: configValues({ db_host: "new" }), merge: false });
    expect(replace).toEqual({ status: 200, body: { success: true } });
    expect(kots.values("gitpod")).toEqual({ db_host: "new" });
  });

  it("deploy: renders the database Secret, then applies the manifests' replicas, keeping the scheduling gate (ordering in store.events)", async () => {
    // The restore held the app with its gate; proxy came back at 1 (KOTS's manifests say 2).
    for (const [kind, name] of [
      ["Deployment", "server"],
      ["Deployment", "proxy"],
      ["StatefulSet", "minio"],
    ] as const) {
      const obj = workload(kind, name) as KubeObject;
      const template = obj.spec?.template as { spec?: Record<string, unknown> };
      api.store.put({
        ...obj,
        metadata: { ...obj.metadata, generation: undefined, annotations: { [HELD_ANNOTATION]: "x" } },
        spec: {
          ...obj.spec,
          ...(name === "proxy" ? { replicas: 1 } : {}),
          template: { ...template, spec: { ...template.spec, schedulingGates: [{ name: HOLD_GATE }] } },
        },
        status: undefined,
      });
    }
    api.velero.tick();
    expect(workload("Deployment", "proxy")?.status).not.toHaveProperty("readyReplicas");
    const since = api.store.lastSeq();

    const auth = (await kube.getSecretData("gitpod", "kotsadm-authstring"))?.["kotsadm-authstring"];
    const answer = await setConfig(auth, {
      configValues: configValues({ db_host: "gitpod-db.new.eu-west-1.rds.amazonaws.com" }),
      merge: true,
      deploy: true,
      skipPreflights: true,
    });
    expect(answer).toEqual({ status: 200, body: { success: true } });
    expect(kots.calls[0]).toMatchObject({
      authorized: true,
      appSlug: "gitpod",
      merge: true,
      deploy: true,
      skipPreflights: true,
      values: { db_host: "gitpod-db.new.eu-west-1.rds.amazonaws.com" },
    });
    expect(kots.calls[0]?.headers.authorization).toBe("<redacted>");
    expect(kots.values("gitpod")).toEqual({
      db_host: "gitpod-db.new.eu-west-1.rds.amazonaws.com",
      db_port: "5432",
      domain: "gitpod.example.com",
    });
    expect(kots.pendingDeploys()).toBe(1);
    expect(secretData(api.store, "gitpod", "database")?.host).toBe(OLD_DB.host);

    kots.tick();

    expect(kots.pendingDeploys()).toBe(0);
    expect(secretData(api.store, "gitpod", "database")).toEqual({
      ...OLD_DB,
      host: "gitpod-db.new.eu-west-1.rds.amazonaws.com",
    });
    expect(workload("Deployment", "server")?.spec?.replicas).toBe(1);
    expect(workload("Deployment", "proxy")?.spec?.replicas).toBe(2);
    expect(workload("StatefulSet", "minio")?.spec?.replicas).toBe(1);
    expect(workload("Deployment", "kotsadm")?.spec?.replicas).toBe(1);
    // Like kubectl apply, the deploy keeps what the manifests do not set: the gate and the mark.
    for (const [kind, name] of [
      ["Deployment", "server"],
      ["Deployment", "proxy"],
      ["StatefulSet", "minio"],
    ] as const) {
      expect(gatesOf(workload(kind, name)), name).toEqual([{ name: HOLD_GATE }]);
      expect(workload(kind, name)?.metadata.annotations, name).toEqual({ [HELD_ANNOTATION]: "x" });
    }
    // The Secret, then proxy's replicas: the only workload whose manifest count differs.
    expect(kots.deploys).toEqual([
      expect.objectContaining({ appSlug: "gitpod", tick: 1, firstSeq: since + 1, lastSeq: since + 2 }),
    ]);

    const changes = api.store.events.filter((e) => e.seq > since);
    const secretChange = changes.find((e) => e.kind === "Secret" && e.name === "database");
    const scaleUp = changes.find((e) => e.kind === "Deployment" && e.name === "proxy");
    expect(secretChange?.actor).toBe("kotsadm");
    expect(scaleUp).toMatchObject({ actor: "kotsadm", verb: "update" });
    expect(scaleUp?.previous?.spec?.replicas).toBe(1);
    expect(scaleUp?.object.spec?.replicas).toBe(2);
    expect((secretChange?.seq ?? Number.POSITIVE_INFINITY) < (scaleUp?.seq ?? 0)).toBe(true);

    // Still gated: the controller creates proxy's pods, none becomes ready.
    for (let i = 0; i < 3; i++) api.velero.tick();
    const held = (await kube.listWorkloads("deployments", "gitpod", "app=gitpod")).find(
      (d) => d.metadata.name === "proxy",
    );
    expect(held?.status).toMatchObject({ replicas: 2, updatedReplicas: 2 });
    expect(held?.status?.readyReplicas ?? 0).toBe(0);

    // Released: the rollout proceeds.
    await kube.patchWorkload("deployments", "gitpod", "proxy", {
      metadata: { annotations: { [HELD_ANNOTATION]: null } },
      spec: { template: { spec: { schedulingGates: null } } },
    });
    api.velero.tick();
    api.velero.tick();
    const proxy = (await kube.listWorkloads("deployments", "gitpod", "app=gitpod")).find(
      (d) => d.metadata.name === "proxy",
    );
    expect(proxy?.status).toMatchObject({ replicas: 2, readyReplicas: 2, updatedReplicas: 2 });
  });

  it("deploy: a held workload at 0 gets the manifest's default replicas (the gate stays)", async () => {
    const obj = workload("Deployment", "server") as KubeObject;
    const template = obj.spec?.template as { spec?: Record<string, unknown> };
    api.store.put({
      ...obj,
      spec: {
        ...obj.spec,
        replicas: 0,
        template: { ...template, spec: { ...template.spec, schedulingGates: [{ name: HOLD_GATE }] } },
      },
    });
    const answer = await setConfig(KOTSADM_AUTHSTRING, {
      configValues: configValues({ db_host: "h3" }),
      merge: true,
      deploy: true,
    });
    expect(answer.status).toBe(200);
    kots.tick();
    expect(workload("Deployment", "server")?.spec?.replicas).toBe(1);
    expect(gatesOf(workload("Deployment", "server"))).toEqual([{ name: HOLD_GATE }]);
  });

  it("deploys only after deployAfterTicks ticks", async () => {
    await kots.stop();
    kots = await startFakeKotsadm({
      store: api.store,
      apps: { gitpod: { values: { db_host: OLD_DB.host, db_port: "5432" } } },
      deployAfterTicks: 2,
    });
    const answer = await setConfig(KOTSADM_AUTHSTRING, {
      configValues: configValues({ db_host: "h2", db_port: "6543" }),
      merge: true,
      deploy: true,
    });
    expect(answer.status).toBe(200);
    kots.tick();
    expect(kots.deploys).toHaveLength(0);
    kots.tick();
    expect(kots.deploys).toHaveLength(1);
    expect(secretData(api.store, "gitpod", "database")).toMatchObject({ host: "h2", port: "6543" });
  });
});
