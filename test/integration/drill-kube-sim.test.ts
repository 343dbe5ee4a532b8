/**
 * The drill's application restore in the Kubernetes simulator, driven through the real
 * `RestKubeOps`: Velero's `namespaceMapping` puts every object in `gitpod-drill-<id>`, the
 * production namespace is untouched, nothing cluster-scoped and no Pod is restored, every workload is
 * held by the scheduling gate (matched on the backed-up namespace, as Velero does), so no pod of the
 * restored application becomes ready; the verification reports the kinds and passes.
 */
import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  drillRestoreSpec,
  startDrillRestore,
  verifyDrillRestore,
} from "../../packages/core/src/drill/application.ts";
import { DrillTeardownFailedError } from "../../packages/core/src/drill/errors.ts";
import { scratchNamespace } from "../../packages/core/src/drill/naming.ts";
import { tearDown } from "../../packages/core/src/drill/teardown.ts";
import { RestKubeOps } from "../../packages/core/src/velero/kube-client.ts";
import { DRILL_USER } from "../../packages/sim/src/drill/world.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  backupContentsOf,
  seedBackup,
  seedGitpod,
  seedSecret,
  seedVelero,
  statefulSet,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const TOKEN = "admin-token";
const BACKUP = "gitpod-dr-2026-12-06-0200";
const ID = "20261206-0400-abc123";
const SCRATCH = scratchNamespace("gitpod", ID);
let api: KubeApi;
let kube: RestKubeOps;

/** Velero, and the application in `gitpod`: workloads, a Secret and a ConfigMap. */
function seedApplication(cluster: KubeApi): void {
  cluster.store.setNow("2026-12-06T04:00:00Z");
  seedVelero(cluster.store);
  seedGitpod(cluster.store);
  cluster.store.put(
    statefulSet("gitpod", "minio", { replicas: 1, labels: { app: "gitpod", component: "minio" } }),
  );
  seedSecret(cluster.store, "gitpod", "database", { host: "gitpod-db.prod", port: "3306" });
  cluster.store.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "server-config", namespace: "gitpod" },
    data: { "config.json": "{}" },
  });
}

beforeEach(async () => {
  api = await startKubeApi({
    authenticate: (token) => (token === TOKEN ? { name: "admin", groups: ["system:masters"] } : undefined),
    // The namespace controller as a step of its own (the teardown tests wait for it).
    namespaceFinalization: "controller",
  });
  seedApplication(api);
  const pod: KubeObject = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "server-abc", namespace: "gitpod", labels: { app: "gitpod" } },
    spec: { containers: [{ name: "server", image: "gitpod/server:1" }] },
  };
  api.velero.setBackupContents(BACKUP, [...backupContentsOf(api.store, ["gitpod"]), pod]);
  seedBackup(api.store, BACKUP, { createdAt: "2026-12-06T02:00:05Z", phase: "Completed", ours: true });
  kube = new RestKubeOps({ name: "gitpod", server: api.url, caData: api.caData }, async () => TOKEN);
});

afterEach(async () => {
  await api.stop();
});

const input = {
  drillId: ID,
  backupName: BACKUP,
  veleroNamespace: "velero",
  namespaces: ["gitpod"],
  holdNamespace: "gitpod",
  holdSelector: { app: "gitpod" },
};

describe("the drill's Velero restore in the simulator", () => {
  it("restores into the scratch namespace, held, without pods or cluster-scoped objects, and verifies it", async () => {
    const production = api.store.list("apps/v1", "Deployment", "gitpod").map((d) => JSON.stringify(d));
    const started = await startDrillRestore(kube, input, new Date("2026-12-06T04:00:00Z"));
    expect(started).toMatchObject({
      name: `gitpod-dr-drill-${ID}`,
      created: true,
      namespaceMapping: { gitpod: SCRATCH },
    });
    const restore = api.store.get("velero.io/v1", "Restore", "velero", started.name);
    expect(restore?.spec).toEqual(drillRestoreSpec(input, `gitpod-dr-drill-${ID}-hold`));

    const pending = await verifyDrillRestore(kube, {
      veleroNamespace: "velero",
      name: started.name,
      scratchNamespaces: [SCRATCH],
      expectedKinds: ["Deployment", "StatefulSet", "Secret", "ConfigMap"],
      allowPartialRestore: false,
    });
    expect(pending.done).toBe(false);
    for (let i = 0; i < 6; i++) api.velero.tick(); // Completed, then the rollouts of the gated workloads

    const restored = api.store.list("apps/v1", "Deployment", SCRATCH);
    expect(restored.length).toBeGreaterThan(0);
    for (const d of [...restored, ...api.store.list("apps/v1", "StatefulSet", SCRATCH)]) {
      const gates = (d.spec?.template as { spec?: { schedulingGates?: { name: string }[] } } | undefined)
        ?.spec?.schedulingGates;
      expect(gates, d.metadata.name).toEqual([{ name: "gitpod-dr/held" }]);
      expect((d.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0, d.metadata.name).toBe(
        0,
      );
    }
    expect(api.store.list("v1", "Pod", SCRATCH)).toEqual([]);
    expect(api.store.get("v1", "Secret", SCRATCH, "database")).toBeDefined();
    // Production is as it was.
    expect(api.store.list("apps/v1", "Deployment", "gitpod").map((d) => JSON.stringify(d))).toEqual(
      production,
    );

    const verified = await verifyDrillRestore(kube, {
      veleroNamespace: "velero",
      name: started.name,
      scratchNamespaces: [SCRATCH],
      expectedKinds: ["Deployment", "StatefulSet", "Secret", "ConfigMap"],
      allowPartialRestore: false,
    });
    expect(verified).toMatchObject({ done: true, phase: "Completed", problems: [], podsStarted: [] });
    expect(verified.kinds?.[SCRATCH]?.Deployment).toBe(restored.length);
    expect(verified.kinds?.[SCRATCH]?.StatefulSet).toBeGreaterThan(0);
  });

  it("as the drill's group (deploy/rbac-drill.yaml), names the opt-in manifest when Secrets are expected, and counts them once it is applied", async () => {
    const OTHER = scratchNamespace("kotsadm", ID);
    const drill = async (manifests: string[]) => {
      const cluster = await startKubeApi({
        authenticate: (token) =>
          token === TOKEN
            ? { name: "admin", groups: ["system:masters"] }
            : token === "drill"
              ? DRILL_USER
              : undefined,
        rbac: manifests.flatMap((m) => loadRbac(m)),
      });
      seedApplication(cluster);
      cluster.velero.setBackupContents(BACKUP, backupContentsOf(cluster.store, ["gitpod"]));
      seedBackup(cluster.store, BACKUP, {
        createdAt: "2026-12-06T02:00:05Z",
        phase: "Completed",
        ours: true,
      });
      const asDrill = new RestKubeOps(
        { name: "gitpod", server: cluster.url, caData: cluster.caData },
        async () => "drill",
      );
      try {
        const started = await startDrillRestore(asDrill, input, new Date("2026-12-06T04:00:00Z"));
        for (let i = 0; i < 6; i++) cluster.velero.tick();
        return await verifyDrillRestore(asDrill, {
          veleroNamespace: "velero",
          name: started.name,
          // A second scratch namespace (nothing restored there): the 403 is told once, not per namespace.
          scratchNamespaces: [SCRATCH, OTHER],
          expectedKinds: ["Deployment", "Secret", "ConfigMap"],
          allowPartialRestore: false,
        });
      } finally {
        await cluster.stop();
      }
    };

    const without = await drill(["deploy/rbac-drill.yaml"]);
    expect(without.done).toBe(true);
    expect(without.problems).toEqual([
      `the drill is forbidden (403) to list Secrets in its scratch namespaces: remove "Secret" from drill.checks.application.expectedKinds, or kubectl apply -f deploy/rbac-drill-secrets.yaml (which lets the drill read every Secret in the cluster)`,
      `scratch namespace ${OTHER} has no Deployment after the restore`,
      `scratch namespace ${OTHER} has no ConfigMap after the restore`,
    ]);
    expect(without.kinds?.[SCRATCH]?.Deployment).toBeGreaterThan(0);
    expect(without.kinds?.[SCRATCH]?.Secret).toBeUndefined();

    const withSecrets = await drill(["deploy/rbac-drill.yaml", "deploy/rbac-drill-secrets.yaml"]);
    expect(withSecrets.problems).toEqual([
      `scratch namespace ${OTHER} has no Deployment after the restore`,
      `scratch namespace ${OTHER} has no Secret after the restore`,
      `scratch namespace ${OTHER} has no ConfigMap after the restore`,
    ]);
    expect(withSecrets.kinds?.[SCRATCH]?.Secret).toBe(1);
  });

  it("reports a missing kind and a restore that ended PartiallyFailed without allowPartialRestore", async () => {
    api.velero.planRestore("*", [
      { phase: "InProgress" },
      { phase: "PartiallyFailed", status: { errors: 1 } },
    ]);
    const started = await startDrillRestore(kube, input, new Date());
    for (let i = 0; i < 3; i++) api.velero.tick();
    const verified = await verifyDrillRestore(kube, {
      veleroNamespace: "velero",
      name: started.name,
      scratchNamespaces: [SCRATCH],
      expectedKinds: ["ConfigMap"],
      allowPartialRestore: false,
    });
    expect(verified.done).toBe(true);
    expect(verified.problems[0]).toMatch(
      /^Velero restore gitpod-dr-drill-20261206-0400-abc123 ended PartiallyFailed \(0 warning\(s\), 1 error\(s\)\); drill.allowPartialRestore is false$/,
    );
  });

  it("teardown deletes the scratch namespace, reports it Terminating until the namespace controller removed its objects, then it is gone", async () => {
    const started = await startDrillRestore(kube, input, new Date("2026-12-06T04:00:00Z"));
    for (let i = 0; i < 6; i++) api.velero.tick();
    expect(api.store.inNamespace(SCRATCH).length).toBeGreaterThan(0);
    const aws = () => {
      const rds = new RDSClient({ region: "eu-central-1" });
      const secrets = new SecretsManagerClient({ region: "eu-central-1" });
      mockClient(rds).onAnyCommand().resolves({});
      mockClient(secrets).onAnyCommand().resolves({});
      return { rds, secrets, kube };
    };
    const scope = {
      stage: "prod",
      drillId: ID,
      veleroNamespace: "velero",
      now: new Date("2026-12-06T04:30:00Z"),
    };
    api.store.setNow("2026-12-06T04:30:00Z");

    const first = await tearDown(aws(), scope);

    expect(first).toEqual({
      removed: [
        `Restore velero/${started.name}`,
        `ConfigMap velero/${started.name}-hold`,
        `namespace ${SCRATCH}`,
      ],
      terminating: [SCRATCH],
    });
    // Terminating: its objects are still there, and nothing new may be created in it.
    const ns = api.store.get("v1", "Namespace", "", SCRATCH);
    expect(ns?.status).toMatchObject({ phase: "Terminating" });
    expect(ns?.metadata.deletionTimestamp).toBe("2026-12-06T04:30:00Z");
    expect(api.store.list("apps/v1", "Deployment", SCRATCH).length).toBeGreaterThan(0);
    const refused = await kube
      .createConfigMap(SCRATCH, { metadata: { name: "late", namespace: SCRATCH }, data: {} })
      .catch((e: unknown) => e as Error);
    expect((refused as Error).message).toMatch(/403|being terminated/);
    // Tearing down again while it terminates deletes nothing twice.
    expect(await tearDown(aws(), scope)).toEqual({ removed: [], terminating: [SCRATCH] });

    expect(api.finalizeNamespaces()).toEqual([SCRATCH]);
    expect(api.store.inNamespace(SCRATCH)).toEqual([]);
    expect(await tearDown(aws(), scope)).toEqual({ removed: [] });
    expect(api.store.get("v1", "Namespace", "", SCRATCH)).toBeUndefined();
    // Production is untouched.
    expect(api.store.list("apps/v1", "Deployment", "gitpod").length).toBeGreaterThan(0);
  });

  it("teardown fails loudly on a scratch namespace stuck Terminating (a finalizer nobody removes)", async () => {
    await startDrillRestore(kube, input, new Date("2026-12-06T04:00:00Z"));
    for (let i = 0; i < 6; i++) api.velero.tick();
    const rds = new RDSClient({ region: "eu-central-1" });
    const secrets = new SecretsManagerClient({ region: "eu-central-1" });
    mockClient(rds).onAnyCommand().resolves({});
    mockClient(secrets).onAnyCommand().resolves({});
    api.store.setNow("2026-12-06T04:30:00Z");
    await tearDown(
      { rds, secrets, kube },
      { stage: "prod", drillId: ID, now: new Date("2026-12-06T04:30:00Z") },
    );

    const error = await tearDown(
      { rds, secrets, kube },
      { stage: "prod", drillId: ID, now: new Date("2026-12-06T04:50:00Z") },
    ).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DrillTeardownFailedError);
    expect((error as DrillTeardownFailedError).problems).toEqual([
      `namespace ${SCRATCH}: Terminating since 2026-12-06T04:30:00.000Z (an object's finalizer holds it)`,
    ]);
  });
});
