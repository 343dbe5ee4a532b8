/**
 * The hold and Velero's file-system volume restore (issue 17 §1), against the Kubernetes API simulator
 * with its pod volume restores (test/fixtures/kube/pod-volumes.ts): Velero restores a pod's Kopia/Restic
 * volumes through its `restore-wait` init container, which a gated pod never runs. The restore steps run
 * for real ("Build plan", "Restore application", "Check application restore", "Point application",
 * "Redeploy") through `ClientNodeKubeOps` as the restore identity.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { HOLD_GATE, holdModifier } from "../../packages/core/src/restore/hold.ts";
import { PodVolumeRestores, pod, RESTORE_WAIT, seedPodVolumeBackup } from "../fixtures/kube/pod-volumes.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../fixtures/kube/server.ts";
import {
  backupContentsOf,
  RESTORE_USER,
  seedBackup,
  seedGitpod,
  seedSecret,
  seedVelero,
} from "../fixtures/kube/velero-cluster.ts";

const TOKEN = "restore-role-token";
const NOW = "2026-11-27T09:00:00Z";
const BACKUP = "gitpod-dr-2026-11-26-0200";
const OLD_HOST = "gitpod-db.old.eu-west-1.rds.amazonaws.com";
const MINUTE = 60_000;

let api: KubeApi;
let volumes: PodVolumeRestores;

beforeEach(async () => {
  api = await startKubeApi({
    authenticate: (token) => (token === TOKEN ? RESTORE_USER : undefined),
    rbac: [...loadRbac(), ...loadRbac("deploy/rbac-restore.yaml")],
  });
  api.store.setNow(NOW);
  seedVelero(api.store);
  volumes = new PodVolumeRestores(api.store);
  api.velero.addRestoreWaiter(volumes);
});

afterEach(async () => {
  await api.stop();
});

const restoreObject = (name: string) => api.store.get("velero.io/v1", "Restore", "velero", name);
const podObject = (name: string) => api.store.get("v1", "Pod", "gitpod", name);
const initNames = (obj: KubeObject | undefined) =>
  ((obj?.spec?.initContainers as { name: string }[] | undefined) ?? []).map((c) => c.name);

/**
 * The application backed up with a file-system volume: its Deployments, the database Secret, and the
 * server's pod whose `workspace-data` volume Kopia backed up (a PodVolumeBackup). Then the namespace
 * is emptied, as in a fresh DR cluster.
 */
function backUpWithFsVolume(): void {
  seedGitpod(api.store);
  seedSecret(api.store, "gitpod", "database", { host: OLD_HOST, port: "5432" });
  const serverPod = pod("gitpod", "server-6d8f9c-x2x7q", {
    labels: { app: "gitpod", component: "server" },
    volumes: ["workspace-data"],
  });
  const contents = [...backupContentsOf(api.store, ["gitpod"]), serverPod];
  api.velero.setBackupContents(BACKUP, contents);
  seedBackup(api.store, BACKUP, { createdAt: "2026-11-26T02:00:05Z", phase: "Completed", ours: true });
  seedPodVolumeBackup(api.store, BACKUP, {
    namespace: "gitpod",
    pod: "server-6d8f9c-x2x7q",
    volume: "workspace-data",
  });
  for (const obj of backupContentsOf(api.store, ["gitpod"])) {
    api.store.delete(obj.apiVersion, obj.kind, "gitpod", obj.metadata.name);
  }
}

async function createRestore(name: string, modifier: string): Promise<void> {
  api.store.put({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: `${name}-hold`, namespace: "velero" },
    data: { "hold.yaml": modifier },
  });
  api.store.put({
    apiVersion: "velero.io/v1",
    kind: "Restore",
    metadata: { name, namespace: "velero" },
    spec: {
      backupName: BACKUP,
      includedNamespaces: ["gitpod"],
      resourceModifier: { kind: "ConfigMap", name: `${name}-hold` },
    },
  });
}

describe("the simulator: Velero's pod volume restore", () => {
  beforeEach(backUpWithFsVolume);

  it("a gated pod never runs restore-wait: the Restore stays InProgress until the fs-backup timeout, then PartiallyFailed", async () => {
    await createRestore("r-gated", holdModifier("gitpod", { app: "gitpod" }, "gated"));
    api.velero.tick(); // InProgress
    api.velero.tick(); // contents written; waiting for the pod volume restore
    expect(podObject("server-6d8f9c-x2x7q")?.spec?.schedulingGates).toEqual([{ name: HOLD_GATE }]);
    expect(initNames(podObject("server-6d8f9c-x2x7q"))).toEqual([RESTORE_WAIT]);
    for (let i = 0; i < 10; i++) {
      api.store.advance(20 * MINUTE);
      api.velero.tick();
      expect(restoreObject("r-gated")?.status?.phase).toBe("InProgress");
    }
    api.store.advance(41 * MINUTE);
    api.velero.tick();
    expect(restoreObject("r-gated")?.status).toMatchObject({ phase: "PartiallyFailed", errors: 1 });
    expect(api.velero.restoreResult("velero", "r-gated")?.errors).toEqual([
      expect.stringContaining("timed out waiting for all PodVolumeRestores to complete"),
    ]);
    expect(volumes.restored).toEqual([]);
  });

  it("an ungated pod runs restore-wait: its volume is restored and the Restore Completes", async () => {
    await createRestore(
      "r-free",
      stringify({
        version: "v1",
        resourceModifierRules: [
          { conditions: { groupResource: "jobs.batch" }, mergePatches: [{ patchData: "{}" }] },
        ],
      }),
    );
    api.velero.tick();
    api.velero.tick();
    expect(restoreObject("r-free")?.status?.phase).toBe("InProgress");
    api.velero.tick();
    expect(restoreObject("r-free")?.status?.phase).toBe("Completed");
    expect(volumes.restored).toEqual(["gitpod/server-6d8f9c-x2x7q/workspace-data"]);
  });
});
