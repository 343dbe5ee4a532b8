import { parseStorageJobConfig, type StorageJobConfig } from "@gitpod-dr/core/config/storage";
import { storageClients } from "@gitpod-dr/core/s3/clients";
import type { StorageDeps } from "@gitpod-dr/core/s3/job";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The S3 check's configuration and clients, made once per cold start.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function storageJob(): { config: StorageJobConfig; deps: StorageDeps } {
  const config = clients.value("storage-job-config", () => parseStorageJobConfig(env.config));
  return { config, deps: storageClients(config, clients) };
}
