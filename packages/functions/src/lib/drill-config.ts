import { RDSClient } from "@aws-sdk/client-rds";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { type DrillJobConfig, parseDrillJobConfig } from "@gitpod-dr/core/config/drill";
import { drillRegion } from "@gitpod-dr/core/drill/plan";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The drill's configuration and the clients both drill functions use (RDS and Secrets Manager in the
 * target region), built once per cold start. Apart from drill-deps.ts (S3, the cluster, the registry,
 * the catalog) so that the database function's bundle carries only these.
 */

export function drillConfig(): DrillJobConfig {
  return clients.value("drill-config", () => parseDrillJobConfig(env.config));
}

export const drillRds = (): RDSClient => clients.client(RDSClient, drillRegion(drillConfig()));
export const drillSecrets = (): SecretsManagerClient =>
  clients.client(SecretsManagerClient, drillRegion(drillConfig()));
