import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { parseRdsJobConfig, type RdsJobConfig } from "@gitpod-dr/core/config";
import type { RdsJobDeps } from "@gitpod-dr/core/rds/job";
import { env } from "./env.ts";

let cached: { config: RdsJobConfig; deps: RdsJobDeps } | undefined;

/**
 * The RDS job's configuration and clients, built once per cold start.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function rdsJob(): { config: RdsJobConfig; deps: Omit<RdsJobDeps, "logger"> } {
  if (!cached) {
    const config = parseRdsJobConfig(env.config);
    cached = {
      config,
      deps: {
        rdsPrimary: new RDSClient(awsClientConfig(config.regions.primary)),
        rdsDr: new RDSClient(awsClientConfig(config.regions.dr)),
        kmsPrimary: new KMSClient(awsClientConfig(config.regions.primary)),
      },
    };
  }
  return cached;
}
