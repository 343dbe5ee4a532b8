import { parseRestoreJobConfig, type RestoreJobConfig } from "@gitpod-dr/core/config/restore";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The restore functions' configuration, parsed once per cold start. Their clients (per region: a DR
 * restore talks to the DR region) live in modules of their own (`restore-rds.ts`, …), so a handler's
 * bundle carries only the clients it uses.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function restoreConfig(): RestoreJobConfig {
  return clients.value("restore-config", () => parseRestoreJobConfig(env.config));
}
