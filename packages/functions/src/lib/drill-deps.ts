import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import type { DrillKube } from "@gitpod-dr/core/drill/kube";
import { drillRegion } from "@gitpod-dr/core/drill/plan";
import { catalogRecoveryPoints } from "@gitpod-dr/core/drill/recovery-points";
import type { DrillDeps } from "@gitpod-dr/core/drill/steps";
import type { DrillRecoveryPoints } from "@gitpod-dr/core/drill/types";
import { registryTransports } from "@gitpod-dr/core/registry/clients";
import { targetCluster } from "@gitpod-dr/core/restore/build-plan";
import { clusterAccess } from "@gitpod-dr/core/velero/clients";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { clients } from "./cache.ts";
import { drillConfig, drillRds, drillSecrets } from "./drill-config.ts";
import { env } from "./env.ts";

/**
 * The drill function's clients beyond drill-config.ts's, built once per cold start (clients per region).
 * The database function does not import this module.
 */
export const drillS3 = (region: string): S3Client => clients.client(S3Client, region);
export const drillCloudwatch = (): CloudWatchClient =>
  clients.client(CloudWatchClient, env.region || "us-east-1");

/** The target cluster: `RestKubeOps`, which implements the drill's list and delete as well. */
export async function drillKube(): Promise<(KubeOps & DrillKube) | undefined> {
  const config = drillConfig();
  const cluster = targetCluster(config, config.drill.target);
  if (!cluster || !config.application) return undefined;
  return (await clusterAccess(clients, cluster, drillRegion(config))) as KubeOps & DrillKube;
}

export function drillTransports() {
  const config = drillConfig();
  return registryTransports(clients, {
    secretArns: config.registrySecrets,
    insecure: config.restore.images?.insecureRegistries ?? [],
  });
}

/** The recovery-point catalog (in the DR region): the newest complete recovery point, and where results are recorded. */
export function drillPoints(): DrillRecoveryPoints {
  const config = drillConfig();
  const store = catalogStore(config.catalog, clients);
  if (!store) throw new TypeError("unreachable: the drill's configuration always names its catalog");
  return catalogRecoveryPoints(config, {
    store,
    registry: config.restore.targets[config.drill.target]?.registry,
  });
}

/** The drill steps' dependencies (`drillStep`'s: every step but "Check database", database-step.ts). */
export function drillDeps(): DrillDeps {
  return {
    now: () => new Date(),
    points: drillPoints,
    rds: drillRds,
    secrets: drillSecrets,
    kube: drillKube,
    transportFor: drillTransports,
    s3: drillS3,
  };
}
