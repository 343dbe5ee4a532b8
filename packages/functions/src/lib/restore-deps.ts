import { RDSClient } from "@aws-sdk/client-rds";
import { awsClientConfig } from "@gitpod-dr/core/aws/clients";
import { parseRestoreJobConfig, type RestoreJobConfig } from "@gitpod-dr/core/config";
import { env } from "./env.ts";

/**
 * The restore functions' configuration and clients, each built on first use and kept for the cold
 * start (clients per region: a DR restore talks to the DR region). Each client lives in its own module
 * with no work at module level, so a handler's bundle carries only the clients it uses.
 */

export function cachedPer<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    cache.set(key, value);
  }
  return value;
}

let config: RestoreJobConfig | undefined;
/** @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid. */
export function restoreConfig(): RestoreJobConfig {
  config ??= parseRestoreJobConfig(env.config);
  return config;
}

let rds: Map<string, RDSClient> | undefined;
export function rdsClient(region: string): RDSClient {
  rds ??= new Map();
  return cachedPer(rds, region, () => new RDSClient(awsClientConfig(region)));
}
