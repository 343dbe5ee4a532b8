import { describe, expect, it } from "vitest";
import { type ApplicationConfig, applicationConfigSchema } from "../../../packages/core/src/config.ts";
import {
  buildBackup,
  judgePrevious,
  kotsAnnotations,
  veleroImage,
  veleroVersionFromImage,
} from "../../../packages/core/src/velero/backup.ts";
import type { Deployment, KubeObject } from "../../../packages/core/src/velero/kube.ts";

const DIGEST = `sha256:${"ab12".repeat(16)}`;

const app = (velero: Record<string, unknown> = {}): ApplicationConfig =>
  applicationConfigSchema.parse({
    cluster: { name: "gitpod" },
    schedule: "cron(0 2 * * ? *)",
    velero,
  });

describe("veleroVersionFromImage", () => {
  it.each([
    ["velero/velero:v1.16.2", { major: 1, minor: 16, patch: 2, text: "v1.16.2" }],
    [
      `registry:5000/velero/velero:v1.17.0-rc.1@${DIGEST}`,
      { major: 1, minor: 17, patch: 0, text: "v1.17.0-rc.1" },
    ],
    ["docker.io/velero/velero:v2.0.0", { major: 2, minor: 0, patch: 0, text: "v2.0.0" }],
    ["velero/velero:1.15", { major: 1, minor: 15, patch: 0, text: "1.15" }],
    ["velero:v1.14.1", { major: 1, minor: 14, patch: 1, text: "v1.14.1" }],
    [
      "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/velero/velero:v1.16.1-amd64",
      { major: 1, minor: 16, patch: 1, text: "v1.16.1-amd64" },
    ],
  ])("reads %s", (image, version) => {
    expect(veleroVersionFromImage(image)).toEqual(version);
  });

  it.each([
    ["velero/velero"],
    [`velero/velero@${DIGEST}`],
    ["registry:5000/velero/velero"],
    [`registry:5000/velero/velero@${DIGEST}`],
    ["velero/velero:latest"],
    ["velero/velero:main"],
    ["velero/velero:v1"],
    [""],
    [undefined],
  ])("finds no version in %j", (image) => {
    expect(veleroVersionFromImage(image)).toBeUndefined();
  });
});

describe("veleroImage", () => {
  const deployment = (containers: { name: string; image?: string }[]): Deployment => ({
    metadata: { name: "velero", namespace: "velero" },
    spec: { template: { spec: { containers } } },
  });

  it("picks the container named velero, wherever it is in the list", () => {
    expect(
      veleroImage(
        deployment([
          { name: "kube-rbac-proxy", image: "quay.io/brancz/kube-rbac-proxy:v0.18.0" },
          { name: "velero", image: "velero/velero:v1.16.2" },
        ]),
      ),
    ).toBe("velero/velero:v1.16.2");
  });

  it("falls back to the container whose image repository is velero, never a sidecar's", () => {
    expect(
      veleroImage(
        deployment([
          { name: "proxy", image: "quay.io/brancz/kube-rbac-proxy:v0.18.0" },
          { name: "server", image: "registry.example.com:5000/mirror/velero:v1.15.0" },
        ]),
      ),
    ).toBe("registry.example.com:5000/mirror/velero:v1.15.0");
    expect(
      veleroImage(deployment([{ name: "proxy", image: "quay.io/brancz/kube-rbac-proxy:v0.18.0" }])),
    ).toBeUndefined();
  });

  it("has no image for a Deployment without containers or spec", () => {
    expect(veleroImage(deployment([]))).toBeUndefined();
    expect(veleroImage({ metadata: { name: "velero" } })).toBeUndefined();
  });
});

describe("kotsAnnotations", () => {
  const at = new Date("2026-11-26T03:00:07.123Z");

  it("marks a scheduled instance snapshot, requested at an RFC 3339 time without milliseconds", () => {
    expect(kotsAnnotations(undefined, at)).toEqual({
      "kots.io/instance": "true",
      "kots.io/snapshot-trigger": "schedule",
      "kots.io/snapshot-requested": "2026-11-26T03:00:07Z",
    });
  });

  it("names kotsadm's namespace and image when they are known", () => {
    expect(kotsAnnotations({ namespace: "gitpod", image: "kotsadm/kotsadm:v1.124.4" }, at)).toEqual({
      "kots.io/instance": "true",
      "kots.io/snapshot-trigger": "schedule",
      "kots.io/snapshot-requested": "2026-11-26T03:00:07Z",
      "kots.io/kotsadm-deploy-namespace": "gitpod",
      "kots.io/kotsadm-image": "kotsadm/kotsadm:v1.124.4",
    });
  });

  it("leaves the image out when it is not known", () => {
    const annotations = kotsAnnotations({ namespace: "gitpod" }, at);
    expect(annotations["kots.io/kotsadm-deploy-namespace"]).toBe("gitpod");
    expect(annotations).not.toHaveProperty("kots.io/kotsadm-image");
  });

  it("writes a time without milliseconds as it is", () => {
    expect(kotsAnnotations(undefined, new Date("2026-01-01T00:00:00Z"))["kots.io/snapshot-requested"]).toBe(
      "2026-01-01T00:00:00Z",
    );
  });
});

describe("buildBackup", () => {
  const window = new Date("2026-11-26T02:00:00Z");

  it("names the backup after the window, labels it, and sets only the configured spec fields", () => {
    expect(buildBackup(app(), window, undefined)).toEqual({
      apiVersion: "velero.io/v1",
      kind: "Backup",
      metadata: {
        name: "gitpod-dr-2026-11-26-0200",
        namespace: "velero",
        labels: { "gitpod-dr/created-by": "gitpod-dr", "gitpod-dr/window": "2026-11-26-0200" },
      },
      spec: {
        includedNamespaces: ["gitpod"],
        ttl: "720h0m0s",
        storageLocation: "default",
      },
    });
  });

  it("has no annotations key when there are none", () => {
    expect(buildBackup(app(), window, undefined).metadata).not.toHaveProperty("annotations");
    expect(buildBackup(app(), window, {}).metadata).not.toHaveProperty("annotations");
  });

  it("carries the annotations it is given", () => {
    const annotations = kotsAnnotations({ namespace: "gitpod" }, window);
    expect(buildBackup(app(), window, annotations).metadata.annotations).toEqual(annotations);
  });

  it("sets every configured field, false included", () => {
    const backup = buildBackup(
      app({
        namespace: "backup-system",
        storageLocation: "aws.primary",
        ttl: "168h",
        includedNamespaces: ["gitpod", "kotsadm"],
        excludedNamespaces: ["gitpod-tmp"],
        includedResources: ["deployments", "secrets"],
        excludedResources: ["events"],
        snapshotVolumes: false,
        defaultVolumesToFsBackup: false,
        fsBackupUploader: "restic",
      }),
      window,
      undefined,
    );

    expect(backup.metadata.namespace).toBe("backup-system");
    expect(backup.spec).toEqual({
      includedNamespaces: ["gitpod", "kotsadm"],
      excludedNamespaces: ["gitpod-tmp"],
      includedResources: ["deployments", "secrets"],
      excludedResources: ["events"],
      ttl: "168h",
      storageLocation: "aws.primary",
      snapshotVolumes: false,
      defaultVolumesToFsBackup: false,
    });
    // The uploader is Velero's server setting, not a Backup field.
    expect(backup.spec).not.toHaveProperty("fsBackupUploader");
    expect(backup.spec).not.toHaveProperty("uploaderType");
  });

  it("is the same object for the same window, to the minute", () => {
    expect(buildBackup(app(), new Date("2026-11-26T02:00:41Z"), undefined)).toEqual(
      buildBackup(app(), window, undefined),
    );
  });
});

describe("judgePrevious", () => {
  const NOW = new Date("2026-11-27T02:00:30Z");
  const CURRENT = "gitpod-dr-2026-11-27-0200";
  const STUCK_AFTER = 240;

  const backup = (name: string, phase: string | undefined, created: string | null): KubeObject => ({
    apiVersion: "velero.io/v1",
    kind: "Backup",
    metadata: { name, namespace: "velero", ...(created !== null ? { creationTimestamp: created } : {}) },
    ...(phase !== undefined ? { status: { phase } } : {}),
  });
  /** A backup created `minutes` before NOW. */
  const aged = (phase: string | undefined, minutes: number, name = "gitpod-dr-2026-11-26-0200") =>
    backup(name, phase, new Date(NOW.getTime() - minutes * 60_000).toISOString());

  it("fails a backup that failed after the last Completed one even when a newer one is still running", () => {
    const verdict = judgePrevious(
      [
        aged("InProgress", 60, "b-newest"),
        aged("PartiallyFailed", 120, "b-failed"),
        aged("Completed", 180, "b-good"),
      ],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({ kind: "failed", report: { name: "b-failed", phase: "PartiallyFailed" } });
  });

  it("forgives a failure older than the last Completed backup", () => {
    const verdict = judgePrevious(
      [aged("Completed", 60, "b-good"), aged("Failed", 120, "b-failed")],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({ kind: "good", report: { name: "b-good" } });
  });

  it("reports Velero stuck when an older backup is still New past the deadline, though the newest is young", () => {
    // A schedule shorter than the deadline: the newest is always young; the oldest shows Velero is not working.
    const verdict = judgePrevious(
      [aged("New", 60, "b-1"), aged("New", 180, "b-2"), aged("New", 300, "b-3")],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({ kind: "stuck", ageMinutes: 300, report: { name: "b-3", phase: "New" } });
  });

  it("is none without backups, or with only this window's", () => {
    expect(judgePrevious([], CURRENT, NOW, STUCK_AFTER)).toEqual({ kind: "none" });
    expect(judgePrevious([aged("Failed", 0, CURRENT)], CURRENT, NOW, STUCK_AFTER)).toEqual({ kind: "none" });
  });

  it.each([
    ["Completed", "good"],
    ["PartiallyFailed", "failed"],
    ["Failed", "failed"],
    ["FailedValidation", "failed"],
    ["New", "running"],
    ["Queued", "running"],
    ["ReadyToStart", "running"],
    ["InProgress", "running"],
    ["WaitingForPluginOperations", "running"],
    ["WaitingForPluginOperationsPartiallyFailed", "running"],
    ["Finalizing", "running"],
    ["FinalizingPartiallyFailed", "running"],
    ["Deleting", "running"],
    // A phase Velero does not document (a newer Velero, a plugin, a typo by hand): not judged as running.
    ["SomethingNew", "unknown"],
    [undefined, "running"],
  ])("judges a previous backup in phase %s, an hour old, %s", (phase, kind) => {
    const verdict = judgePrevious([aged(phase, 60)], CURRENT, NOW, STUCK_AFTER);

    expect(verdict.kind).toBe(kind);
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.ageMinutes).toBe(60);
    expect(verdict.report.phase).toBe(phase ?? "New");
  });

  it.each([
    ["InProgress", 240, "running"],
    ["InProgress", 240.99, "running"],
    ["InProgress", 241, "stuck"],
    ["New", 241, "stuck"],
    ["Finalizing", 5000, "stuck"],
    ["WaitingForPluginOperations", 241, "stuck"],
    // Every phase that is not terminal, known or not, is stuck past the deadline.
    ["Deleting", 5000, "stuck"],
    ["Deleting", 30 * 60, "stuck"],
    ["SomethingNew", 241, "stuck"],
    ["SomethingNew", 5000, "stuck"],
    ["Queued", 241, "stuck"],
    ["ReadyToStart", 241, "stuck"],
    ["Completed", 5000, "good"],
    ["Failed", 5000, "failed"],
  ])("judges %s at %d minutes old %s (stuck after 240)", (phase, minutes, kind) => {
    const verdict = judgePrevious([aged(phase, minutes)], CURRENT, NOW, STUCK_AFTER);

    expect(verdict.kind).toBe(kind);
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.ageMinutes).toBe(Math.floor(minutes));
  });

  it("ignores this window's backup, however new or failed", () => {
    const verdict = judgePrevious(
      [aged("Completed", 24 * 60, "gitpod-dr-2026-11-26-0200"), aged("Failed", 0, CURRENT)],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );

    expect(verdict.kind).toBe("good");
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.report.name).toBe("gitpod-dr-2026-11-26-0200");
  });

  it("judges the newest by creation time, not by list order or name", () => {
    const verdict = judgePrevious(
      [
        aged("Completed", 3 * 24 * 60, "gitpod-dr-2026-11-24-0200"),
        // A hand-started run for an earlier window, created after the others: the newest.
        aged("Failed", 30, "gitpod-dr-2026-11-01-0200"),
        aged("Completed", 24 * 60, "gitpod-dr-2026-11-26-0200"),
      ],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );

    expect(verdict).toMatchObject({ kind: "failed", ageMinutes: 30 });
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.report.name).toBe("gitpod-dr-2026-11-01-0200");
  });

  it("reports a running backup without a creation time as unknown, with no age (not taken as now)", () => {
    const verdict = judgePrevious([backup("undated", "InProgress", null)], CURRENT, NOW, STUCK_AFTER);

    expect(verdict).toMatchObject({
      kind: "unknown",
      reason: "no-creation-time",
      report: { name: "undated" },
    });
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.ageMinutes).toBeUndefined();
  });

  it("reports an undated backup in a non-terminal phase even when a newer one completed", () => {
    const verdict = judgePrevious(
      [backup("undated", "Deleting", null), aged("Completed", 60, "b-good")],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({
      kind: "unknown",
      reason: "no-creation-time",
      report: { name: "undated" },
    });
  });

  it("still judges a terminal backup without a creation time by its phase, with no age", () => {
    const failed = judgePrevious([backup("undated", "Failed", null)], CURRENT, NOW, STUCK_AFTER);
    expect(failed).toMatchObject({ kind: "failed", report: { name: "undated" } });
    if (failed.kind === "none") throw new Error("unreachable");
    expect(failed.ageMinutes).toBeUndefined();

    const good = judgePrevious([backup("undated", "Completed", null)], CURRENT, NOW, STUCK_AFTER);
    expect(good.kind).toBe("good");
    if (good.kind === "none") throw new Error("unreachable");
    expect(good.ageMinutes).toBeUndefined();

    // Sorted as the oldest: a dated Completed backup forgives it.
    const forgiven = judgePrevious(
      [backup("undated", "Failed", null), aged("Completed", 60)],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(forgiven.kind).toBe("good");
  });

  it("reports an unknown phase within the deadline as unknown, naming the phase", () => {
    const verdict = judgePrevious(
      [aged("InProgress", 10, "b-new"), aged("Archiving", 60, "b-odd"), aged("Completed", 120, "b-good")],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({
      kind: "unknown",
      reason: "phase",
      ageMinutes: 60,
      report: { name: "b-odd", phase: "Archiving" },
    });
  });

  it("reports the oldest stuck backup before an unknown one", () => {
    const verdict = judgePrevious(
      [aged("Archiving", 60, "b-odd"), aged("Deleting", 300, "b-deleting")],
      CURRENT,
      NOW,
      STUCK_AFTER,
    );
    expect(verdict).toMatchObject({ kind: "stuck", ageMinutes: 300, report: { name: "b-deleting" } });
  });

  it("times Deleting from the backup's expiry when it has expired (garbage collection deletes it then)", () => {
    const expiring = (expiredMinutesAgo: number): KubeObject => ({
      ...aged("Deleting", 30 * 24 * 60 + expiredMinutesAgo),
      status: {
        phase: "Deleting",
        expiration: new Date(NOW.getTime() - expiredMinutesAgo * 60_000).toISOString(),
      },
    });

    // Expired 30 minutes ago and being deleted: not stuck, though created 30 days ago.
    const fresh = judgePrevious([expiring(30)], CURRENT, NOW, STUCK_AFTER);
    expect(fresh).toMatchObject({ kind: "running", ageMinutes: 30 * 24 * 60 + 30 });

    // Expired 30 hours ago and still Deleting: stuck, for (at most) the 30 hours since it expired.
    const stuck = judgePrevious([expiring(30 * 60)], CURRENT, NOW, STUCK_AFTER);
    expect(stuck).toMatchObject({ kind: "stuck", ageMinutes: 31 * 24 * 60 + 6 * 60, phaseMinutes: 30 * 60 });
  });

  it("gives the stuck verdict the minutes in the phase (the age, for every phase but an expired Deleting)", () => {
    const verdict = judgePrevious([aged("InProgress", 300)], CURRENT, NOW, STUCK_AFTER);
    expect(verdict).toMatchObject({ kind: "stuck", ageMinutes: 300, phaseMinutes: 300 });
  });

  it("reads a creation time after now (clock skew) as 0 minutes old", () => {
    const verdict = judgePrevious([aged("InProgress", -10)], CURRENT, NOW, STUCK_AFTER);
    expect(verdict).toMatchObject({ kind: "running", ageMinutes: 0 });
  });

  it("carries the report of the backup it judged", () => {
    const failed: KubeObject = {
      ...aged("PartiallyFailed", 90),
      status: { phase: "PartiallyFailed", errors: 2, warnings: 5, failureReason: "pod volume backup failed" },
    };
    const verdict = judgePrevious([failed], CURRENT, NOW, STUCK_AFTER);

    expect(verdict.kind).toBe("failed");
    if (verdict.kind === "none") throw new Error("unreachable");
    expect(verdict.report).toMatchObject({
      name: "gitpod-dr-2026-11-26-0200",
      errors: 2,
      warnings: 5,
      failureReason: "pod volume backup failed",
      terminal: true,
    });
  });
});
