import { parseRdsJobConfig, type RdsJobConfig } from "@gitpod-dr/core/config/rds";
import { rdsJobClients } from "@gitpod-dr/core/rds/clients";
import type { RdsJobDeps } from "@gitpod-dr/core/rds/job";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The RDS job's configuration and clients, made once per cold start.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function rdsJob(): { config: RdsJobConfig; deps: Omit<RdsJobDeps, "logger"> } {
  const config = clients.value("rds-job-config", () => parseRdsJobConfig(env.config));
  return { config, deps: rdsJobClients(config, clients) };
}
