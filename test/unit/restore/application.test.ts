import { beforeEach, describe, expect, it } from "vitest";
import {
  type ApplicationStarted,
  checkApplicationRestore,
  startApplicationRestore,
} from "../../../packages/core/src/restore/application.ts";
import {
  ApplicationRestoreFailedError,
  RestoreDeadlineExceededError,
} from "../../../packages/core/src/restore/errors.ts";
import { holdModifier } from "../../../packages/core/src/restore/hold.ts";
import { restoreName } from "../../../packages/core/src/velero/naming.ts";
import {
  askedClusters,
  config,
  deps,
  type Json,
  kube,
  MARK,
  minutesLater,
  OURS,
  plan,
  RESTORE_ID,
  rejection,
  request,
  START,
  setClock,
  useApplicationWorld,
} from "../../../packages/sim/src/restore/application.ts";

/** "Restore application" and "Check application restore": the Velero Restore, held back, and its phase. */

useApplicationWorld();

describe("startApplicationRestore", () => {
  beforeEach(() => {
    kube.put("backups", {
      metadata: { name: "gitpod-dr-2026-11-26-0200", namespace: "velero", labels: OURS },
      status: { phase: "Completed" },
    });
  });

  it("creates the hold ConfigMap, then the Restore naming it as its resource modifier", async () => {
    const cfg = config();
    const started = await startApplicationRestore(request, plan, cfg, deps());

    expect(started).toEqual({
      name: restoreName(RESTORE_ID),
      backupName: "gitpod-dr-2026-11-26-0200",
      created: true,
      startedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual(["gitpod-dr@eu-central-1"]);
    const creates = kube.calls.filter((c) => c.startsWith("create"));
    expect(creates).toEqual([
      `createConfigMap velero/${plan.application?.modifierName}`,
      `createVelero restores/velero/${restoreName(RESTORE_ID)}`,
    ]);
    const configMap = kube.configMaps.get(`velero/${plan.application?.modifierName}`);
    expect(configMap?.metadata.labels).toEqual({ ...OURS, "gitpod-dr/restore-id": MARK });
    expect(configMap?.data).toEqual({ "hold.yaml": holdModifier("gitpod", { app: "gitpod" }, RESTORE_ID) });

    const restore = kube.velero.get(`restores/velero/${restoreName(RESTORE_ID)}`);
    expect(restore?.spec).toEqual({
      backupName: "gitpod-dr-2026-11-26-0200",
      includedNamespaces: ["gitpod"],
      existingResourcePolicy: "none",
      resourceModifier: { kind: "configmap", name: plan.application?.modifierName },
    });
    expect(restore?.metadata.labels).toEqual({ ...OURS, "gitpod-dr/restore-id": MARK });
  });

  it("run again: adopts both, creating nothing new", async () => {
    await startApplicationRestore(request, plan, config(), deps());
    setClock(minutesLater(5));
    const again = await startApplicationRestore(request, plan, config(), deps());
    expect(again).toMatchObject({ name: restoreName(RESTORE_ID), created: false });
    expect(kube.configMaps.size).toBe(1);
    expect([...kube.velero.keys()].filter((k) => k.startsWith("restores/"))).toHaveLength(1);
  });

  it("fails when the plan has no application restore", async () => {
    const { application: _, ...noApp } = plan;
    const error = await rejection(startApplicationRestore(request, noApp, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(kube.calls).toEqual([]);
  });
});

describe("checkApplicationRestore", () => {
  const started: ApplicationStarted = {
    name: restoreName(RESTORE_ID),
    backupName: "gitpod-dr-2026-11-26-0200",
    created: true,
    startedAt: START.toISOString(),
  };
  const setStatus = (status: Json) =>
    kube.put("restores", {
      metadata: { name: started.name, namespace: "velero", labels: OURS },
      spec: { backupName: started.backupName },
      status,
    });

  it("Completed: done, with the counts", async () => {
    setStatus({ phase: "Completed", warnings: 2, errors: 0 });
    setClock(minutesLater(12));
    const status = await checkApplicationRestore(request, plan, started, config(), deps());
    expect(status).toEqual({
      name: started.name,
      backupName: started.backupName,
      phase: "Completed",
      warnings: 2,
      errors: 0,
      done: true,
      partial: false,
      startedAt: START.toISOString(),
      finishedAt: minutesLater(12).toISOString(),
    });
  });

  it("PartiallyFailed with allowPartialRestore: done and partial", async () => {
    setStatus({ phase: "PartiallyFailed", warnings: 1, errors: 4 });
    const status = await checkApplicationRestore(
      { ...request, allowPartialRestore: true },
      plan,
      started,
      config(),
      deps(),
    );
    expect(status).toMatchObject({ phase: "PartiallyFailed", done: true, partial: true, errors: 4 });
  });

  it("PartiallyFailed without allowPartialRestore: ApplicationRestoreFailed saying how to accept it", async () => {
    setStatus({ phase: "PartiallyFailed", warnings: 1, errors: 4 });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.name).toBe("ApplicationRestoreFailed");
    expect(error.message).toBe(
      `Velero restore ${started.name} from backup ${started.backupName} ended PartiallyFailed (1 warning(s), 4 error(s)): see \`velero restore describe ${started.name} --details\` and \`velero restore logs ${started.name}\`. Start again with allowPartialRestore: true and the same restoreId to accept it`,
    );
  });

  it("Failed: ApplicationRestoreFailed with the failure reason", async () => {
    setStatus({ phase: "Failed", failureReason: "error getting backup: not found", errors: 1 });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.message).toContain(
      `ended Failed: error getting backup: not found (0 warning(s), 1 error(s))`,
    );
  });

  it("FailedValidation: ApplicationRestoreFailed with the validation errors", async () => {
    setStatus({ phase: "FailedValidation", validationErrors: ["backup not found", "invalid modifier"] });
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(ApplicationRestoreFailedError);
    expect(error.message).toContain("ended FailedValidation: backup not found; invalid modifier");
  });

  it("InProgress: not done before the deadline, RestoreDeadlineExceeded after it", async () => {
    setStatus({ phase: "InProgress" });
    setClock(minutesLater(59));
    const status = await checkApplicationRestore(request, plan, started, config(), deps());
    expect(status).toMatchObject({ phase: "InProgress", done: false, partial: false });
    expect(status.finishedAt).toBeUndefined();

    setClock(minutesLater(61));
    const error = await rejection(checkApplicationRestore(request, plan, started, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.name).toBe("RestoreDeadlineExceeded");
    expect(error.message).toContain(
      `Velero restore ${started.name} (InProgress) is not done after 60 minutes`,
    );
    expect(error.message).toContain("restore.application.restoreDeadlineMinutes");
  });
});
