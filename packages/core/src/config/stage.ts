import * as z from "zod";
import { applicationConfigSchema } from "./application.ts";
import { rpoProblems, rpoSchema } from "./catalog.ts";
import { drillConfigSchema } from "./drill.ts";
import { imagesConfigSchema } from "./images.ts";
import { validateConfig } from "./parse.ts";
import { kmsKeyRegion } from "./patterns.ts";
import { rdsStageSchema } from "./rds.ts";
import { restoreConfigSchema } from "./restore.ts";
import { storageConfigSchema } from "./storage.ts";

/**
 * The stage configuration: one typed, validated object per stage (`config/<stage>.ts`), read by the
 * stacks at synth time. Each tier's part, and the part its function needs at run time (which reaches it
 * as JSON in its environment and is parsed again with the same schema at cold start), live in the tier's
 * module beside this one.
 */
export const stageConfigSchema = rdsStageSchema
  .extend({
    /** The object-storage tier: the S3 replication check. Leave out to deploy no check. */
    storage: storageConfigSchema.optional(),
    /** The application tier: Velero backups of the EKS cluster. Leave out to deploy no backup job. */
    application: applicationConfigSchema.optional(),
    /** The image tier: registry-to-registry sync. Leave out to deploy no image job. */
    images: imagesConfigSchema.optional(),
    /** The restore state machine. Leave out to deploy none. Needs `application` for the application tier. */
    restore: restoreConfigSchema.optional(),
    /** RPO targets per tier (`"26h"`); a tier left out gets its schedule's longest gap plus 2 hours. */
    rpo: rpoSchema.optional(),
    /** The scheduled restore drill (into scratch resources, then torn down). Needs `restore`. */
    drill: drillConfigSchema.optional(),
    notifications: z
      .strictObject({
        emails: z.array(z.email("must be an email address")).default([]),
        httpsEndpoints: z.array(z.url({ protocol: /^https$/, error: "must be an https:// URL" })).default([]),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    for (const [path, message] of rpoProblems(config)) ctx.addIssue({ code: "custom", path, message });
    if (config.regions.dr === config.regions.primary) {
      ctx.addIssue({
        code: "custom",
        path: ["regions", "dr"],
        message: `must differ from regions.primary (${config.regions.primary}): a copy in the same region does not survive losing it`,
      });
    }
    const drKeyRegion = kmsKeyRegion(config.dr.kmsKeyArn);
    if (drKeyRegion && drKeyRegion !== config.regions.dr) {
      ctx.addIssue({
        code: "custom",
        path: ["dr", "kmsKeyArn"],
        message: `must be a key in the DR region ${config.regions.dr}, but it is in ${drKeyRegion}`,
      });
    }
    if (config.restore) {
      for (const [name, region] of [
        ["primary", config.regions.primary],
        ["dr", config.regions.dr],
      ] as const) {
        const key = config.restore.targets[name]?.database.kmsKeyArn;
        const keyRegion = key ? kmsKeyRegion(key) : undefined;
        if (keyRegion && keyRegion !== region) {
          ctx.addIssue({
            code: "custom",
            path: ["restore", "targets", name, "database", "kmsKeyArn"],
            message: `must be a key in the ${name} region ${region}, but it is in ${keyRegion}`,
          });
        }
      }
      if (config.restore.targets.dr && !config.restore.targets.dr.cluster && config.application) {
        ctx.addIssue({
          code: "custom",
          path: ["restore", "targets", "dr", "cluster"],
          message: `is required: the EKS cluster in ${config.regions.dr} to restore the application into`,
        });
      }
    }
    if (config.drill) drillCrossChecks(config, ctx);
    const dbKeyRegion = config.database.kmsKeyArn ? kmsKeyRegion(config.database.kmsKeyArn) : undefined;
    if (dbKeyRegion && dbKeyRegion !== config.regions.primary) {
      ctx.addIssue({
        code: "custom",
        path: ["database", "kmsKeyArn"],
        message: `must be a key in the primary region ${config.regions.primary}, but it is in ${dbKeyRegion}`,
      });
    }
  });

/** What a stage file is written as (defaults may be left out). */
export type StageConfigInput = z.input<typeof stageConfigSchema>;
/** The validated configuration, defaults filled in. */
export type StageConfig = z.output<typeof stageConfigSchema>;

/**
 * Validates a stage configuration.
 * @throws ConfigError naming every invalid field and why.
 */
export function parseStageConfig(raw: unknown, source = "stage configuration"): StageConfig {
  return validateConfig(stageConfigSchema, raw, source);
}

/** The drill restores with the restore's settings: the target it names must be configured, and fit. */
function drillCrossChecks(
  config: Pick<z.output<typeof rdsStageSchema>, "regions"> & {
    restore?: z.output<typeof restoreConfigSchema> | undefined;
    drill?: z.output<typeof drillConfigSchema> | undefined;
  },
  ctx: z.RefinementCtx,
): void {
  const drill = config.drill;
  if (!drill) return;
  const restore = config.restore;
  if (!restore) {
    ctx.addIssue({
      code: "custom",
      path: ["drill"],
      message: "needs a restore section: the drill restores with the restore's target settings",
    });
    return;
  }
  if (!restore.targets[drill.target]) {
    ctx.addIssue({
      code: "custom",
      path: ["drill", "target"],
      message: `is "${drill.target}" but restore.targets.${drill.target} is not configured`,
    });
  }
  const needed = restore.database.deadlineMinutes + drill.keepMinutes + 15;
  if (drill.deadlineMinutes < needed) {
    ctx.addIssue({
      code: "custom",
      path: ["drill", "deadlineMinutes"],
      message: `must be at least ${needed}: restore.database.deadlineMinutes (${restore.database.deadlineMinutes}) + keepMinutes (${drill.keepMinutes}) + 15 for the checks and teardown`,
    });
  }
}
