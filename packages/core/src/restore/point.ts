import type { RestoreJobConfig } from "../config.ts";
import type { KotsadmConnection } from "../kots/api.ts";
import { setConfigValues } from "../kots/client.ts";
import { KotsApiError } from "../kots/errors.ts";
import { CURRENT_SINCE, findKotsadm, kotsadmVersion, olderThan } from "../kots/kotsadm.ts";
import { findHeldVersion } from "../kots/versions.ts";
import { type ReplicationLag, replicationLag } from "../s3/cloudwatch.ts";
import type { KubeOps } from "../velero/kube.ts";
import type { ApplicationDeps } from "./application.ts";
import { checkDeadline, PointApplicationFailedError } from "./errors.ts";
import type { RestorePlan, Timed } from "./types.ts";

/**
 * "Point application at restored endpoints" and "Check configuration": the application is told where
 * the restored database (and, in the DR region, the replica bucket and the DR registry) are, through
 * the KOTS config or straight into its database Secret, before any held workload may run.
 */

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
  /** KOTS mode: the kotsadm that took the values, `StatefulSet gitpod/kotsadm v1.124.0`. */
  readonly kotsadm?: string;
  /**
   * KOTS mode: what pointing did. `posted`: a new app version with the values was created and deployed.
   * Otherwise an earlier attempt's version already held them (a retry) and nothing was posted: it is the
   * current version, `deployed` or `deploying`, or it is `awaitingPreflights` (kotsadm deploys it when its
   * strict preflights pass).
   */
  readonly kotsAction?: "posted" | "deployed" | "deploying" | "awaitingPreflights";
  /** KOTS mode, nothing posted: the app version that holds the values. */
  readonly kotsSequence?: number;
  /** What the operator should know (kotsadm's version could not be read). */
  readonly warnings?: readonly string[];
}

export interface DatabaseOutcome {
  readonly endpoint?: string;
  readonly port?: number;
}

/**
 * "Point application at restored endpoints": the database host (and for a DR restore the replica
 * bucket and the DR registry) through the KOTS config — as `kubectl kots set config --deploy` does,
 * so KOTS renders the database Secret and redeploys — or, without KOTS, straight into the Secret.
 * @throws PointApplicationFailedError (the Secret or kotsadm's auth string missing; kotsadm unreachable,
 *   retryable, or refusing the values), KubeApiError
 */
export async function pointApplication(
  plan: RestorePlan,
  database: DatabaseOutcome | undefined,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<PointResult> {
  const startedAt = deps.now().toISOString();
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
  const checked = await checkKotsadm(kube, point.namespace);
  const connection = await kotsadmConnection(kube, point);
  const done = { mode: "kots" as const, values, startedAt, ...dbPart, ...lagPart, ...checked };
  // Idempotent: every post is a new app version, and a retry after a timed-out call (kotsadm goes on
  // with it, e.g. waiting up to 15 minutes for strict preflights) must not create another one.
  const held = await kotsadmCall(() => findHeldVersion(deps.fetch, connection, values));
  if (held?.kind === "failedPreflights") throw failedPreflights(held.sequence);
  if (held) {
    const kotsAction = held.kind === "current" ? held.status : held.kind;
    return { ...done, kotsAction, kotsSequence: held.sequence };
  }
  await kotsadmCall(() => setConfigValues(deps.fetch, { ...connection, values }));
  return { ...done, kotsAction: "posted" };
}

type KotsPoint = Extract<NonNullable<RestoreJobConfig["restore"]["application"]["point"]>, { kind: "kots" }>;

/**
 * kotsadm's API as the kots CLI reaches it: the URL and slug configured, the auth string from kotsadm's
 * `kotsadm-authstring` Secret.
 * @throws PointApplicationFailedError (no auth string), KubeApiError
 */
async function kotsadmConnection(kube: KubeOps, point: KotsPoint): Promise<KotsadmConnection> {
  const auth = (await kube.getSecretData(point.namespace, "kotsadm-authstring"))?.["kotsadm-authstring"];
  if (!auth) {
    throw new PointApplicationFailedError(
      `Secret ${point.namespace}/kotsadm-authstring has no kotsadm-authstring key: is kotsadm running in ${point.namespace}?`,
    );
  }
  return { url: point.url, appSlug: point.appSlug, auth };
}

const failedPreflights = (sequence: number) =>
  new PointApplicationFailedError(
    `kotsadm's app version ${sequence} (a config change with these values, made by an earlier attempt) failed its strict preflights: see its preflight results in the Admin Console, fix what they report and deploy version ${sequence} there. Posting again would only create another version that fails them too`,
  );

/**
 * Runs a kotsadm call, reporting its refusal as PointApplicationFailed (retryable as kotsadm's answer is).
 * @throws PointApplicationFailedError
 */
async function kotsadmCall<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!(error instanceof KotsApiError)) throw error;
    const hint =
      error.status === undefined ? ". Is restore.application.point.url reachable from the function?" : "";
    throw new PointApplicationFailedError(`${error.message}${hint}`, {
      cause: error,
      retryable: error.retryable,
    });
  }
}

/**
 * The kotsadm that will take the values: it must run in `namespace`, and read `current: true` (v1.108.0
 * and later); older ones base the new version on the latest sequence, which may be a downloaded but
 * undeployed update, so they are refused. A version the image does not tell is a warning.
 * @throws PointApplicationFailedError, KubeApiError
 */
async function checkKotsadm(
  kube: KubeOps,
  namespace: string,
): Promise<{ kotsadm: string; warnings?: string[] }> {
  const found = await findKotsadm(kube, [namespace]);
  if (!found) {
    throw new PointApplicationFailedError(
      `There is no kotsadm Deployment or StatefulSet in ${namespace}: set restore.application.point.namespace to where kotsadm runs, or use point.kind "secret"`,
    );
  }
  const where = `${found.kind} ${namespace}/kotsadm`;
  const version = kotsadmVersion(found.image);
  if (!version) {
    return {
      kotsadm: where,
      warnings: [
        `kotsadm's version is unknown (image ${found.image ?? "none"}): kotsadm older than ${CURRENT_SINCE.text} ignores current: true and bases the new config on the latest sequence, which may be an undeployed update; check the deployed version in the Admin Console`,
      ],
    };
  }
  if (olderThan(version, CURRENT_SINCE)) {
    throw new PointApplicationFailedError(
      `kotsadm ${version.text} (${where}) is older than ${CURRENT_SINCE.text}, the first that reads current: true: it would base the new config on the latest sequence, which may be a downloaded but undeployed update. Upgrade kotsadm, or point the application by hand (kubectl kots set config --deploy after checking the latest sequence is the deployed one)`,
    );
  }
  return { kotsadm: `${where} ${version.text}` };
}

export interface ConfigStatus extends Timed {
  readonly done: boolean;
  /** The host the application's database Secret names now. */
  readonly secretHost?: string;
}

/**
 * "Check configuration": the database Secret names the restored database (KOTS renders it on deploy,
 * a little after the config changed). Until it does, no held workload may be scaled up. A KOTS version
 * that was waiting for its strict preflights is looked up again while it waits.
 * @throws RestoreDeadlineExceededError (configDeadlineMinutes), PointApplicationFailedError (that
 *   version failed its strict preflights, or kotsadm refused the read), KubeApiError
 */
export async function checkPointed(
  plan: RestorePlan,
  point: PointResult,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ConfigStatus> {
  const now = deps.now();
  if (point.mode === "none" || !point.databaseHost || !plan.cluster) {
    return { done: true, startedAt: point.startedAt, finishedAt: now.toISOString() };
  }
  const settings = config.restore.application;
  const kube = await deps.kube(plan.cluster, plan.region);
  const data = await kube.getSecretData(settings.namespace, settings.databaseSecret.name);
  const host = data?.[settings.databaseSecret.hostKey];
  if (host === point.databaseHost)
    return { done: true, secretHost: host, startedAt: point.startedAt, finishedAt: now.toISOString() };
  // The version found waiting for its strict preflights may have failed them since: say so now, not at
  // the deadline (kotsadm will not deploy it).
  const kots = settings.point;
  if (point.kotsAction === "awaitingPreflights" && kots?.kind === "kots") {
    const connection = await kotsadmConnection(kube, kots);
    const held = await kotsadmCall(() => findHeldVersion(deps.fetch, connection, point.values));
    if (held?.kind === "failedPreflights") throw failedPreflights(held.sequence);
  }
  checkDeadline(
    point.startedAt,
    settings.configDeadlineMinutes,
    now,
    `Secret ${settings.namespace}/${settings.databaseSecret.name} naming ${point.databaseHost} (it names ${host ?? "nothing"})`,
    "restore.application.configDeadlineMinutes",
  );
  return { done: false, ...(host ? { secretHost: host } : {}), startedAt: point.startedAt };
}
