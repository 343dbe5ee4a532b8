import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import type { CatalogStore } from "@gitpod-dr/core/catalog/store";
import { parseVeleroJobConfig, type VeleroJobConfig } from "@gitpod-dr/core/config/application";
import { clusterAccess } from "@gitpod-dr/core/velero/clients";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The Velero job's configuration and cluster access, made once per cold start. The cluster's endpoint
 * and CA are described once; the token is refreshed by the access itself.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export async function veleroJob(): Promise<{
  config: VeleroJobConfig;
  kube: KubeOps;
  catalog?: CatalogStore;
}> {
  const config = clients.value("velero-job-config", () => parseVeleroJobConfig(env.config));
  const kube = await clusterAccess(clients, config.application.cluster.name, config.region);
  const catalog = catalogStore(config.catalog, clients);
  return { config, kube, ...(catalog ? { catalog } : {}) };
}
