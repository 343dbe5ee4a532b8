/**
 * The Velero job records the previous backup in the catalog (dynalite) once it is Completed, against
 * the Kubernetes API simulator reached through EKS as in velero-backup.test.ts.
 */
import { afterEach, describe, expect, it } from "vitest";
import { runVeleroBackupJob } from "../../packages/core/src/velero/backup.ts";
import { useLocalCatalog } from "../../packages/sim/src/catalog/dynalite.ts";
import { type KubeApi, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  appConfig,
  connectViaEks,
  eksAuthenticator,
  seedGitpod,
  seedVelero,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const catalog = useLocalCatalog();
let sim: KubeApi | undefined;
afterEach(async () => {
  await sim?.stop();
  sim = undefined;
});

describe("the Velero job and the catalog", () => {
  it("records the previous backup once Completed, with its start, completion and item counts", async () => {
    const auth = eksAuthenticator({ clock: () => (sim as KubeApi).store.now() });
    sim = await startKubeApi({ authenticate: auth.authenticate, rbac: loadRbac(), veleroInstalled: true });
    seedVelero(sim.store);
    seedGitpod(sim.store, { kotsadm: false });
    const store = catalog.store();
    const run = async (window: string) => {
      const api = sim as KubeApi;
      api.store.setNow(Date.parse(window) + 5_000);
      const { kube } = await connectViaEks(api, { now: () => api.store.now() });
      return runVeleroBackupJob({ time: new Date(window), dryRun: false }, appConfig(), kube, {
        now: () => api.store.now(),
        catalog: store,
      });
    };

    await run("2026-11-25T02:00:00Z");
    // Nothing completed yet: nothing recorded.
    expect(await store.newest("application")).toEqual([]);
    sim.velero.tick();
    sim.velero.tick();
    await run("2026-11-26T02:00:00Z");

    const [entry] = await store.newest("application");
    expect(entry).toMatchObject({
      tier: "application",
      backupName: "gitpod-dr-2026-11-25-0200",
      phase: "Completed",
      cluster: appConfig().cluster.name,
      storageLocation: appConfig().velero.storageLocation,
      startedAt: "2026-11-25T02:00:05.000Z",
    });
    expect(Date.parse(entry?.completedAt ?? "")).toBeGreaterThanOrEqual(Date.parse(entry?.startedAt ?? ""));
  });
});
