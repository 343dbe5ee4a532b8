import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import type { ClientCache } from "../aws/cache.ts";
import { catalogStore } from "../catalog/clients.ts";
import type { CatalogConfig } from "../config/catalog.ts";
import type { Regions } from "../config/patterns.ts";
import type { StorageDeps } from "./job.ts";

// Buckets found by prefix may live in another region: follow S3's redirect to it.
const S3_OPTIONS = { config: { followRegionRedirects: true } };

/** The S3 replication check's clients (the Lambda's and the CLI's), from the cache. */
export function storageClients(
  config: { regions: Regions; catalog?: CatalogConfig | undefined },
  cache: ClientCache,
): StorageDeps {
  const { primary, dr } = config.regions;
  const catalog = catalogStore(config.catalog, cache);
  return {
    ...(catalog ? { catalog } : {}),
    s3: cache.client(S3Client, primary, S3_OPTIONS),
    s3Dr: cache.client(S3Client, dr, S3_OPTIONS),
    cloudwatch: cache.client(CloudWatchClient, primary),
    s3control: cache.client(S3ControlClient, primary),
  };
}
