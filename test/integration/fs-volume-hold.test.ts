/**
 * The hold and Velero's file-system volume restore (issue 17 §1), against the Kubernetes API simulator
 * with its pod volume restores (packages/sim/src/kube/pod-volumes.ts): Velero restores a pod's Kopia/Restic
 * volumes through its `restore-wait` init container, which a gated pod never runs. The restore steps run
 * for real ("Build plan", "Restore application", "Check application restore", "Point application",
 * "Redeploy") through `RestKubeOps` as the restore identity.
 */
import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { KMSClient } from "@aws-sdk/client-kms";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  type ApplicationDeps,
  checkApplicationRestore,
  startApplicationRestore,
} from "../../packages/core/src/restore/application.ts";
import { buildPlan } from "../../packages/core/src/restore/build-plan.ts";
import { PreconditionFailedError } from "../../packages/core/src/restore/errors.ts";
import {
  HELD_ANNOTATION,
  HELD_DATABASE_HOST,
  HOLD_GATE,
  holdModifier,
} from "../../packages/core/src/restore/hold.ts";
import { pointApplication } from "../../packages/core/src/restore/point.ts";
import { redeploy } from "../../packages/core/src/restore/rollout.ts";
import type { RestoreRequest } from "../../packages/core/src/restore/types.ts";
import { RestKubeOps } from "../../packages/core/src/velero/kube-client.ts";
import {
  PodVolumeRestores,
  pod,
  RESTORE_WAIT,
  seedPodVolumeBackup,
} from "../../packages/sim/src/kube/pod-volumes.ts";
import { type KubeApi, type KubeObject, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  backupContentsOf,
  RESTORE_USER,
  rejection,
  secretData,
  seedBackup,
  seedGitpod,
  seedSecret,
  seedVelero,
} from "../../packages/sim/src/kube/velero-cluster.ts";
import { FAKE_VPC, FakeAws } from "../../packages/sim/src/rds/fake-rds.ts";
import { config } from "../../packages/sim/src/restore/application.ts";

const TOKEN = "restore-role-token";
const NOW = "2026-11-27T09:00:00Z";
const BACKUP = "gitpod-dr-2026-11-26-0200";
const OLD_HOST = "gitpod-db.old.eu-west-1.rds.amazonaws.com";
const NEW_HOST = "gitpod-dr-gitpod-r-fs-1.c0ffee.eu-west-1.rds.amazonaws.com";
const MINUTE = 60_000;

let api: KubeApi;
let volumes: PodVolumeRestores;
let ec2Mock: ReturnType<typeof mockClient>;

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
  ec2Mock?.restore();
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

describe("the simulator: a hold rule that fails", () => {
  beforeEach(backUpWithFsVolume);

  it("restores the item unpatched, so unheld (a selector Velero cannot build fails every rule)", async () => {
    await createRestore("r-bad", holdModifier("gitpod", { app: "gitpod dr" }, "bad"));
    api.velero.tick();
    api.velero.tick();
    api.velero.tick(); // the pod, not gated, runs restore-wait
    expect(restoreObject("r-bad")?.status?.phase).toBe("PartiallyFailed");
    const server = api.store.get("apps/v1", "Deployment", "gitpod", "server");
    expect(server?.metadata.annotations).toBeUndefined();
    expect(server?.spec?.template).not.toHaveProperty("spec.schedulingGates");
    expect(api.velero.restoreResult("velero", "r-bad")?.errors).toContainEqual(
      expect.stringContaining(
        'deployments.apps gitpod/server: error in creating label selector values[0][app]: Invalid value: "gitpod dr"',
      ),
    );
  });
});

/** The restore's plan deps: EC2 knows the security group; the cluster is the simulator. */
function planDeps() {
  const ec2 = new EC2Client({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
  });
  ec2Mock = mockClient(ec2);
  ec2Mock
    .on(DescribeSecurityGroupsCommand)
    .resolves({ SecurityGroups: [{ GroupId: "sg-01234567", VpcId: FAKE_VPC }] });
  const kube = new RestKubeOps({ name: "gitpod", server: api.url, caData: api.caData }, async () => TOKEN);
  // The database target's pre-checks (subnet group, its VPC) against the RDS fake; no key is configured.
  const rds = new FakeAws(() => new Date(NOW)).region("eu-west-1");
  rds.subnetGroups.add("gitpod-db");
  const kms = new KMSClient({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "fake" },
  });
  return { ec2: () => ec2, rds: () => rds.client, kms: () => kms, kube: async () => kube };
}

function appDeps(): ApplicationDeps {
  const kube = new RestKubeOps({ name: "gitpod", server: api.url, caData: api.caData }, async () => TOKEN);
  return {
    kube: async () => kube,
    cloudwatch: () => {
      throw new Error("no CloudWatch in this test");
    },
    fetch: globalThis.fetch,
    now: () => api.store.now(),
  };
}

const request = (tiers: RestoreRequest["tiers"] = ["database", "application"]): RestoreRequest => ({
  restoreId: "fs-1",
  target: "primary",
  region: "eu-west-1",
  tiers,
  dryRun: false,
  allowPartialRestore: false,
  dbSnapshot: "latest",
  veleroBackup: "latest",
  executionStartedAt: NOW,
  ...(tiers.includes("database")
    ? {
        database: {
          kind: "instance" as const,
          identifier: "gitpod-dr-gitpod-r-fs-1",
          adopt: false,
          snapshot: {
            identifier: "gitpod-dr-gitpod-2026-11-26-0300",
            arn: "arn:aws:rds:eu-west-1:123456789012:snapshot:gitpod-dr-gitpod-2026-11-26-0300",
            encrypted: true,
          },
        },
      }
    : {}),
});

describe("the restore of a backup with file-system volumes", () => {
  beforeEach(backUpWithFsVolume);

  it("completes: the pods start and their volumes are restored, while the database Secret names a host that cannot resolve until Point application", async () => {
    const cfg = config();
    const plan = await buildPlan(request(), cfg, planDeps());
    const deps = appDeps();
    const started = await startApplicationRestore(request(), plan, cfg, deps);

    // Polled as the state machine does, past restoreDeadlineMinutes (60): with the pods gated, the
    // Restore stays InProgress and the check ends RestoreDeadlineExceeded.
    let status = await checkApplicationRestore(request(), plan, started, cfg, deps);
    for (let i = 0; i < 8 && !status.done; i++) {
      api.store.advance(10 * MINUTE);
      api.velero.tick();
      status = await checkApplicationRestore(request(), plan, started, cfg, deps);
    }
    expect(status).toMatchObject({ done: true, phase: "Completed", partial: false });
    expect(plan.application?.hold).toEqual({
      mode: "database-secret",
      fileSystemVolumes: ["server-6d8f9c-x2x7q/workspace-data"],
    });
    expect(volumes.restored).toEqual(["gitpod/server-6d8f9c-x2x7q/workspace-data"]);
    // Held by the Secret, not a gate: no container can reach the old (or any) database.
    expect(secretData(api.store, "gitpod", "database")).toEqual({ host: HELD_DATABASE_HOST, port: "5432" });
    expect(podObject("server-6d8f9c-x2x7q")?.spec).not.toHaveProperty("schedulingGates");
    const server = api.store.get("apps/v1", "Deployment", "gitpod", "server");
    expect(server?.metadata.annotations).toEqual({ [HELD_ANNOTATION]: "fs-1" });

    // Point application writes the restored host; Redeploy releases and restarts every workload.
    await pointApplication(plan, { endpoint: NEW_HOST, port: 5432 }, cfg, deps);
    expect(secretData(api.store, "gitpod", "database")?.host).toBe(NEW_HOST);
    const redeployed = await redeploy(request(), plan, cfg, deps);
    expect(redeployed.released).toEqual(["deployment/proxy", "deployment/server"]);
    expect(redeployed.restarted).toEqual(["deployment/proxy", "deployment/server"]);
  });

  it("refuses a restore without the database tier: nothing would replace the held host", async () => {
    const error = await rejection(buildPlan(request(["application"]), config(), planDeps()));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.message).toContain(
      `backup ${BACKUP} holds file-system volumes of pods in gitpod (server-6d8f9c-x2x7q/workspace-data)`,
    );
    expect(error.message).toContain("restore the database tier too");
    expect(error.message).toContain("defaultVolumesToFsBackup false");
    expect(api.store.list("velero.io/v1", "Restore", "velero")).toEqual([]);
  });

  it("refuses when the database Secret already exists in the cluster: Velero would not overwrite it", async () => {
    seedSecret(api.store, "gitpod", "database", { host: OLD_HOST, port: "5432" });
    const error = await rejection(buildPlan(request(), config(), planDeps()));
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error.message).toContain("that Secret already exists in the cluster");
    expect(error.message).toContain("delete Secret gitpod/database (or the namespace) before restoring");
  });
});
