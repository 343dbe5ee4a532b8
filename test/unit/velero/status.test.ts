import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../../packages/core/src/velero/kube.ts";
import {
  BACKUP_PHASES,
  FAILED_PHASES,
  newestFirst,
  phaseReport,
  RUNNING_PHASES,
  TERMINAL_PHASES,
} from "../../../packages/core/src/velero/status.ts";

function velero(
  kind: "Backup" | "Restore",
  name: string,
  status?: Record<string, unknown>,
  /** `null`: no creation time. */
  creationTimestamp: string | null = "2026-11-26T03:00:05Z",
): KubeObject {
  return {
    apiVersion: "velero.io/v1",
    kind,
    metadata: {
      name,
      namespace: "velero",
      ...(creationTimestamp !== null ? { creationTimestamp } : {}),
    },
    spec: {},
    ...(status ? { status } : {}),
  };
}

describe("phaseReport", () => {
  it("reads a Completed Backup as Velero writes it", () => {
    const backup = velero("Backup", "gitpod-dr-2026-11-26-0300", {
      phase: "Completed",
      version: 1,
      formatVersion: "1.1.0",
      expiration: "2026-12-26T03:00:05Z",
      startTimestamp: "2026-11-26T03:00:06Z",
      completionTimestamp: "2026-11-26T03:04:41Z",
      progress: { itemsBackedUp: 412, totalItems: 412 },
      warnings: 2,
    });

    expect(phaseReport(backup)).toEqual({
      name: "gitpod-dr-2026-11-26-0300",
      phase: "Completed",
      terminal: true,
      errors: 0,
      warnings: 2,
      validationErrors: [],
      progress: { done: 412, total: 412 },
      createdAt: new Date("2026-11-26T03:00:05Z"),
      completedAt: new Date("2026-11-26T03:04:41Z"),
    });
  });

  it("reads the progress of a Restore from itemsRestored", () => {
    const restore = velero("Restore", "gitpod-dr-restore-drill-1", {
      phase: "InProgress",
      progress: { itemsRestored: 37, totalItems: 120 },
    });

    const report = phaseReport(restore);

    expect(report.phase).toBe("InProgress");
    expect(report.terminal).toBe(false);
    expect(report.progress).toEqual({ done: 37, total: 120 });
    expect(report.completedAt).toBeUndefined();
  });

  it("reads a progress without counts as 0 of 0", () => {
    expect(phaseReport(velero("Backup", "b", { phase: "InProgress", progress: {} })).progress).toEqual({
      done: 0,
      total: 0,
    });
  });

  it("reads a failed Backup's counts and failure reason", () => {
    const report = phaseReport(
      velero("Backup", "b", {
        phase: "Failed",
        errors: 3,
        warnings: 1,
        failureReason: 'found a backup with status "InProgress" during the server starting',
        completionTimestamp: "2026-11-26T03:10:00Z",
      }),
    );

    expect(report).toMatchObject({
      phase: "Failed",
      terminal: true,
      errors: 3,
      warnings: 1,
      failureReason: 'found a backup with status "InProgress" during the server starting',
      completedAt: new Date("2026-11-26T03:10:00Z"),
    });
    expect(report).not.toHaveProperty("progress");
  });

  it("lists validation errors of a FailedValidation Restore", () => {
    const report = phaseReport(
      velero("Restore", "r", {
        phase: "FailedValidation",
        validationErrors: ["backup gitpod-dr-x not found", "Invalid included/excluded namespace lists"],
      }),
    );

    expect(report.terminal).toBe(true);
    expect(report.validationErrors).toEqual([
      "backup gitpod-dr-x not found",
      "Invalid included/excluded namespace lists",
    ]);
  });

  it.each([
    ["no status", undefined],
    ["an empty status", {}],
    ["an empty phase", { phase: "" }],
    ["a phase that is not a string", { phase: 7 }],
  ])("reads an object with %s as New, not terminal", (_, status) => {
    const report = phaseReport(velero("Backup", "fresh", status));

    expect(report.phase).toBe("New");
    expect(report.terminal).toBe(false);
    expect(report.errors).toBe(0);
    expect(report.warnings).toBe(0);
    expect(report.validationErrors).toEqual([]);
    expect(report).not.toHaveProperty("progress");
    expect(report).not.toHaveProperty("failureReason");
    expect(report).not.toHaveProperty("completedAt");
  });

  it("ignores counts and times that are not what Velero writes", () => {
    const report = phaseReport(
      velero(
        "Backup",
        "odd",
        {
          phase: "Completed",
          errors: "3",
          warnings: Number.NaN,
          failureReason: "",
          completionTimestamp: "not a time",
          validationErrors: "one",
        },
        "yesterday",
      ),
    );

    expect(report.errors).toBe(0);
    expect(report.warnings).toBe(0);
    expect(report.validationErrors).toEqual([]);
    expect(report).not.toHaveProperty("failureReason");
    expect(report).not.toHaveProperty("createdAt");
    expect(report).not.toHaveProperty("completedAt");
  });

  it("has no createdAt for an object without a creation time", () => {
    expect(phaseReport(velero("Backup", "b", { phase: "New" }, null))).not.toHaveProperty("createdAt");
  });
});

describe("phase sets", () => {
  it("has exactly Completed, PartiallyFailed, Failed and FailedValidation as terminal", () => {
    expect([...TERMINAL_PHASES].sort()).toEqual([
      "Completed",
      "Failed",
      "FailedValidation",
      "PartiallyFailed",
    ]);
  });

  it.each([
    "New",
    "Queued",
    "ReadyToStart",
    "InProgress",
    "WaitingForPluginOperations",
    "WaitingForPluginOperationsPartiallyFailed",
    "Finalizing",
    "FinalizingPartiallyFailed",
    "Deleting",
  ])("does not treat %s as terminal", (phase) => {
    expect(phaseReport(velero("Backup", "b", { phase })).terminal).toBe(false);
  });

  it("knows exactly the Backup phases Velero documents: terminal, running, and Deleting", () => {
    // The BackupPhase enum of vmware-tanzu/velero pkg/apis/velero/v1/backup_types.go.
    expect([...BACKUP_PHASES].sort()).toEqual(
      [
        "New",
        "Queued",
        "ReadyToStart",
        "FailedValidation",
        "InProgress",
        "WaitingForPluginOperations",
        "WaitingForPluginOperationsPartiallyFailed",
        "Finalizing",
        "FinalizingPartiallyFailed",
        "Completed",
        "PartiallyFailed",
        "Failed",
        "Deleting",
      ].sort(),
    );
    expect([...TERMINAL_PHASES, ...RUNNING_PHASES, "Deleting"].sort()).toEqual([...BACKUP_PHASES].sort());
  });

  it("treats the terminal phases other than Completed as failed, and no running phase as terminal", () => {
    expect([...FAILED_PHASES].sort()).toEqual(["Failed", "FailedValidation", "PartiallyFailed"]);
    for (const phase of FAILED_PHASES) expect(TERMINAL_PHASES.has(phase)).toBe(true);
    for (const phase of RUNNING_PHASES) expect(TERMINAL_PHASES.has(phase)).toBe(false);
  });
});

describe("newestFirst", () => {
  it("orders by creation time, newest first, without changing its input", () => {
    const input = [
      velero("Backup", "b-0200", undefined, "2026-11-26T02:00:00Z"),
      velero("Backup", "b-0400", undefined, "2026-11-26T04:00:00Z"),
      velero("Backup", "b-0300", undefined, "2026-11-26T03:00:00Z"),
    ];
    const before = input.map((o) => o.metadata.name);

    expect(newestFirst(input).map((o) => o.metadata.name)).toEqual(["b-0400", "b-0300", "b-0200"]);
    expect(input.map((o) => o.metadata.name)).toEqual(before);
  });

  it("compares times, not their text", () => {
    const input = [
      velero("Backup", "utc", undefined, "2026-11-26T03:00:00Z"),
      // 03:30 at +01:00 is 02:30 UTC: older, although its text sorts later.
      velero("Backup", "offset", undefined, "2026-11-26T03:30:00+01:00"),
    ];

    expect(newestFirst(input).map((o) => o.metadata.name)).toEqual(["utc", "offset"]);
  });

  it("breaks ties by name, descending, whatever the input order", () => {
    const same = "2026-11-26T03:00:00Z";
    const names = ["gitpod-dr-2026-11-26-0300", "gitpod-dr-2026-11-26-0301", "gitpod-dr-2026-11-25-0300"];
    const expected = ["gitpod-dr-2026-11-26-0301", "gitpod-dr-2026-11-26-0300", "gitpod-dr-2026-11-25-0300"];

    for (const order of [names, [...names].reverse(), [names[1], names[2], names[0]] as string[]]) {
      const objects = order.map((n) => velero("Backup", n, undefined, same));
      expect(newestFirst(objects).map((o) => o.metadata.name)).toEqual(expected);
    }
  });

  it("puts objects without a (valid) creation time last", () => {
    const input = [
      velero("Backup", "none", undefined, null),
      velero("Backup", "new", undefined, "2026-11-26T03:00:00Z"),
      velero("Backup", "bad", undefined, "not a time"),
      velero("Backup", "old", undefined, "2026-11-20T03:00:00Z"),
    ];

    expect(newestFirst(input).map((o) => o.metadata.name)).toEqual(["new", "old", "none", "bad"]);
  });

  it("returns an empty list for an empty list", () => {
    expect(newestFirst([])).toEqual([]);
  });
});
