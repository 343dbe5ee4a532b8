/**
 * The Velero backup job (`runVeleroBackupJob`) end to end against the Kubernetes API simulator, reached
 * the way the Lambda function reaches EKS: `connectCluster` → EKS DescribeCluster (mocked) for the
 * endpoint and CA → an in-process EKS token that the simulator decodes and verifies (SigV4) and maps to
 * the function's role in group `gitpod-dr` → RBAC from deploy/rbac.yaml → the real client-node calls.
 * Assertions are on what the job returns or throws and on the simulator's store.
 */
import { DescribeClusterCommand } from "@aws-sdk/client-eks";
import { afterEach, describe, expect, it } from "vitest";
import type { ApplicationConfig } from "../../packages/core/src/config.ts";
import { runVeleroBackupJob, type VeleroBackupSummary } from "../../packages/core/src/velero/backup.ts";
import {
  KubeApiError,
  VeleroBackupFailedError,
  VeleroBackupStuckError,
  VeleroBackupUnknownError,
  VeleroConflictError,
  VeleroPreflightError,
} from "../../packages/core/src/velero/errors.ts";
import { type KubeApi, loadRbac, startKubeApi } from "../../packages/sim/src/kube/server.ts";
import {
  appConfig,
  backupsIn,
  CREDENTIALS,
  connectViaEks,
  type EksAuthenticator,
  eksAuthenticator,
  FUNCTION_USER,
  KOTSADM_IMAGE,
  rejection,
  seedBackup,
  seedGitpod,
  seedVelero,
  type VeleroSeed,
} from "../../packages/sim/src/kube/velero-cluster.ts";

const WINDOW = "2026-11-26T02:00:00Z";
const NAME = "gitpod-dr-2026-11-26-0200";
const PREVIOUS_WINDOW = "2026-11-25T02:00:00Z";
const PREVIOUS = "gitpod-dr-2026-11-25-0200";

let api: KubeApi | undefined;
let auth: EksAuthenticator;

afterEach(async () => {
  await api?.stop();
  api = undefined;
});

/** A fresh simulated cluster: Velero as `velero` says, the application in gitpod. */
async function cluster(
  options: { velero?: VeleroSeed; kotsadm?: boolean; veleroInstalled?: boolean; rbac?: unknown[] } = {},
): Promise<KubeApi> {
  let sim: KubeApi | undefined;
  // The token is checked against the simulated cluster's clock (EKS rejects tokens older than 15 min).
  auth = eksAuthenticator({ clock: () => (sim as KubeApi).store.now() });
  sim = await startKubeApi({
    authenticate: auth.authenticate,
    rbac: options.rbac ?? loadRbac(),
    veleroInstalled: options.veleroInstalled ?? true,
  });
  api = sim;
  sim.store.setNow(WINDOW);
  seedVelero(sim.store, options.velero);
  seedGitpod(sim.store, { kotsadm: options.kotsadm ?? false });
  return sim;
}

/** One run of the job for `window`, 5 s after it, through EKS; a fresh connection (a cold start). */
async function runJob(
  sim: KubeApi,
  app: ApplicationConfig,
  window = WINDOW,
  options: { dryRun?: boolean } = {},
): Promise<VeleroBackupSummary> {
  sim.store.setNow(Date.parse(window) + 5_000);
  const { kube } = await connectViaEks(sim, { now: () => sim.store.now() });
  return runVeleroBackupJob({ time: new Date(window), dryRun: options.dryRun ?? false }, app, kube, {
    now: () => sim.store.now(),
  });
}

const ownLabels = (window: string) => ({
  "gitpod-dr/created-by": "gitpod-dr",
  "gitpod-dr/window": window,
});

const noWrites = (sim: KubeApi) => sim.requests.filter((r) => r.method !== "GET");

describe("preflight", () => {
  const failures: {
    title: string;
    setup: Parameters<typeof cluster>[0];
    app?: Record<string, unknown>;
    check: string;
    message: (string | RegExp)[];
  }[] = [
    {
      title: "Velero not installed (velero.io/v1 not served)",
      setup: { veleroInstalled: false },
      check: "velero-api",
      message: ["Velero is not installed in this cluster", "velero.io/v1"],
    },
    {
      title: "storage location Unavailable, with Velero's message",
      setup: {
        velero: {
          bsl: {
            phase: "Unavailable",
            message: "BackupStorageLocation default: AccessDenied: Access Denied status code: 403",
          },
        },
      },
      check: "storage-location",
      message: [
        "BackupStorageLocation default is Unavailable, not Available",
        "AccessDenied: Access Denied status code: 403",
        "check the bucket",
      ],
    },
    {
      title: "storage location missing",
      setup: { velero: { bsl: null } },
      check: "storage-location",
      message: ["BackupStorageLocation default does not exist in namespace velero", "storageLocation"],
    },
    {
      title: "Velero's Deployment not in the configured namespace",
      setup: { velero: { namespace: "velero-system" } },
      check: "namespace",
      message: ['Deployment "velero" is not in namespace velero', "application.velero.namespace"],
    },
    {
      title: "version unknown with restic: image without a tag",
      setup: { velero: { image: "velero/velero" } },
      app: { velero: { fsBackupUploader: "restic" } },
      check: "version",
      message: ["Velero's version is unknown", '"velero/velero"', "version-tagged image", "kopia"],
    },
    {
      title: "version unknown with restic: image by digest only (registry with a port)",
      setup: {
        velero: {
          image: `registry.internal:5000/velero/velero@sha256:${"ab".repeat(32)}`,
        },
      },
      app: { velero: { fsBackupUploader: "restic" } },
      check: "version",
      message: ["Velero's version is unknown", "registry.internal:5000/velero/velero@sha256:"],
    },
    {
      title: "restic asked of Velero 1.17.0",
      setup: { velero: { image: "velero/velero:v1.17.0" } },
      app: { velero: { fsBackupUploader: "restic" } },
      check: "version",
      message: ["restic", "removed in 1.17", "v1.17.0", "kopia"],
    },
  ];

  it.each(failures)("fails on $title, naming the check, and creates nothing", async (c) => {
    const sim = await cluster(c.setup);
    const error = await rejection(runJob(sim, appConfig(c.app)));

    expect(error).toBeInstanceOf(VeleroPreflightError);
    expect(error.name).toBe("VeleroPreflightFailed");
    expect((error as unknown as VeleroPreflightError).check).toBe(c.check);
    for (const part of c.message) expect(error.message).toContain(part);
    expect(backupsIn(sim.store)).toEqual([]);
    expect(noWrites(sim)).toEqual([]);
    expect(auth.rejections).toEqual([]);
  });

  it("fails the same way in a dry run", async () => {
    const sim = await cluster({ velero: { bsl: { phase: "Unavailable", message: "bucket gone" } } });
    const error = await rejection(runJob(sim, appConfig(), WINDOW, { dryRun: true }));
    expect(error).toMatchObject({ name: "VeleroPreflightFailed", check: "storage-location" });
    expect(error.message).toContain("bucket gone");
  });

  it("backs up with kopia when Velero's image has no version tag (pinned by digest), reporting the version unknown", async () => {
    const sim = await cluster({ velero: { image: `velero/velero@sha256:${"cd".repeat(32)}` } });
    const summary = await runJob(sim, appConfig());
    expect(summary.veleroVersion).toBe("unknown");
    expect(summary.backup.created).toBe(true);
    expect(backupsIn(sim.store)).toHaveLength(1);
  });

  it("lets restic pass on Velero 1.16.2", async () => {
    const sim = await cluster({ velero: { image: "velero/velero:v1.16.2" } });
    const summary = await runJob(sim, appConfig({ velero: { fsBackupUploader: "restic" } }));
    expect(summary.veleroVersion).toBe("v1.16.2");
    expect(summary.backup).toEqual({ name: NAME, created: true, alreadyExisted: false });
  });
});

describe("creating this window's Backup", () => {
  it("creates gitpod-dr-<window> with our labels and the configured spec, and returns the summary", async () => {
    const sim = await cluster();
    const summary = await runJob(sim, appConfig());

    expect(summary).toEqual({
      cluster: "gitpod",
      window: "2026-11-26-0200",
      dryRun: false,
      backup: { name: NAME, created: true, alreadyExisted: false },
      veleroVersion: "v1.16.2",
      kots: false,
    });
    const backups = backupsIn(sim.store);
    expect(backups).toHaveLength(1);
    expect(backups[0]?.metadata).toMatchObject({
      name: NAME,
      namespace: "velero",
      labels: ownLabels("2026-11-26-0200"),
      creationTimestamp: "2026-11-26T02:00:05Z",
    });
    expect(backups[0]?.metadata.annotations).toBeUndefined();
    expect(backups[0]?.spec).toEqual({
      includedNamespaces: ["gitpod"],
      ttl: "720h0m0s",
      storageLocation: "default",
    });
    expect(sim.requests.filter((r) => r.method === "POST")).toEqual([
      expect.objectContaining({
        path: "/apis/velero.io/v1/namespaces/velero/backups",
        status: 201,
        user: FUNCTION_USER.name,
      }),
    ]);
  });

  it("passes the optional spec fields through", async () => {
    const sim = await cluster();
    await runJob(
      sim,
      appConfig({
        velero: {
          ttl: "168h",
          includedNamespaces: ["gitpod"],
          excludedResources: ["events", "events.events.k8s.io"],
          snapshotVolumes: false,
          defaultVolumesToFsBackup: true,
        },
      }),
    );
    expect(backupsIn(sim.store)[0]?.spec).toEqual({
      includedNamespaces: ["gitpod"],
      excludedResources: ["events", "events.events.k8s.io"],
      ttl: "168h",
      storageLocation: "default",
      snapshotVolumes: false,
      defaultVolumesToFsBackup: true,
    });
  });

  it("is idempotent: a second run for the same window adopts the Backup", async () => {
    const sim = await cluster();
    await runJob(sim, appConfig());
    sim.velero.tick();
    const second = await runJob(sim, appConfig());

    expect(second.backup).toEqual({ name: NAME, created: false, alreadyExisted: true });
    expect(second.previous).toBeUndefined();
    expect(backupsIn(sim.store).map((b) => b.metadata.name)).toEqual([NAME]);
    expect(sim.requests.filter((r) => r.method === "POST").map((r) => r.status)).toEqual([201, 409]);
  });

  it("refuses a Backup of that name that gitpod-dr did not create (VeleroConflict)", async () => {
    const sim = await cluster();
    seedBackup(sim.store, NAME, { createdAt: "2026-11-26T01:00:00Z", phase: "Completed" });

    const error = await rejection(runJob(sim, appConfig()));

    expect(error).toBeInstanceOf(VeleroConflictError);
    expect(error.name).toBe("VeleroConflict");
    expect(error.message).toContain(
      `A Backup named ${NAME} exists in velero but was not created by gitpod-dr`,
    );
    const backups = backupsIn(sim.store);
    expect(backups).toHaveLength(1);
    expect(backups[0]?.metadata.labels).toBeUndefined();
  });
});

describe("KOTS snapshot annotations", () => {
  const KOTS_ALL = {
    "kots.io/instance": "true",
    "kots.io/snapshot-trigger": "schedule",
    "kots.io/snapshot-requested": "2026-11-26T02:00:05Z",
    "kots.io/kotsadm-image": KOTSADM_IMAGE,
    "kots.io/kotsadm-deploy-namespace": "gitpod",
  };

  it("auto + kotsadm in gitpod: every KOTS annotation", async () => {
    const sim = await cluster({ kotsadm: true });
    const summary = await runJob(sim, appConfig({ kots: "auto" }));
    expect(summary.kots).toBe(true);
    expect(backupsIn(sim.store)[0]?.metadata.annotations).toEqual(KOTS_ALL);
  });

  it("auto without kotsadm: none", async () => {
    const sim = await cluster({ kotsadm: false });
    const summary = await runJob(sim, appConfig({ kots: "auto" }));
    expect(summary.kots).toBe(false);
    expect(backupsIn(sim.store)[0]?.metadata.annotations).toBeUndefined();
  });

  it("off with kotsadm: none, and kotsadm is not even looked up", async () => {
    const sim = await cluster({ kotsadm: true });
    const summary = await runJob(sim, appConfig({ kots: "off" }));
    expect(summary.kots).toBe(false);
    expect(backupsIn(sim.store)[0]?.metadata.annotations).toBeUndefined();
    expect(sim.requests.some((r) => r.path.endsWith("/deployments/kotsadm"))).toBe(false);
  });
  // on without kotsadm: refused (test/integration/velero-backup-kots.test.ts).
});

describe("verdict on the previous backup", () => {
  /** The previous run (at `previousWindow`) created its Backup; `drive` moves it; then this window's run. */
  async function afterPrevious(
    drive: (sim: KubeApi) => void,
    options: { previousWindow?: string; app?: ApplicationConfig } = {},
  ) {
    const sim = await cluster();
    const app = options.app ?? appConfig();
    const first = await runJob(sim, app, options.previousWindow ?? PREVIOUS_WINDOW);
    expect(first.backup.created).toBe(true);
    drive(sim);
    const outcome = await runJob(sim, app, WINDOW).then(
      (summary) => ({ summary, error: undefined }),
      (error: Error & { summary?: VeleroBackupSummary }) => ({ summary: error.summary, error }),
    );
    return { sim, ...outcome };
  }

  it("Completed: good, reported in summary.previous", async () => {
    const { sim, summary, error } = await afterPrevious((s) => {
      s.velero.tick();
      s.velero.tick();
    });
    expect(error).toBeUndefined();
    expect(summary?.previous).toEqual({
      name: PREVIOUS,
      phase: "Completed",
      ageMinutes: 1440,
      errors: 0,
      warnings: 0,
    });
    expect(backupsIn(sim.store).map((b) => b.metadata.name)).toEqual([PREVIOUS, NAME]);
  });

  it("PartiallyFailed: VeleroBackupFailed with errors, warnings and failure reason; this window's backup is still created", async () => {
    const { sim, summary, error } = await afterPrevious((s) => {
      s.velero.planBackup(PREVIOUS, [
        { phase: "InProgress" },
        {
          phase: "PartiallyFailed",
          status: { errors: 2, warnings: 5, failureReason: "volume snapshot of gitpod/minio failed" },
        },
      ]);
      s.velero.tick();
      s.velero.tick();
    });
    expect(error).toBeInstanceOf(VeleroBackupFailedError);
    expect(error?.name).toBe("VeleroBackupFailed");
    expect(error?.message).toContain(
      `The previous Velero backup ${PREVIOUS} on cluster gitpod did not complete`,
    );
    expect(error?.message).toContain("phase PartiallyFailed, 2 error(s), 5 warning(s)");
    expect(error?.message).toContain("failure reason: volume snapshot of gitpod/minio failed");
    expect(error?.message).toContain(`velero backup describe ${PREVIOUS} --details`);
    expect(error?.message).toContain(`This window's backup ${NAME} was created.`);
    expect(summary?.backup).toEqual({ name: NAME, created: true, alreadyExisted: false });
    expect(summary?.previous).toEqual({
      name: PREVIOUS,
      phase: "PartiallyFailed",
      ageMinutes: 1440,
      errors: 2,
      warnings: 5,
      failureReason: "volume snapshot of gitpod/minio failed",
    });
    const current = sim.store.get("velero.io/v1", "Backup", "velero", NAME);
    expect(current?.metadata.labels).toEqual(ownLabels("2026-11-26-0200"));
  });

  it("Failed: VeleroBackupFailed with the failure reason", async () => {
    const { sim, error } = await afterPrevious((s) =>
      s.velero.setPhase("Backup", "velero", PREVIOUS, "Failed", {
        failureReason: "error getting backup store for location default: AccessDenied",
      }),
    );
    expect(error?.name).toBe("VeleroBackupFailed");
    expect(error?.message).toContain("phase Failed");
    expect(error?.message).toContain(
      "failure reason: error getting backup store for location default: AccessDenied",
    );
    expect(backupsIn(sim.store)).toHaveLength(2);
  });

  it("FailedValidation: VeleroBackupFailed listing the validation errors", async () => {
    const { error } = await afterPrevious((s) =>
      s.velero.setPhase("Backup", "velero", PREVIOUS, "FailedValidation", {
        validationErrors: [
          "an existing backup storage location wasn't specified at backup creation time and the default 'default' wasn't found",
          "Invalid included/excluded namespace lists: excludes list cannot contain an item in the includes list: gitpod",
        ],
      }),
    );
    expect(error?.name).toBe("VeleroBackupFailed");
    expect(error?.message).toContain("phase FailedValidation");
    expect(error?.message).toContain(
      "validation errors: an existing backup storage location wasn't specified at backup creation time and the default 'default' wasn't found; Invalid included/excluded namespace lists",
    );
  });

  it("New (not yet picked up) younger than stuckAfterMinutes: running, not an error", async () => {
    const { summary, error } = await afterPrevious(() => undefined, {
      previousWindow: "2026-11-26T01:00:00Z",
    });
    expect(error).toBeUndefined();
    expect(summary?.previous).toMatchObject({
      name: "gitpod-dr-2026-11-26-0100",
      phase: "New",
      ageMinutes: 60,
    });
  });

  it("InProgress younger than stuckAfterMinutes (ticked): running, not an error", async () => {
    const { summary, error } = await afterPrevious(
      (s) => {
        s.velero.planBackup("gitpod-dr-2026-11-26-0100", [{ phase: "InProgress" }]);
        s.velero.tick();
      },
      { previousWindow: "2026-11-26T01:00:00Z" },
    );
    expect(error).toBeUndefined();
    expect(summary?.previous).toMatchObject({
      name: "gitpod-dr-2026-11-26-0100",
      phase: "InProgress",
      ageMinutes: 60,
    });
  });

  it("InProgress older than stuckAfterMinutes: VeleroBackupStuck with its age", async () => {
    const { sim, error } = await afterPrevious((s) => {
      s.velero.planBackup(PREVIOUS, [{ phase: "InProgress" }]);
      s.velero.tick();
    });
    expect(error).toBeInstanceOf(VeleroBackupStuckError);
    expect(error?.name).toBe("VeleroBackupStuck");
    expect(error?.message).toContain(`${PREVIOUS} on cluster gitpod has been InProgress for 1440 minutes`);
    expect(error?.message).toContain("(deadline 240)");
    expect(error?.message).toContain("kubectl -n velero logs deploy/velero");
    expect((error as unknown as { retryable: boolean }).retryable).toBe(true);
    expect(backupsIn(sim.store)).toHaveLength(2);
  });

  it("honours a configured stuckAfterMinutes", async () => {
    const { error } = await afterPrevious(
      (s) => s.velero.setPhase("Backup", "velero", "gitpod-dr-2026-11-26-0100", "InProgress"),
      { previousWindow: "2026-11-26T01:00:00Z", app: appConfig({ stuckAfterMinutes: 30 }) },
    );
    expect(error?.name).toBe("VeleroBackupStuck");
    expect(error?.message).toContain("for 60 minutes (deadline 30)");
  });

  it.each(["New", "Queued", "WaitingForPluginOperations", "Finalizing"])(
    "%s past the deadline: VeleroBackupStuck",
    async (phase) => {
      const { error, summary } = await afterPrevious((s) => {
        // "New": Velero never picked the backup up (the object has no status at all).
        if (phase !== "New") s.velero.setPhase("Backup", "velero", PREVIOUS, phase);
      });
      expect(error?.name).toBe("VeleroBackupStuck");
      expect(error?.message).toContain(`has been ${phase} for 1440 minutes`);
      expect(summary?.previous).toMatchObject({ name: PREVIOUS, phase, ageMinutes: 1440 });
    },
  );

  it("Deleting for 20 hours since it expired: VeleroBackupStuck (deletion never finished)", async () => {
    const { error, summary } = await afterPrevious((s) =>
      // A 4 h TTL: expired 20 h before this run; garbage collection started deleting it then.
      s.velero.setPhase("Backup", "velero", PREVIOUS, "Deleting", { expiration: "2026-11-25T06:00:05Z" }),
    );
    expect(error).toBeInstanceOf(VeleroBackupStuckError);
    expect(error?.message).toContain(`${PREVIOUS} on cluster gitpod has been Deleting for 1200 minutes`);
    expect(summary?.previous).toMatchObject({ name: PREVIOUS, phase: "Deleting", ageMinutes: 1440 });
  });

  it("a phase Velero does not document, past the deadline: VeleroBackupStuck naming it", async () => {
    const { error } = await afterPrevious((s) =>
      s.velero.setPhase("Backup", "velero", PREVIOUS, "Archiving"),
    );
    expect(error?.name).toBe("VeleroBackupStuck");
    expect(error?.message).toContain("has been Archiving for 1440 minutes");
    expect(error?.message).toContain("a phase gitpod-dr does not know");
  });

  it("a phase Velero does not document, within the deadline: VeleroBackupUnknown naming it", async () => {
    const { error, summary } = await afterPrevious(
      (s) => s.velero.setPhase("Backup", "velero", "gitpod-dr-2026-11-26-0100", "Archiving"),
      { previousWindow: "2026-11-26T01:00:00Z" },
    );
    expect(error).toBeInstanceOf(VeleroBackupUnknownError);
    expect(error?.name).toBe("VeleroBackupUnknown");
    expect(error?.message).toContain(
      'The previous Velero backup gitpod-dr-2026-11-26-0100 on cluster gitpod is in phase "Archiving"',
    );
    expect(error?.message).toContain("60 minutes old");
    expect(error?.message).toContain(`This window's backup ${NAME} was created.`);
    expect(summary?.previous).toMatchObject({ name: "gitpod-dr-2026-11-26-0100", phase: "Archiving" });
  });

  it("judges the current phase: a backup that went Failed → Completed is good", async () => {
    const sim = await cluster();
    await runJob(sim, appConfig(), PREVIOUS_WINDOW);
    sim.velero.setPhase("Backup", "velero", PREVIOUS, "Failed", { failureReason: "transient" });
    const failed = await rejection(runJob(sim, appConfig(), WINDOW));
    expect(failed.name).toBe("VeleroBackupFailed");

    // Velero's backup sync (or a re-run) flips it later.
    sim.velero.setPhase("Backup", "velero", PREVIOUS, "Completed", { failureReason: "" });
    const again = await runJob(sim, appConfig(), WINDOW);
    expect(again.backup).toEqual({ name: NAME, created: false, alreadyExisted: true });
    expect(again.previous).toMatchObject({ name: PREVIOUS, phase: "Completed" });
    expect(again.previous?.failureReason).toBeUndefined();
    expect(backupsIn(sim.store)).toHaveLength(2);
  });

  it("ignores backups gitpod-dr did not create", async () => {
    const { summary, error } = await afterPrevious((s) => {
      s.velero.tick();
      s.velero.tick();
      // Newer than ours, failed, and not ours: a KOTS or hand-made backup.
      seedBackup(s.store, "instance-x7k2p", {
        createdAt: "2026-11-26T01:30:00Z",
        phase: "Failed",
        annotations: { "kots.io/instance": "true" },
        status: { failureReason: "not ours" },
      });
      seedBackup(s.store, "manual-before-upgrade", {
        createdAt: "2026-11-26T01:45:00Z",
        phase: "PartiallyFailed",
        status: { errors: 9 },
      });
    });
    expect(error).toBeUndefined();
    expect(summary?.previous).toMatchObject({ name: PREVIOUS, phase: "Completed" });
  });

  it("finds the newest previous backup across list pages (more than 500 backups)", async () => {
    const sim = await cluster();
    const start = Date.parse("2026-01-01T02:00:00Z");
    for (let i = 0; i < 505; i++) {
      const at = new Date(start + i * 3_600_000);
      const stamp = at.toISOString();
      seedBackup(sim.store, `gitpod-dr-${stamp.slice(0, 10)}-${stamp.slice(11, 13)}00`, {
        createdAt: stamp.replace(/\.\d{3}Z$/, "Z"),
        phase: i === 504 ? "Failed" : "Completed",
        ours: true,
        ...(i === 504 ? { status: { failureReason: "the newest one failed" } } : {}),
      });
    }
    const error = await rejection(runJob(sim, appConfig(), WINDOW));
    expect(error.name).toBe("VeleroBackupFailed");
    expect(error.message).toContain("previous Velero backup gitpod-dr-2026-01-22-0200 ");
    expect(error.message).toContain("the newest one failed");
    const lists = sim.requests.filter((r) => r.method === "GET" && r.path.endsWith("/backups"));
    expect(lists).toHaveLength(2);
    expect(lists[0]?.query).toContain("limit=500");
    expect(lists[1]?.query).toContain("continue=");
  });
});

describe("dry run", () => {
  it("runs the preflight and reports, creating nothing", async () => {
    const sim = await cluster({ kotsadm: true });
    const summary = await runJob(sim, appConfig(), WINDOW, { dryRun: true });

    expect(summary).toEqual({
      cluster: "gitpod",
      window: "2026-11-26-0200",
      dryRun: true,
      backup: { name: NAME, created: false, alreadyExisted: false },
      veleroVersion: "v1.16.2",
      kots: true,
      kotsadm: `Deployment gitpod/kotsadm (${KOTSADM_IMAGE})`,
    });
    expect(backupsIn(sim.store)).toEqual([]);
    expect(noWrites(sim)).toEqual([]);
    const paths = sim.requests.map((r) => r.path);
    expect(paths).toContain("/apis/velero.io/v1");
    expect(paths).toContain("/apis/apps/v1/namespaces/velero/deployments/velero");
    expect(paths).toContain("/apis/velero.io/v1/namespaces/velero/backupstoragelocations/default");
  });

  it("says when this window's backup exists already", async () => {
    const sim = await cluster();
    await runJob(sim, appConfig());
    const summary = await runJob(sim, appConfig(), WINDOW, { dryRun: true });
    expect(summary.backup).toEqual({ name: NAME, created: false, alreadyExisted: true });
    expect(backupsIn(sim.store)).toHaveLength(1);
  });

  // BUG (see report): a dry run reports a foreign Backup of this window's name as "exists" and succeeds,
  // while the real run fails with VeleroConflict; the dry run should predict that failure.
  it("reports the conflict a real run would hit (a foreign Backup with this window's name)", async () => {
    const sim = await cluster();
    seedBackup(sim.store, NAME, { createdAt: "2026-11-26T01:00:00Z", phase: "Completed" });
    const error = await rejection(runJob(sim, appConfig(), WINDOW, { dryRun: true }));
    expect(error.name).toBe("VeleroConflict");
    expect(noWrites(sim)).toEqual([]);
  });
});

describe("access: EKS token, RBAC, 401", () => {
  it("needs nothing beyond deploy/rbac.yaml: no request is refused", async () => {
    const sim = await cluster({ kotsadm: true });
    await runJob(sim, appConfig(), PREVIOUS_WINDOW);
    sim.velero.setPhase("Backup", "velero", PREVIOUS, "PartiallyFailed", { errors: 1 });
    await rejection(runJob(sim, appConfig(), WINDOW));
    await runJob(sim, appConfig(), WINDOW, { dryRun: true }).catch(() => undefined);

    expect(sim.requests.length).toBeGreaterThan(10);
    expect(sim.requests.filter((r) => r.status === 403 || r.status === 401)).toEqual([]);
    expect(new Set(sim.requests.map((r) => r.user))).toEqual(new Set([FUNCTION_USER.name]));
    expect(auth.rejections).toEqual([]);
  });

  it("without `create backups` in the Role: KubeApiError 403 naming deploy/rbac.yaml", async () => {
    const rbac = loadRbac() as { kind: string; metadata: { name: string }; rules?: { verbs: string[] }[] }[];
    const role = rbac.find((d) => d.kind === "Role" && d.metadata.name === "gitpod-dr-velero");
    const rule = role?.rules?.[0];
    expect(rule?.verbs).toContain("create");
    if (rule) rule.verbs = rule.verbs.filter((v) => v !== "create");
    const sim = await cluster({ rbac });

    const error = await rejection(runJob(sim, appConfig()));

    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ name: "KubeApiError", status: 403, reason: "Forbidden", retryable: false });
    expect(error.message).toContain(`Create backups.velero.io velero/${NAME} on cluster gitpod`);
    expect(error.message).toContain(
      `User "${FUNCTION_USER.name}" cannot create resource "backups" in API group "velero.io"`,
    );
    expect(error.message).toContain("deploy/rbac.yaml for backups");
    expect(backupsIn(sim.store)).toEqual([]);
  });

  it("a token the cluster does not accept: KubeApiError 401 pointing at the access entry", async () => {
    const sim = await cluster();
    sim.store.setNow(Date.parse(WINDOW) + 5_000);
    const { kube } = await connectViaEks(sim, {
      now: () => sim.store.now(),
      credentials: { ...CREDENTIALS, accessKeyId: "ASIAUNMAPPEDROLE0002" },
    });
    const error = await rejection(
      runVeleroBackupJob({ time: new Date(WINDOW), dryRun: false }, appConfig(), kube, {
        now: () => sim.store.now(),
      }),
    );

    expect(error).toBeInstanceOf(KubeApiError);
    expect(error).toMatchObject({ status: 401 });
    expect(error.message).toContain("on cluster gitpod");
    expect(error.message).toContain("check the EKS access entry for its role");
    expect(auth.rejections).toEqual(["unknown access key"]);
    expect(backupsIn(sim.store)).toEqual([]);
  });

  // Regression: client-node 2.0.1 (the client before kube-http.ts) dropped the body of a 401, so the reason
  // was "HTTP_401" and the message carried its multi-line dump of the response headers into SNS.
  it("reports a 401 as Kubernetes does: reason Unauthorized, one line, no response dump", async () => {
    const sim = await cluster();
    sim.store.setNow(Date.parse(WINDOW) + 5_000);
    const { kube } = await connectViaEks(sim, {
      now: () => sim.store.now(),
      credentials: { ...CREDENTIALS, accessKeyId: "ASIAUNMAPPEDROLE0002" },
    });
    const error = await rejection(kube.veleroApiServed());
    expect(error).toMatchObject({ name: "KubeApiError", status: 401, reason: "Unauthorized" });
    expect(error.message).toBe(
      "Discover velero.io/v1 on cluster gitpod: Unauthorized (HTTP 401 Unauthorized) — the cluster does not accept the function's identity: check the EKS access entry for its role",
    );
  });

  it("refreshes the token: the same one for 10 minutes, a new one after 11", async () => {
    const sim = await cluster();
    let clock = Date.parse(WINDOW);
    sim.store.setNow(clock);
    const { kube, eks } = await connectViaEks(sim, { now: () => new Date(clock) });

    expect(await kube.veleroApiServed()).toBe(true);
    clock += 9 * 60_000;
    sim.store.setNow(clock);
    expect(await kube.getVelero("backupstoragelocations", "velero", "default")).toBeDefined();
    expect(new Set(auth.tokens).size).toBe(1);

    clock += 2 * 60_000; // 11 minutes after the first token was signed
    sim.store.setNow(clock);
    await kube.listVelero("backups", "velero", "gitpod-dr/created-by=gitpod-dr");

    expect(auth.tokens).toHaveLength(3);
    expect(auth.tokens[2]).not.toBe(auth.tokens[0]);
    expect(auth.rejections).toEqual([]);
    const signedAt = (token: string) =>
      new URL(Buffer.from(token.slice("k8s-aws-v1.".length), "base64url").toString()).searchParams.get(
        "X-Amz-Date",
      );
    expect(signedAt(auth.tokens[0] as string)).toBe("20261126T020000Z");
    expect(signedAt(auth.tokens[2] as string)).toBe("20261126T021100Z");
    // The endpoint is described once; only the token is renewed.
    expect(eks.commandCalls(DescribeClusterCommand)).toHaveLength(1);
  });

  it("never puts the bearer token in an error message", async () => {
    const errors: Error[] = [];
    // 401
    let sim = await cluster();
    sim.store.setNow(Date.parse(WINDOW) + 5_000);
    const bad = await connectViaEks(sim, {
      now: () => sim.store.now(),
      credentials: { ...CREDENTIALS, accessKeyId: "ASIAUNMAPPEDROLE0002" },
    });
    errors.push(
      await rejection(
        runVeleroBackupJob({ time: new Date(WINDOW), dryRun: false }, appConfig(), bad.kube, {
          now: () => sim.store.now(),
        }),
      ),
    );
    const tokens = [...auth.tokens];
    await sim.stop();
    // 403, a preflight failure, a failed previous backup
    const rbac = loadRbac() as { kind: string; rules?: { verbs: string[] }[] }[];
    for (const d of rbac) if (d.kind === "Role") for (const r of d.rules ?? []) r.verbs = ["get"];
    sim = await cluster({ rbac });
    errors.push(await rejection(runJob(sim, appConfig())));
    tokens.push(...auth.tokens);
    await sim.stop();
    sim = await cluster({ velero: { bsl: { phase: "Unavailable", message: "no bucket" } } });
    errors.push(await rejection(runJob(sim, appConfig())));
    tokens.push(...auth.tokens);
    await sim.stop();
    sim = await cluster();
    await runJob(sim, appConfig(), PREVIOUS_WINDOW);
    sim.velero.setPhase("Backup", "velero", PREVIOUS, "Failed", { failureReason: "boom" });
    errors.push(await rejection(runJob(sim, appConfig())));
    tokens.push(...auth.tokens);

    expect(errors.map((e) => e.name)).toEqual([
      "KubeApiError",
      "KubeApiError",
      "VeleroPreflightFailed",
      "VeleroBackupFailed",
    ]);
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    for (const error of errors) {
      const texts = [error.message, error.stack ?? "", String((error.cause as Error | undefined)?.message)];
      for (const text of texts) {
        expect(text).not.toContain("k8s-aws-v1.");
        for (const token of tokens) expect(text).not.toContain(token.slice("k8s-aws-v1.".length, 60));
        expect(text).not.toContain(CREDENTIALS.secretAccessKey);
      }
    }
  });
});
