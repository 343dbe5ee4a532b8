import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { S3Client } from "@aws-sdk/client-s3";
import { S3ControlClient } from "@aws-sdk/client-s3-control";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { parseStorageJobConfig, type StorageJobConfig } from "@gitpod-dr/core/config";
import type { StorageDeps } from "@gitpod-dr/core/s3/job";
import { env } from "./env.ts";

let cached: { config: StorageJobConfig; deps: StorageDeps } | undefined;

/**
 * The S3 check's configuration and clients, built once per cold start.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function storageJob(): { config: StorageJobConfig; deps: StorageDeps } {
  if (!cached) {
    const config = parseStorageJobConfig(env.config);
    const { primary, dr } = config.regions;
    cached = {
      config,
      deps: {
        // Buckets found by prefix may live in another region: follow S3's redirect to it.
        s3: new S3Client({ ...awsClientConfig(primary), followRegionRedirects: true }),
        s3Dr: new S3Client({ ...awsClientConfig(dr), followRegionRedirects: true }),
        cloudwatch: new CloudWatchClient(awsClientConfig(primary)),
        s3control: new S3ControlClient(awsClientConfig(primary)),
      },
    };
  }
  return cached;
}
