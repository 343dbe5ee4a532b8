/**
 * The backup job's KOTS mode against kotsadm as KOTS installs it (issue 17 §2): a Deployment with MinIO,
 * a StatefulSet without it, its image read from the container named `kotsadm` (KOTS's own
 * `kotsadmsnapshot` reads it so), and never a backup with KOTS mode half on. Through EKS auth and
 * deploy/rbac.yaml, as the backup function.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ApplicationConfig } from "../../packages/core/src/config.ts";
import { runVeleroBackupJob, type VeleroBackupSummary } from "../../packages/core/src/velero/backup.ts";
import { VeleroPreflightError } from "../../packages/core/src/velero/errors.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  appConfig,
  backupsIn,
  connectViaEks,
  deployment,
  eksAuthenticator,
  KOTSADM_IMAGE,
  rejection,
  seedGitpod,
  seedVelero,
  statefulSet,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const WINDOW = "2026-11-26T02:00:00Z";
let api: KubeApi | undefined;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

/** kotsadm's workload with a sidecar first and the `kotsadm` container second (containers[0] is not it). */
function withSidecar(obj: KubeObject): KubeObject {
  const spec = (obj.spec as { template: { spec: { containers: unknown[] } } }).template.spec;
  spec.containers = [{ name: "rqlite-proxy", image: "example.com/proxy:1.0.0" }, ...spec.containers];
  return obj;
}

async function cluster(kotsadm?: KubeObject): Promise<KubeApi> {
  let sim: KubeApi | undefined;
  const auth = eksAuthenticator({ clock: () => (sim as KubeApi).store.now() });
  sim = await startKubeApi({ authenticate: auth.authenticate, rbac: loadRbac() });
  api = sim;
  sim.store.setNow(WINDOW);
  seedVelero(sim.store);
  seedGitpod(sim.store);
  if (kotsadm) sim.store.put(kotsadm);
  return sim;
}

async function runJob(sim: KubeApi, app: ApplicationConfig): Promise<VeleroBackupSummary> {
  sim.store.setNow(Date.parse(WINDOW) + 5_000);
  const { kube } = await connectViaEks(sim, { now: () => sim.store.now() });
  return runVeleroBackupJob({ time: new Date(WINDOW), dryRun: false }, app, kube, {
    now: () => sim.store.now(),
  });
}

const kotsadmStatefulSet = () =>
  withSidecar(statefulSet("gitpod", "kotsadm", { image: KOTSADM_IMAGE, labels: { app: "kotsadm" } }));

describe("kotsadm as KOTS installs it", () => {
  it("auto: a kotsadm StatefulSet (KOTS without MinIO) is found, its image by container name, and the summary says so", async () => {
    const sim = await cluster(kotsadmStatefulSet());
    const summary = await runJob(sim, appConfig({ kots: "auto" }));
    expect(summary.kots).toBe(true);
    expect(summary.kotsadm).toBe("StatefulSet gitpod/kotsadm (kotsadm/kotsadm:v1.124.0)");
    expect(backupsIn(sim.store)[0]?.metadata.annotations).toMatchObject({
      "kots.io/instance": "true",
      "kots.io/kotsadm-image": KOTSADM_IMAGE,
      "kots.io/kotsadm-deploy-namespace": "gitpod",
    });
  });

  it("auto: a Deployment whose kotsadm container is not the first one gives that container's image", async () => {
    const sim = await cluster(
      withSidecar(deployment("gitpod", "kotsadm", { image: KOTSADM_IMAGE, labels: { app: "kotsadm" } })),
    );
    const summary = await runJob(sim, appConfig({ kots: "auto" }));
    expect(summary.kotsadm).toBe("Deployment gitpod/kotsadm (kotsadm/kotsadm:v1.124.0)");
    expect(backupsIn(sim.store)[0]?.metadata.annotations?.["kots.io/kotsadm-image"]).toBe(KOTSADM_IMAGE);
  });

  it("auto: kotsadm without a container named kotsadm is refused (KOTS mode would be half on), nothing created", async () => {
    const broken = deployment("gitpod", "kotsadm", { image: KOTSADM_IMAGE, container: "admin" });
    const sim = await cluster(broken);
    const error = await rejection(runJob(sim, appConfig({ kots: "auto" })));
    expect(error).toBeInstanceOf(VeleroPreflightError);
    expect(error.message).toContain("Deployment gitpod/kotsadm has no container named kotsadm");
    expect(error.message).toContain("kots.io/kotsadm-image");
    expect(backupsIn(sim.store)).toEqual([]);
  });

  it("says when KOTS will not list the backup: no storage location named default", async () => {
    const sim = await cluster(kotsadmStatefulSet());
    const bsl = sim.store.get("velero.io/v1", "BackupStorageLocation", "velero", "default") as KubeObject;
    sim.store.delete("velero.io/v1", "BackupStorageLocation", "velero", "default");
    sim.store.put({ ...bsl, metadata: { name: "dr", namespace: "velero" } });
    const summary = await runJob(sim, appConfig({ kots: "auto", velero: { storageLocation: "dr" } }));
    expect(summary.kots).toBe(true);
    expect(summary.kotsWarning).toContain(
      "KOTS lists snapshots only from a Velero storage location named default, and velero has none",
    );
  });

  it("on without kotsadm: refused rather than a backup KOTS's restore would silently do nothing with", async () => {
    const sim = await cluster();
    const error = await rejection(runJob(sim, appConfig({ kots: "on" })));
    expect(error).toBeInstanceOf(VeleroPreflightError);
    expect(error.message).toContain(
      "application.kots is on, but no kotsadm Deployment or StatefulSet runs in gitpod",
    );
    expect(backupsIn(sim.store)).toEqual([]);
  });
});
