import type { RestoreJobConfig } from "../config.ts";
import type { Deployment, KubeOps, WorkloadPlural } from "../velero/kube.ts";
import { RESTARTED_AT, rolloutState } from "../velero/restore.ts";
import type { ApplicationDeps } from "./application.ts";
import { checkDeadline, VerificationFailedError } from "./errors.ts";
import { HELD_ANNOTATION, HOLD_GATE, isHeld } from "./hold.ts";
import type { RestorePlan, RestoreRequest, Timed } from "./types.ts";

/**
 * The last steps of the application branch: "Redeploy" (lift the hold, restart), "Check rollout" and
 * "Verify" (every workload serving, none held, the health URL answering).
 */

const WORKLOADS: readonly WorkloadPlural[] = ["deployments", "statefulsets"];
const selectorText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

export interface RedeployResult extends Timed {
  readonly restartedAt: string;
  /** Workloads whose hold was lifted (the scheduling gate removed), as `kind/name`. */
  readonly released: readonly string[];
  readonly restarted: readonly string[];
}

/**
 * "Redeploy": lifts the hold of every held workload (removes the scheduling gate from its pod template,
 * so its pods, at the replica count of the backup or of KOTS's redeploy, can run) and restarts every
 * matching workload so it reads the new configuration, as `kubectl rollout restart` does. Safe to run
 * twice.
 * @throws KubeApiError
 */
export async function redeploy(
  _request: RestoreRequest,
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<RedeployResult> {
  const now = deps.now();
  const startedAt = now.toISOString();
  const restartedAt = startedAt.replace(/\.\d{3}Z$/, "Z");
  if (!plan.cluster) return { restartedAt, released: [], restarted: [], startedAt, finishedAt: startedAt };
  const settings = config.restore.application;
  const kube = await deps.kube(plan.cluster, plan.region);
  const released: string[] = [];
  const restarted: string[] = [];
  for (const plural of WORKLOADS) {
    const kind = plural === "deployments" ? "deployment" : "statefulset";
    const workloads = await kube.listWorkloads(
      plural,
      settings.namespace,
      selectorText(settings.holdSelector),
    );
    for (const w of workloads.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
      const template: Record<string, unknown> = {
        metadata: { annotations: { [RESTARTED_AT]: restartedAt } },
      };
      const patch: Record<string, unknown> = { spec: { template } };
      if (isHeld(w)) {
        // A JSON merge patch replaces the gate list as a whole: null removes it.
        template.spec = { schedulingGates: null };
        patch.metadata = { annotations: { [HELD_ANNOTATION]: null } };
        released.push(`${kind}/${w.metadata.name}`);
      }
      await kube.patchWorkload(plural, settings.namespace, w.metadata.name, patch);
      restarted.push(`${kind}/${w.metadata.name}`);
    }
  }
  // Pods the restore created gated (bare ones, and those a StatefulSet made from its gated template,
  // which it would not replace while they are not ready) are released directly: removing a gate is
  // the one change Kubernetes allows to a pod's scheduling gates.
  for (const pod of await kube.listPods(settings.namespace, selectorText(settings.holdSelector))) {
    const gates = (pod.spec as { schedulingGates?: { name?: string }[] } | undefined)?.schedulingGates ?? [];
    if (!gates.some((g) => g.name === HOLD_GATE)) continue;
    const others = gates.filter((g) => g.name !== HOLD_GATE);
    await kube.patchPod(settings.namespace, pod.metadata.name, {
      metadata: { annotations: { [HELD_ANNOTATION]: null } },
      spec: { schedulingGates: others.length > 0 ? others : null },
    });
    released.push(`pod/${pod.metadata.name}`);
  }
  return { restartedAt, released, restarted, startedAt };
}

export interface RolloutStatus extends Timed {
  readonly done: boolean;
  readonly workloads: readonly {
    name: string;
    desired: number;
    updated: number;
    available: number;
    done: boolean;
  }[];
}

async function rollouts(kube: KubeOps, namespace: string, selector: string) {
  const states = [];
  for (const plural of WORKLOADS) {
    const prefix = plural === "deployments" ? "deployment" : "statefulset";
    for (const w of await kube.listWorkloads(plural, namespace, selector)) {
      const s = rolloutState(w as Deployment);
      // A StatefulSet updated OnDelete never reports its pods updated: it is done when they serve.
      const onDelete =
        plural === "statefulsets" &&
        (w.spec as { updateStrategy?: { type?: string } } | undefined)?.updateStrategy?.type === "OnDelete";
      states.push({
        name: `${prefix}/${s.name}`,
        desired: s.desired,
        updated: s.updated,
        available: s.available,
        done: onDelete ? s.ready >= s.desired && s.available >= s.desired : s.done,
        held: isHeld(w as Deployment),
      });
    }
  }
  return states.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * "Check rollout": every matching workload updated and available.
 * @throws RestoreDeadlineExceededError (rolloutDeadlineMinutes), KubeApiError
 */
export async function checkRollout(
  plan: RestorePlan,
  redeployed: RedeployResult,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<RolloutStatus> {
  const now = deps.now();
  if (!plan.cluster)
    return { done: true, workloads: [], startedAt: redeployed.startedAt, finishedAt: now.toISOString() };
  const settings = config.restore.application;
  const kube = await deps.kube(plan.cluster, plan.region);
  const states = await rollouts(kube, settings.namespace, selectorText(settings.holdSelector));
  const workloads = states.map(({ held: _held, ...s }) => s);
  const done = workloads.length > 0 && workloads.every((w) => w.done);
  if (done) return { done, workloads, startedAt: redeployed.startedAt, finishedAt: now.toISOString() };
  const waiting = workloads
    .filter((w) => !w.done)
    .map((w) => `${w.name} ${w.available}/${w.desired} available`);
  checkDeadline(
    redeployed.startedAt,
    settings.rolloutDeadlineMinutes,
    now,
    `The rollout (${waiting.join(", ") || "no workload matches restore.application.holdSelector"})`,
    "restore.application.rolloutDeadlineMinutes",
  );
  return { done, workloads, startedAt: redeployed.startedAt };
}

export interface VerifyResult extends Timed {
  readonly workloads: number;
  readonly health?: { readonly url: string; readonly status: number };
}

/**
 * "Verify": the workloads are available, none is still held, and the health URL (if any) answers 200.
 * @throws VerificationFailedError (retryable when the health URL did not answer 200), KubeApiError
 */
export async function verify(
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<VerifyResult> {
  const startedAt = deps.now().toISOString();
  const settings = config.restore.application;
  let count = 0;
  if (plan.cluster) {
    const kube = await deps.kube(plan.cluster, plan.region);
    const states = await rollouts(kube, settings.namespace, selectorText(settings.holdSelector));
    const bad = states.filter((s) => !s.done || s.held);
    if (states.length === 0 || bad.length > 0) {
      throw new VerificationFailedError(
        states.length === 0
          ? `No Deployment or StatefulSet in ${settings.namespace} matches ${selectorText(settings.holdSelector)}: the application is not running`
          : `Not serving: ${bad.map((s) => `${s.name} ${s.held ? "is still held (scheduling gate)" : `${s.available}/${s.desired} available`}`).join(", ")}`,
      );
    }
    count = states.length;
  }
  let health: VerifyResult["health"];
  if (settings.healthUrl) {
    let status = 0;
    try {
      const response = await deps.fetch(settings.healthUrl, {
        signal: AbortSignal.timeout(10_000),
        redirect: "manual",
      });
      status = response.status;
      await response.body?.cancel();
    } catch (error) {
      throw new VerificationFailedError(`${settings.healthUrl} did not answer: ${(error as Error).message}`, {
        retryable: true,
      });
    }
    if (status !== 200) {
      throw new VerificationFailedError(`${settings.healthUrl} answered ${status}, not 200`, {
        retryable: true,
      });
    }
    health = { url: settings.healthUrl, status };
  }
  return { workloads: count, ...(health ? { health } : {}), startedAt, finishedAt: deps.now().toISOString() };
}
