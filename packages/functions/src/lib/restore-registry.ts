import { registryTransports as transports } from "@gitpod-dr/core/registry/clients";
import { clients } from "./cache.ts";
import { restoreConfig } from "./restore-deps.ts";

/** Registry transports for one invocation (fresh token caches; keep-alive connections are shared). */
export function registryTransports() {
  const config = restoreConfig();
  return transports(clients, {
    secretArns: config.registrySecrets,
    insecure: config.restore.images?.insecureRegistries ?? [],
  });
}
