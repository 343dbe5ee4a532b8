import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import type { ClientCache } from "../aws/cache.ts";
import { catalogStore } from "../catalog/clients.ts";
import type { CatalogConfig } from "../config/catalog.ts";
import type { Regions } from "../config/patterns.ts";
import type { RdsJobDeps } from "./job.ts";

/** The RDS snapshot job's clients (the Lambda's and the CLI's), from the cache. */
export function rdsJobClients(
  config: { regions: Regions; catalog?: CatalogConfig | undefined },
  cache: ClientCache,
): Omit<RdsJobDeps, "logger"> {
  const { primary, dr } = config.regions;
  const catalog = catalogStore(config.catalog, cache);
  return {
    ...(catalog ? { catalog } : {}),
    rdsPrimary: cache.client(RDSClient, primary),
    rdsDr: cache.client(RDSClient, dr),
    kmsPrimary: cache.client(KMSClient, primary),
  };
}
