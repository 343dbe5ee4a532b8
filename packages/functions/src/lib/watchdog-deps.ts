import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import type { WatchdogDeps } from "@gitpod-dr/core/catalog/watchdog";
import { parseWatchdogJobConfig, type WatchdogJobConfig } from "@gitpod-dr/core/config/watchdog";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The watchdog's configuration and clients (all in the DR region, where it runs), made once per cold start.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function watchdogJob(): { config: WatchdogJobConfig; deps: Omit<WatchdogDeps, "logger" | "now"> } {
  const config = clients.value("watchdog-config", () => parseWatchdogJobConfig(env.config));
  const region = config.catalog.region;
  const store = catalogStore(config.catalog, clients);
  if (!store) throw new Error("unreachable: the watchdog's configuration always names its catalog");
  return {
    config,
    deps: {
      store,
      rdsDr: clients.client(RDSClient, region),
      cloudwatch: clients.client(CloudWatchClient, region),
    },
  };
}
