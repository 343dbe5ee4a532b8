/**
 * The drill's application restore in the Kubernetes simulator, driven through the real
 * `RestKubeOps`: Velero's `namespaceMapping` puts every object in `gitpod-drill-<id>`, the
 * production namespace is untouched, nothing cluster-scoped and no Pod is restored, every workload is
 * held by the scheduling gate (matched on the backed-up namespace, as Velero does), so no pod of the
 * restored application becomes ready; the verification reports the kinds and passes.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  drillRestoreSpec,
  startDrillRestore,
  verifyDrillRestore,
} from "../../packages/core/src/drill/application.ts";
import { scratchNamespace } from "../../packages/core/src/drill/naming.ts";
import { RestKubeOps } from "../../packages/core/src/velero/kube-client.ts";
import { type KubeApi, type KubeObject, startKubeApi } from "../../packages/sim/src/kube/server.ts";
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

beforeEach(async () => {
  api = await startKubeApi({
    authenticate: (token) => (token === TOKEN ? { name: "admin", groups: ["system:masters"] } : undefined),
  });
  api.store.setNow("2026-12-06T04:00:00Z");
  seedVelero(api.store);
  seedGitpod(api.store);
  api.store.put(
    statefulSet("gitpod", "minio", { replicas: 1, labels: { app: "gitpod", component: "minio" } }),
  );
  seedSecret(api.store, "gitpod", "database", { host: "gitpod-db.prod", port: "3306" });
  api.store.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "server-config", namespace: "gitpod" },
    data: { "config.json": "{}" },
  });
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
});
