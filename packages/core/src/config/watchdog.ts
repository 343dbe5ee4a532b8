import * as z from "zod";
import { TIERS } from "../catalog/entries.ts";
import { type CatalogConfig, catalogConfigSchema, type RpoSources, rpoTargets } from "./catalog.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import { databaseKind, rdsIdentifier } from "./patterns.ts";

/** The RPO watchdog's run-time configuration (it runs in the DR region, beside the catalog). */
export const watchdogJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  catalog: catalogConfigSchema,
  /** The RPO target of each configured tier, in seconds. */
  rpoSeconds: z.partialRecord(z.enum(TIERS), z.number().positive()),
  database: z.strictObject({ identifier: rdsIdentifier, kind: databaseKind }),
});
export type WatchdogJobConfig = z.output<typeof watchdogJobConfigSchema>;

const LABEL = "RPO watchdog configuration";

/**
 * The watchdog's configuration, derived from the stage configuration.
 * @throws ConfigError when the result is invalid.
 */
export function watchdogJobConfig(
  stage: string,
  config: RpoSources & { readonly database: { readonly identifier: string; readonly kind: string } },
  catalog: CatalogConfig,
): WatchdogJobConfig {
  const targets = rpoTargets(config);
  return validateConfig(
    watchdogJobConfigSchema,
    {
      stage,
      catalog,
      rpoSeconds: Object.fromEntries(
        Object.entries(targets).map(([tier, ms]) => [tier, Math.round(ms / 1000)]),
      ),
      database: { identifier: config.database.identifier, kind: config.database.kind },
    },
    LABEL,
  );
}

/**
 * Parses the watchdog's configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseWatchdogJobConfig(json: string | undefined): WatchdogJobConfig {
  return parseJobConfig(watchdogJobConfigSchema, json, LABEL);
}
