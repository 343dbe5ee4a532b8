import { beforeEach, describe, expect, it } from "vitest";
import {
  RestoreDeadlineExceededError,
  VerificationFailedError,
} from "../../../packages/core/src/restore/errors.ts";
import { HELD_ANNOTATION, HOLD_GATE } from "../../../packages/core/src/restore/hold.ts";
import { checkRollout, redeploy, verify } from "../../../packages/core/src/restore/rollout.ts";
import type { KubeObject } from "../../../packages/core/src/velero/kube.ts";
import { RESTARTED_AT } from "../../../packages/core/src/velero/restore.ts";
import {
  askedClusters,
  config,
  deps,
  gatesOf,
  type Json,
  kube,
  MARK,
  minutesLater,
  plan,
  rejection,
  request,
  START,
  setClock,
  useApplicationWorld,
  workload,
} from "../../../packages/sim/src/restore/application.ts";

/** "Redeploy" (the hold lifted, every workload restarted), "Check rollout" and "Verify". */

useApplicationWorld();

describe("redeploy", () => {
  beforeEach(() => {
    kube.workloads.deployments.push(
      workload("server", { replicas: 3, held: MARK }),
      workload("proxy", { held: MARK }),
      workload("dashboard", { replicas: 2 }),
      // The mark was lost (a manual edit), the gate is still there: held all the same.
      workload("gate-only", { replicas: 2, gated: true }),
      workload("kotsadm", { replicas: 1, labels: { app: "kotsadm" } }),
    );
    kube.workloads.statefulsets.push(workload("messagebus", { held: MARK }));
  });

  it("releases the pods the restore gated (a StatefulSet does not replace a pod that never became ready), only our gate", async () => {
    const pod = (
      name: string,
      gates: string[],
      labels: Record<string, string> = { app: "gitpod" },
    ): KubeObject => ({
      metadata: {
        name,
        namespace: "gitpod",
        labels,
        annotations: gates.length > 0 ? { [HELD_ANNOTATION]: MARK } : {},
      },
      spec: gates.length > 0 ? { schedulingGates: gates.map((g) => ({ name: g })) } : {},
    });
    kube.pods.push(
      pod("messagebus-0", [HOLD_GATE]),
      pod("orphan", [HOLD_GATE, "example.com/quota"]),
      pod("dashboard-abc", []),
      pod("kotsadm-xyz", [HOLD_GATE], { app: "kotsadm" }),
    );

    const result = await redeploy(request, plan, config(), deps());

    expect(result.released).toEqual([
      "deployment/gate-only",
      "deployment/proxy",
      "deployment/server",
      "statefulset/messagebus",
      "pod/messagebus-0",
      "pod/orphan",
    ]);
    const byName = (name: string) => kube.pods.find((p) => p.metadata.name === name);
    expect(byName("messagebus-0")?.spec).toEqual({});
    expect(byName("messagebus-0")?.metadata.annotations).toEqual({});
    // Another controller's gate stays: only ours is removed (removal is the one change Kubernetes allows).
    expect(byName("orphan")?.spec).toEqual({ schedulingGates: [{ name: "example.com/quota" }] });
    // Pods outside the hold selector and pods without our gate are not touched.
    expect(byName("kotsadm-xyz")?.spec).toEqual({ schedulingGates: [{ name: HOLD_GATE }] });
    expect(kube.calls.filter((c) => c.startsWith("patchPod"))).toEqual([
      "patchPod gitpod/messagebus-0",
      "patchPod gitpod/orphan",
    ]);
  });

  it("releases held workloads (gate and mark removed, replicas kept), restarts every matching one", async () => {
    const before = structuredClone(kube.workloads);
    const result = await redeploy(request, plan, config(), deps());

    const restartedAt = "2026-11-26T10:00:00Z";
    expect(result).toEqual({
      restartedAt,
      released: ["deployment/gate-only", "deployment/proxy", "deployment/server", "statefulset/messagebus"],
      restarted: [
        "deployment/dashboard",
        "deployment/gate-only",
        "deployment/proxy",
        "deployment/server",
        "statefulset/messagebus",
      ],
      startedAt: START.toISOString(),
    });
    expect(result).not.toHaveProperty("scaled");
    for (const [plural, name, replicas] of [
      ["deployments", "server", 3],
      ["deployments", "proxy", 1],
      ["deployments", "gate-only", 2],
      ["deployments", "dashboard", 2],
      ["statefulsets", "messagebus", 1],
    ] as const) {
      const w = kube.workload(plural, name);
      // The hold never touched the replica counts, and neither does its release.
      expect(w?.spec?.replicas, name).toBe(replicas);
      expect(gatesOf(w), name).toBeUndefined();
      expect(w?.metadata.annotations?.[HELD_ANNOTATION], name).toBeUndefined();
      expect(w?.spec?.template?.metadata?.annotations, name).toEqual({
        "example.com/kept": "yes",
        [RESTARTED_AT]: restartedAt,
      });
      // The rest of the pod template is kept.
      expect(w?.spec?.template?.spec, name).toEqual({
        containers: [{ name, image: `example.com/${name}:1.0.0` }],
      });
    }
    expect(kube.workload("deployments", "server")?.metadata.annotations).toEqual({ other: "kept" });

    // One merge patch per workload: held ones get the release (null removes the gate list and the mark).
    const patchOf = (name: string) => kube.patches.find((p) => p.name === name)?.patch;
    expect(kube.patches).toHaveLength(5);
    expect(patchOf("server")).toEqual({
      metadata: { annotations: { [HELD_ANNOTATION]: null } },
      spec: {
        template: {
          metadata: { annotations: { [RESTARTED_AT]: restartedAt } },
          spec: { schedulingGates: null },
        },
      },
    });
    // Not held: only the restart.
    expect(patchOf("dashboard")).toEqual({
      spec: { template: { metadata: { annotations: { [RESTARTED_AT]: restartedAt } } } },
    });
    expect(kube.workload("deployments", "dashboard")?.metadata.annotations).toBeUndefined();

    // Not matching the hold selector: untouched.
    expect(kube.workload("deployments", "kotsadm")).toEqual(
      before.deployments.find((w) => w.metadata.name === "kotsadm"),
    );
    expect(kube.calls).not.toContain("patchWorkload deployments/gitpod/kotsadm");
  });

  it("run twice: nothing more is released, every matching workload is restarted again", async () => {
    await redeploy(request, plan, config(), deps());
    setClock(minutesLater(1));
    const again = await redeploy(request, plan, config(), deps());
    expect(again.released).toEqual([]);
    expect(again.restarted).toHaveLength(5);
    expect(kube.patches.slice(5).every((p) => Object.keys(p.patch).join() === "spec")).toBe(true);
    const server = kube.workload("deployments", "server");
    expect(server?.spec?.replicas).toBe(3);
    expect(gatesOf(server)).toBeUndefined();
    expect(server?.spec?.template?.metadata?.annotations?.[RESTARTED_AT]).toBe("2026-11-26T10:01:00Z");
  });

  it("a workload still marked by another (earlier) restore id is released as well", async () => {
    kube.workloads.deployments.push(workload("foreign", { replicas: 2, held: "other-restore" }));
    const result = await redeploy(request, plan, config(), deps());
    expect(result.released).toContain("deployment/foreign");
    const foreign = kube.workload("deployments", "foreign");
    expect(foreign?.spec?.replicas).toBe(2);
    expect(gatesOf(foreign)).toBeUndefined();
    expect(foreign?.metadata.annotations).toEqual({ other: "kept" });
  });

  it("a gate of someone else is left in place (only gitpod-dr/held is the hold)", async () => {
    const other = workload("other-gate", { replicas: 1 });
    (other.spec?.template?.spec as Json).schedulingGates = [{ name: "example.com/quota" }];
    kube.workloads.deployments.push(other);
    const result = await redeploy(request, plan, config(), deps());
    expect(result.released).not.toContain("deployment/other-gate");
    expect(result.restarted).toContain("deployment/other-gate");
    expect(gatesOf(kube.workload("deployments", "other-gate"))).toEqual([{ name: "example.com/quota" }]);
  });

  it("no cluster in the plan: nothing released or restarted, no cluster asked", async () => {
    const { cluster: _, ...noCluster } = plan;
    const result = await redeploy(request, noCluster, config(), deps());
    expect(result).toEqual({
      restartedAt: "2026-11-26T10:00:00Z",
      released: [],
      restarted: [],
      startedAt: START.toISOString(),
      finishedAt: START.toISOString(),
    });
    expect(askedClusters).toEqual([]);
  });
});

describe("checkRollout", () => {
  const redeployed = {
    restartedAt: "2026-11-26T10:00:00Z",
    released: [],
    restarted: [],
    startedAt: START.toISOString(),
  };

  it("done when every matching workload is updated and available", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    kube.workloads.statefulsets.push(workload("messagebus", { replicas: 1 }));
    setClock(minutesLater(3));
    const status = await checkRollout(plan, redeployed, config(), deps());
    expect(status).toEqual({
      done: true,
      workloads: [
        { name: "deployment/server", desired: 3, updated: 3, available: 3, done: true },
        { name: "statefulset/messagebus", desired: 1, updated: 1, available: 1, done: true },
      ],
      startedAt: START.toISOString(),
      finishedAt: minutesLater(3).toISOString(),
    });
  });

  it("a StatefulSet updated OnDelete is done when its pods serve, though it never reports them updated", async () => {
    const sts = workload("openvsx-proxy", { replicas: 2 });
    (sts.spec as Json).updateStrategy = { type: "OnDelete" };
    (sts.status as Json).updatedReplicas = 0;
    const rolling = workload("messagebus", { replicas: 2 });
    (rolling.status as Json).updatedReplicas = 0;
    kube.workloads.statefulsets.push(sts, rolling);
    const status = await checkRollout(plan, redeployed, config(), deps());
    expect(status.workloads).toEqual([
      { name: "statefulset/messagebus", desired: 2, updated: 0, available: 2, done: false },
      { name: "statefulset/openvsx-proxy", desired: 2, updated: 0, available: 2, done: true },
    ]);
    expect(status.done).toBe(false);
  });

  it("not done before rolloutDeadlineMinutes; RestoreDeadlineExceeded naming the waiting workloads after", async () => {
    const slow = workload("server", { replicas: 3 });
    (slow.status as Json).availableReplicas = 1;
    kube.workloads.deployments.push(slow);
    setClock(minutesLater(29));
    expect((await checkRollout(plan, redeployed, config(), deps())).done).toBe(false);

    setClock(minutesLater(31));
    const error = await rejection(checkRollout(plan, redeployed, config(), deps()));
    expect(error).toBeInstanceOf(RestoreDeadlineExceededError);
    expect(error.message).toContain(
      "The rollout (deployment/server 1/3 available) is not done after 30 minutes",
    );
    expect(error.message).toContain("restore.application.rolloutDeadlineMinutes");
  });

  it("no matching workload is never done", async () => {
    setClock(minutesLater(31));
    const error = await rejection(checkRollout(plan, redeployed, config(), deps()));
    expect(error.message).toContain("no workload matches restore.application.holdSelector");
  });
});

describe("verify", () => {
  it("passes with every workload available and the health URL answering 200", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    const asked: string[] = [];
    const ok: typeof fetch = async (input) => {
      asked.push(String(input));
      return new Response("ok", { status: 200 });
    };
    const cfg = config({ healthUrl: "https://gitpod.example.com/api/version" });
    setClock(minutesLater(1));
    expect(await verify(plan, cfg, deps({ fetch: ok }))).toEqual({
      workloads: 1,
      health: { url: "https://gitpod.example.com/api/version", status: 200 },
      startedAt: minutesLater(1).toISOString(),
      finishedAt: minutesLater(1).toISOString(),
    });
    expect(asked).toEqual(["https://gitpod.example.com/api/version"]);
  });

  it("a workload still held: VerificationFailed naming it", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }), workload("proxy", { held: MARK }));
    const error = await rejection(verify(plan, config(), deps()));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.name).toBe("VerificationFailed");
    expect(error.message).toBe("Not serving: deployment/proxy is still held (scheduling gate)");
  });

  it("held by its gate alone, even with every pod counted available: still held", async () => {
    const gated = workload("server", { replicas: 2, gated: true });
    Object.assign(gated.status as Json, { readyReplicas: 2, availableReplicas: 2 });
    kube.workloads.deployments.push(gated);
    const error = await rejection(verify(plan, config(), deps()));
    expect(error.message).toBe("Not serving: deployment/server is still held (scheduling gate)");
  });

  it("a workload not yet available: VerificationFailed with its counts", async () => {
    const slow = workload("server", { replicas: 3 });
    Object.assign(slow.status as Json, { readyReplicas: 1, availableReplicas: 1 });
    kube.workloads.deployments.push(slow);
    const error = await rejection(verify(plan, config(), deps()));
    expect(error.message).toBe("Not serving: deployment/server 1/3 available");
  });

  it("a workload at zero replicas, not held, does not fail verification (its desired count is 0)", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }), workload("idle", { replicas: 0 }));
    expect(await verify(plan, config(), deps())).toMatchObject({ workloads: 2 });
  });

  it("the health URL answering other than 200: a retryable VerificationFailed", async () => {
    kube.workloads.deployments.push(workload("server", { replicas: 3 }));
    const unavailable: typeof fetch = async () => new Response("down", { status: 503 });
    const cfg = config({ healthUrl: "https://gitpod.example.com/api/version" });
    const error = await rejection(verify(plan, cfg, deps({ fetch: unavailable })));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.message).toBe("https://gitpod.example.com/api/version answered 503, not 200");
    expect((error as VerificationFailedError).retryable).toBe(true);
  });

  it("no matching workload: VerificationFailed", async () => {
    const error = await rejection(verify(plan, config(), deps()));
    expect(error).toBeInstanceOf(VerificationFailedError);
    expect(error.message).toBe(
      "No Deployment or StatefulSet in gitpod matches app=gitpod: the application is not running",
    );
  });
});
