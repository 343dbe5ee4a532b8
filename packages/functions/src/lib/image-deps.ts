import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import type { CatalogStore } from "@gitpod-dr/core/catalog/store";
import { type ImageJobConfig, parseImageJobConfig } from "@gitpod-dr/core/config/images";
import { imageSyncDeps } from "@gitpod-dr/core/registry/clients";
import type { SyncDeps } from "@gitpod-dr/core/registry/sync";
import { clients } from "./cache.ts";
import { env } from "./env.ts";

/**
 * The image job's configuration and clients, made once per cold start. Registry transports are made per
 * invocation (a fresh token cache each run); their keep-alive connections are shared.
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function imageJob(): { config: ImageJobConfig; deps: SyncDeps; catalog?: CatalogStore } {
  const { config, catalog } = imageCatalog();
  return {
    config,
    deps: imageSyncDeps(config, clients, { insecure: config.images.insecureRegistries }),
    ...(catalog ? { catalog } : {}),
  };
}

/**
 * The image job's configuration and its recovery-point catalog (when configured), without the registry
 * clients (the workflow's Summarize records, it does not copy).
 * @throws ConfigError when GITPOD_DR_CONFIG is missing or invalid.
 */
export function imageCatalog(): { config: ImageJobConfig; catalog?: CatalogStore } {
  const config = clients.value("image-job-config", () => parseImageJobConfig(env.config));
  const catalog = catalogStore(config.catalog, clients);
  return { config, ...(catalog ? { catalog } : {}) };
}
