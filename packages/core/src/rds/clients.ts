import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import type { ClientCache } from "../aws/cache.ts";
import type { Regions } from "../config/patterns.ts";
import type { RdsJobDeps } from "./job.ts";

/** The RDS snapshot job's clients (the Lambda's and the CLI's), from the cache. */
export function rdsJobClients(config: { regions: Regions }, cache: ClientCache): Omit<RdsJobDeps, "logger"> {
  const { primary, dr } = config.regions;
  return {
    rdsPrimary: cache.client(RDSClient, primary),
    rdsDr: cache.client(RDSClient, dr),
    kmsPrimary: cache.client(KMSClient, primary),
  };
}
