import { describe, expect, it } from "vitest";
import type { KubeObject, KubeOps } from "../../../packages/core/src/velero/kube.ts";
import { resolveBackup } from "../../../packages/core/src/velero/restore.ts";

/** Backups as a new cluster shows them after Velero synced them from the storage location. */
function synced(name: string, started: string, syncedAt: string): KubeObject {
  return {
    apiVersion: "velero.io/v1",
    kind: "Backup",
    metadata: {
      name,
      namespace: "velero",
      creationTimestamp: syncedAt,
      labels: { "gitpod-dr/created-by": "gitpod-dr" },
    },
    status: { phase: "Completed", startTimestamp: started, completionTimestamp: started },
  };
}

function kubeWith(backups: KubeObject[]): KubeOps {
  const unused = () => {
    throw new Error("not used by resolveBackup");
  };
  return {
    veleroApiServed: unused,
    getVelero: unused,
    listVelero: async () => backups,
    createVelero: unused,
    getDeployment: unused,
    getStatefulSet: unused,
    listWorkloads: unused,
    patchWorkload: unused,
    getSecretData: unused,
    patchSecretData: unused,
    createConfigMap: unused,
    listPods: unused,
    patchPod: unused,
  };
}

describe("resolveBackup latest", () => {
  it("picks the backup taken last, not the one Velero happened to sync last into a new cluster", async () => {
    const kube = kubeWith([
      synced("gitpod-dr-2026-11-25-0200", "2026-11-25T02:00:05Z", "2026-11-26T10:00:03Z"),
      synced("gitpod-dr-2026-11-26-0200", "2026-11-26T02:00:04Z", "2026-11-26T10:00:01Z"),
      synced("gitpod-dr-2026-11-24-0200", "2026-11-24T02:00:06Z", "2026-11-26T10:00:02Z"),
    ]);

    const latest = await resolveBackup(kube, "velero", "latest");

    expect(latest.metadata.name).toBe("gitpod-dr-2026-11-26-0200");
  });
});
