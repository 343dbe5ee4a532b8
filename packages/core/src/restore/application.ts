import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { stringify } from "yaml";
import { wrapAwsError } from "../aws/errors.ts";
import type { RestoreJobConfig } from "../config.ts";
import { METRIC_NAMESPACE } from "../s3/job.ts";
import { VeleroConflictError } from "../velero/errors.ts";
import type { Deployment, KubeOps, WorkloadPlural } from "../velero/kube.ts";
import { LABEL_CREATED_BY, LABEL_CREATED_BY_VALUE, LABEL_RESTORE_ID, labelValue } from "../velero/naming.ts";
import { getRestoreStatus, RESTARTED_AT, rolloutState, startRestore } from "../velero/restore.ts";
import {
  ApplicationRestoreFailedError,
  checkDeadline,
  PointApplicationFailedError,
  VerificationFailedError,
} from "./errors.ts";
import type { RestorePlan, RestoreRequest, Timed } from "./types.ts";

/**
 * The application branch and the steps after it: the Velero Restore with the application's workloads
 * held back (their pods cannot be scheduled), pointing the application at the restored endpoints, the redeploy and the
 * verification. Each is one short call; Step Functions does the waiting.
 */

/** Marks a workload the restore holds back; Redeploy releases it and removes the mark. */
export const HELD_ANNOTATION = "gitpod-dr/held-by-restore";
/** The scheduling gate that holds the restored pods: the scheduler places no pod that carries one. */
export const HOLD_GATE = "gitpod-dr/held";
const WORKLOADS: readonly WorkloadPlural[] = ["deployments", "statefulsets"];

export interface ApplicationDeps {
  readonly kube: (cluster: string, region: string) => Promise<KubeOps>;
  readonly cloudwatch: (region: string) => Pick<CloudWatchClient, "send">;
  readonly fetch: typeof fetch;
  readonly now: () => Date;
}

const iso = (d: Date) => d.toISOString();
const selectorText = (labels: Record<string, string>) =>
  Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

/**
 * The Velero resource modifier that holds the application back until "Point application" has named
 * the restored database. Everything matching `holdSelector` in the application namespace is restored
 * with a scheduling gate, so no pod of it is ever scheduled: Deployments, StatefulSets and ReplicaSets
 * in their pod template (replica counts stay as backed up), bare Pods in their own spec. Jobs and
 * CronJobs are restored suspended. The gate survives a KOTS redeploy (`kubectl apply` keeps fields its
 * manifests do not set), so KOTS may scale the workloads up: their pods wait, gated, until Redeploy
 * removes the gate after the database Secret was checked.
 */
export function holdModifier(
  namespace: string,
  holdSelector: Record<string, string>,
  restoreId: string,
): string {
  const mark = { annotations: { [HELD_ANNOTATION]: labelValue(restoreId) } };
  const gates = [{ name: HOLD_GATE }];
  const template = { spec: { schedulingGates: gates } };
  const rule = (groupResource: string, patch: Record<string, unknown>) => ({
    conditions: { groupResource, namespaces: [namespace], labelSelector: { matchLabels: holdSelector } },
    // One patch kind per rule (Velero rejects a rule with two).
    mergePatches: [{ patchData: JSON.stringify(patch) }],
  });
  return stringify({
    version: "v1",
    resourceModifierRules: [
      ...["deployments.apps", "statefulsets.apps", "replicasets.apps"].map((gr) =>
        rule(gr, { metadata: mark, spec: { template } }),
      ),
      rule("pods", { metadata: mark, spec: { schedulingGates: gates } }),
      rule("jobs.batch", { metadata: mark, spec: { suspend: true } }),
      rule("cronjobs.batch", { metadata: mark, spec: { suspend: true } }),
    ],
  });
}

/** Whether a workload is still held by a restore: marked, or its pod template gated. */
function isHeld(w: Deployment): boolean {
  const gates = (w.spec?.template?.spec as { schedulingGates?: { name?: string }[] } | undefined)
    ?.schedulingGates;
  return (
    w.metadata.annotations?.[HELD_ANNOTATION] !== undefined || (gates ?? []).some((g) => g.name === HOLD_GATE)
  );
}

export interface ApplicationStarted extends Timed {
  readonly name: string;
  readonly backupName: string;
  readonly created: boolean;
}

/** "Restore application": the hold-back ConfigMap, then the Velero Restore (both adopted on a rerun). */
export async function startApplicationRestore(
  request: RestoreRequest,
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ApplicationStarted> {
  const app = plan.application;
  const settings = config.application;
  if (!app || !settings) throw new ApplicationRestoreFailedError("The plan has no application restore");
  const kube = await deps.kube(app.cluster, plan.region);
  const startedAt = iso(deps.now());
  const hold = config.restore.application;
  const labels = {
    [LABEL_CREATED_BY]: LABEL_CREATED_BY_VALUE,
    [LABEL_RESTORE_ID]: labelValue(request.restoreId),
  };
  const data = { "hold.yaml": holdModifier(hold.namespace, hold.holdSelector, request.restoreId) };
  const modifier = await kube.createConfigMap(app.veleroNamespace, {
    metadata: { name: app.modifierName, namespace: app.veleroNamespace, labels },
    data,
  });
  if (!modifier.created) {
    // An earlier attempt's: adopted only if it is this restore's and holds what this one would.
    const existing = modifier.object;
    const ours = existing.metadata.labels?.[LABEL_RESTORE_ID] === labels[LABEL_RESTORE_ID];
    if (!ours || existing.data?.["hold.yaml"] !== data["hold.yaml"]) {
      throw new VeleroConflictError(
        ours
          ? `ConfigMap ${app.veleroNamespace}/${app.modifierName} of restore ${request.restoreId} holds other rules than this configuration gives (restore.application changed?): use another restoreId`
          : `ConfigMap ${app.veleroNamespace}/${app.modifierName} exists and was not created by restore ${request.restoreId}: use another restoreId`,
      );
    }
  }
  const started = await startRestore(kube, {
    restoreId: request.restoreId,
    backupName: app.backup.name,
    veleroNamespace: app.veleroNamespace,
    includedNamespaces: settings.includedNamespaces,
    existingResourcePolicy: "none",
    includeKotsBackups: settings.includeKotsBackups,
    resourceModifier: app.modifierName,
    name: app.restoreName,
  });
  return { ...started, startedAt };
}

export interface ApplicationStatus extends Timed {
  readonly name: string;
  readonly backupName: string;
  readonly phase: string;
  readonly done: boolean;
  readonly warnings: number;
  readonly errors: number;
  readonly failureReason?: string;
  /** PartiallyFailed, accepted because the input allowed it. */
  readonly partial: boolean;
}

/** "Check application restore": the Restore's phase; terminal failures throw. */
export async function checkApplicationRestore(
  request: RestoreRequest,
  plan: RestorePlan,
  started: ApplicationStarted,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ApplicationStatus> {
  const app = plan.application;
  if (!app) throw new ApplicationRestoreFailedError("The plan has no application restore");
  const kube = await deps.kube(app.cluster, plan.region);
  const status = await getRestoreStatus(kube, app.veleroNamespace, started.name);
  const counts = `${status.warnings} warning(s), ${status.errors} error(s)`;
  const details = `see \`velero restore describe ${started.name} --details\` and \`velero restore logs ${started.name}\``;
  const base = {
    name: started.name,
    backupName: started.backupName,
    phase: status.phase,
    warnings: status.warnings,
    errors: status.errors,
    ...(status.failureReason ? { failureReason: status.failureReason } : {}),
    startedAt: started.startedAt,
  };
  if (status.phase === "Completed")
    return { ...base, done: true, partial: false, finishedAt: iso(deps.now()) };
  if (status.phase === "PartiallyFailed") {
    if (request.allowPartialRestore)
      return { ...base, done: true, partial: true, finishedAt: iso(deps.now()) };
    throw new ApplicationRestoreFailedError(
      `Velero restore ${started.name} from backup ${started.backupName} ended PartiallyFailed (${counts}): ${details}. Start again with allowPartialRestore: true and the same restoreId to accept it`,
    );
  }
  if (status.phase === "Failed" || status.phase === "FailedValidation") {
    const why = status.failureReason ?? status.validationErrors.join("; ");
    throw new ApplicationRestoreFailedError(
      `Velero restore ${started.name} from backup ${started.backupName} ended ${status.phase}${why ? `: ${why}` : ""} (${counts}); ${details}`,
    );
  }
  checkDeadline(
    started.startedAt,
    config.restore.application.restoreDeadlineMinutes,
    deps.now(),
    `Velero restore ${started.name} (${status.phase})`,
    "restore.application.restoreDeadlineMinutes",
  );
  return { ...base, done: false, partial: false };
}

export interface ReplicationLag {
  readonly bucket: string;
  /** Seconds between the last canary known to have replicated and now; undefined when none is on record. */
  readonly seconds?: number;
  readonly measuredAt?: string;
  /** Why the measurement could not be read (the lag is then unknown). */
  readonly error?: string;
}

/**
 * The object-storage tier's latest verdict: how long ago the last canary replicated, per bucket (the
 * S3 check's `SecondsSinceReplicatedCanary` metric plus the time since it was recorded).
 */
export async function replicationLag(
  cloudwatch: Pick<CloudWatchClient, "send">,
  buckets: readonly string[],
  now: Date,
): Promise<ReplicationLag[]> {
  if (buckets.length === 0) return [];
  const { GetMetricDataCommand } = await import("@aws-sdk/client-cloudwatch");
  try {
    const out = await cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: new Date(now.getTime() - 7 * 86_400_000),
        EndTime: now,
        ScanBy: "TimestampDescending",
        MetricDataQueries: buckets.map((bucket, i) => ({
          Id: `b${i}`,
          MetricStat: {
            Metric: {
              Namespace: METRIC_NAMESPACE,
              MetricName: "SecondsSinceReplicatedCanary",
              Dimensions: [{ Name: "Bucket", Value: bucket }],
            },
            Period: 300,
            Stat: "Maximum",
          },
        })),
      }),
      // During a DR restore the primary region (where the check's metrics are) may not answer: the lag
      // is information for the operator and must not hold the restore up.
      { abortSignal: AbortSignal.timeout(10_000) },
    );
    return buckets.map((bucket, i) => {
      const r = out.MetricDataResults?.find((m) => m.Id === `b${i}`);
      const at = r?.Timestamps?.[0];
      const value = r?.Values?.[0];
      if (!at || value === undefined) return { bucket };
      return {
        bucket,
        seconds: Math.round(value + (now.getTime() - at.getTime()) / 1000),
        measuredAt: at.toISOString(),
      };
    });
  } catch (error) {
    // The lag is information for the operator; not knowing it must not stop a restore.
    const wrapped = wrapAwsError("Unable to read the replication lag", error);
    return buckets.map((bucket) => ({ bucket, error: wrapped.message }));
  }
}

export interface PointResult extends Timed {
  /** How the endpoints were set: the KOTS config, the Secret, or nothing to set. */
  readonly mode: "kots" | "secret" | "none";
  /** The values set (no secrets: host names, bucket, region, registry). */
  readonly values: Record<string, string>;
  readonly databaseHost?: string;
  readonly databasePort?: number;
  readonly replicationLag?: readonly ReplicationLag[];
  /** Endpoints this restore should point at but the configured way cannot set (for the operator). */
  readonly notSet?: readonly string[];
}

export interface DatabaseOutcome {
  readonly endpoint?: string;
  readonly port?: number;
}

/**
 * "Point application at restored endpoints": the database host (and for a DR restore the replica
 * bucket and the DR registry) through the KOTS config — as `kubectl kots set config --deploy` does,
 * so KOTS renders the database Secret and redeploys — or, without KOTS, straight into the Secret.
 */
export async function pointApplication(
  plan: RestorePlan,
  database: DatabaseOutcome | undefined,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<PointResult> {
  const startedAt = iso(deps.now());
  const settings = config.restore.application;
  const host = database?.endpoint;
  const lag =
    plan.endpoints.bucket && config.storageBuckets.length > 0
      ? await replicationLag(deps.cloudwatch(config.regions.primary), config.storageBuckets, deps.now())
      : undefined;
  const lagPart = lag ? { replicationLag: lag } : {};
  const hasEndpoints = Boolean(host || plan.endpoints.bucket || plan.endpoints.registry);
  if (!plan.cluster || !hasEndpoints)
    return { mode: "none", values: {}, startedAt, finishedAt: startedAt, ...lagPart };
  const kube = await deps.kube(plan.cluster, plan.region);
  const point = settings.point ?? { kind: "secret" as const };
  const dbPart = host
    ? { databaseHost: host, ...(database?.port ? { databasePort: database.port } : {}) }
    : {};
  if (point.kind === "secret") {
    // The Secret holds the database only: a DR restore's bucket and registry are the operator's to set.
    const unset = [
      ...(plan.endpoints.bucket
        ? [`bucket ${plan.endpoints.bucket.name} (${plan.endpoints.bucket.region})`]
        : []),
      ...(plan.endpoints.registry ? [`registry ${plan.endpoints.registry}`] : []),
    ];
    const notSet = unset.length > 0 ? { notSet: unset } : {};
    if (!host) return { mode: "none", values: {}, startedAt, finishedAt: startedAt, ...lagPart, ...notSet };
    const s = settings.databaseSecret;
    const values: Record<string, string> = { [s.hostKey]: host };
    if (database?.port) values[s.portKey] = String(database.port);
    const existing = await kube.getSecretData(settings.namespace, s.name);
    if (!existing) {
      throw new PointApplicationFailedError(
        `Secret ${settings.namespace}/${s.name} does not exist: the application's database Secret must be restored (or created) before it can be pointed at ${host}`,
      );
    }
    await kube.patchSecretData(settings.namespace, s.name, values);
    return { mode: "secret", values, startedAt, ...dbPart, ...lagPart, ...notSet };
  }
  const values: Record<string, string> = {};
  if (host) values[point.keys.dbHost] = host;
  if (host && point.keys.dbPort && database?.port) values[point.keys.dbPort] = String(database.port);
  if (plan.endpoints.bucket) {
    values[point.keys.bucket] = plan.endpoints.bucket.name;
    values[point.keys.bucketRegion] = plan.endpoints.bucket.region;
  }
  if (plan.endpoints.registry) values[point.keys.registry] = plan.endpoints.registry;
  const auth = (await kube.getSecretData(point.namespace, "kotsadm-authstring"))?.["kotsadm-authstring"];
  if (!auth) {
    throw new PointApplicationFailedError(
      `Secret ${point.namespace}/kotsadm-authstring has no kotsadm-authstring key: is kotsadm running in ${point.namespace}?`,
    );
  }
  const document = stringify({
    apiVersion: "kots.io/v1beta1",
    kind: "ConfigValues",
    spec: { values: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }])) },
  });
  const url = `${point.url.replace(/\/+$/, "")}/api/v1/app/${encodeURIComponent(point.appSlug)}/config/values`;
  let response: Response;
  try {
    response = await deps.fetch(url, {
      method: "POST",
      headers: { Authorization: auth, "Content-Type": "application/json" },
      // kotsadm takes the ConfigValues document as Go []byte, which JSON carries as base64.
      body: JSON.stringify({
        configValues: Buffer.from(document, "utf8").toString("base64"),
        merge: true,
        deploy: true,
        skipPreflights: true,
        // Base the new version on the one deployed, never on a downloaded-but-undeployed update (kotsadm
        // ≥ 1.109 reads `current`); older kotsadm bases it on `sequence`, -1 meaning the latest.
        current: true,
        sequence: -1,
      }),
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    throw new PointApplicationFailedError(
      `Unable to reach the kotsadm API at ${point.url}: ${(error as Error).message}. Is restore.application.point.url reachable from the function?`,
      { retryable: true },
    );
  }
  if (!response.ok) {
    // The auth string is removed before anything is cut, so no part of it can survive a cut.
    const body = (await response.text().catch(() => "")).replaceAll(auth, "[redacted]");
    let kotsError: string | undefined;
    try {
      const parsed = JSON.parse(body) as { error?: unknown };
      if (typeof parsed?.error === "string" && parsed.error !== "") kotsError = parsed.error;
    } catch {}
    const detail = (kotsError ?? body).replaceAll(auth, "[redacted]").slice(0, 500);
    const hint =
      response.status === 401
        ? "kotsadm refused its own auth string"
        : response.status === 404
          ? `no app with slug ${point.appSlug}`
          : "the config values were refused";
    throw new PointApplicationFailedError(
      `kotsadm answered ${response.status} to setting ${Object.keys(values).join(", ")} (${hint})${detail ? `: ${detail}` : ""}`,
      // kotsadm answers 500 with an `error` for refusals that will not change (an unknown config key):
      // only a 5xx without one (a proxy, a restarting kotsadm) is worth retrying.
      { retryable: response.status >= 500 && kotsError === undefined },
    );
  }
  return { mode: "kots", values, startedAt, ...dbPart, ...lagPart };
}

export interface ConfigStatus extends Timed {
  readonly done: boolean;
  /** The host the application's database Secret names now. */
  readonly secretHost?: string;
}

/**
 * "Check configuration": the database Secret names the restored database (KOTS renders it on deploy,
 * a little after the config changed). Until it does, no held workload may be scaled up.
 */
export async function checkPointed(
  plan: RestorePlan,
  point: PointResult,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ConfigStatus> {
  const now = deps.now();
  if (point.mode === "none" || !point.databaseHost || !plan.cluster) {
    return { done: true, startedAt: point.startedAt, finishedAt: iso(now) };
  }
  const settings = config.restore.application;
  const kube = await deps.kube(plan.cluster, plan.region);
  const data = await kube.getSecretData(settings.namespace, settings.databaseSecret.name);
  const host = data?.[settings.databaseSecret.hostKey];
  if (host === point.databaseHost)
    return { done: true, secretHost: host, startedAt: point.startedAt, finishedAt: iso(now) };
  checkDeadline(
    point.startedAt,
    settings.configDeadlineMinutes,
    now,
    `Secret ${settings.namespace}/${settings.databaseSecret.name} naming ${point.databaseHost} (it names ${host ?? "nothing"})`,
    "restore.application.configDeadlineMinutes",
  );
  return { done: false, ...(host ? { secretHost: host } : {}), startedAt: point.startedAt };
}

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
 */
export async function redeploy(
  _request: RestoreRequest,
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<RedeployResult> {
  const now = deps.now();
  const startedAt = iso(now);
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

/** "Check rollout": every matching workload updated and available. */
export async function checkRollout(
  plan: RestorePlan,
  redeployed: RedeployResult,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<RolloutStatus> {
  const now = deps.now();
  if (!plan.cluster)
    return { done: true, workloads: [], startedAt: redeployed.startedAt, finishedAt: iso(now) };
  const settings = config.restore.application;
  const kube = await deps.kube(plan.cluster, plan.region);
  const states = await rollouts(kube, settings.namespace, selectorText(settings.holdSelector));
  const workloads = states.map(({ held: _held, ...s }) => s);
  const done = workloads.length > 0 && workloads.every((w) => w.done);
  if (done) return { done, workloads, startedAt: redeployed.startedAt, finishedAt: iso(now) };
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

/** "Verify": the workloads are available, none is still held, and the health URL (if any) answers 200. */
export async function verify(
  plan: RestorePlan,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<VerifyResult> {
  const startedAt = iso(deps.now());
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
  return { workloads: count, ...(health ? { health } : {}), startedAt, finishedAt: iso(deps.now()) };
}
