import * as z from "zod";
import { ConfigError } from "../errors.ts";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import { scheduleExpression, securityGroupId } from "./patterns.ts";
import { type RestoreStageConfig, restoreJobConfig, restoreJobConfigSchema } from "./restore.ts";

/**
 * The scheduled restore drill (issue 13): what it restores, what it checks, how long it may take. The
 * drill restores into scratch resources named from its id (`drill/naming.ts`) with the restore's
 * target settings, so it needs a `restore` section with the chosen target (checked in `stage.ts`).
 */

const subnetId = z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-…)");

/** What a SQL check's single value (first column of the first row) must be. */
const expectation = z
  .strictObject({
    equals: z.union([z.number(), z.string()]).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .refine((e) => e.equals !== undefined || e.min !== undefined || e.max !== undefined, {
    message: "must set equals, min or max",
  })
  .refine((e) => e.min === undefined || e.max === undefined || e.min <= e.max, {
    message: "min must not be greater than max",
  });

/** One configurable SQL check: a read-only query whose first value must meet `expect`. */
export const sqlCheckSchema = z.strictObject({
  name: z.string().regex(/^[\w .:-]{1,80}$/, "must be 1-80 letters, digits, spaces or . : _ -"),
  sql: z
    .string()
    .min(1)
    .refine(
      (s) => /^\s*(select|with|show)\b/i.test(s) && !/;\s*\S/.test(s),
      "must be one read-only statement (SELECT, WITH or SHOW)",
    ),
  expect: expectation,
});
export type SqlCheck = z.output<typeof sqlCheckSchema>;

/** A table whose presence, row count and newest row the drill checks. */
export const tableCheckSchema = z.strictObject({
  table: z.string().regex(/^[A-Za-z0-9_$]{1,64}$/, "must be a MySQL table name"),
  /** A TIMESTAMP/DATETIME column whose newest value is compared with the recovery time. */
  newestColumn: z
    .string()
    .regex(/^[A-Za-z0-9_$]{1,64}$/, "must be a MySQL column name")
    .optional(),
});
export type TableCheck = z.output<typeof tableCheckSchema>;

/**
 * Gitpod's own tables (components/gitpod-db, TypeORM entities `DBUser`, `DBWorkspace`,
 * `DBWorkspaceInstance`): each carries `_lastModified` TIMESTAMP(6), set on every write.
 */
export const GITPOD_TABLES: readonly TableCheck[] = [
  { table: "d_b_user", newestColumn: "_lastModified" },
  { table: "d_b_workspace", newestColumn: "_lastModified" },
  { table: "d_b_workspace_instance", newestColumn: "_lastModified" },
];

export const drillConfigSchema = z
  .strictObject({
    /** When a drill starts (EventBridge expression, UTC), e.g. weekly: cron(0 4 ? * SUN *). */
    schedule: scheduleExpression,
    /** The region's restore settings the drill uses (the scratch resources land there). */
    target: z.enum(["primary", "dr"]).default("dr"),
    /** Keep the scratch resources this long after the checks (for a person to look), then tear down. */
    keepMinutes: z.number().int().min(0).max(240, "must be at most 240").default(0),
    /** The whole drill's limit (the drill state machine's timeout); teardown runs within it. */
    deadlineMinutes: z.number().int().min(30, "must be at least 30").max(720, "must be at most 720"),
    /** The alarm fires when no drill has succeeded for this many days. */
    maxAgeDays: z.number().int().min(1).max(90).default(8),
    /** Accept a PartiallyFailed Velero restore (its warnings are reported). */
    allowPartialRestore: z.boolean().default(false),
    /** Where the check function runs: the VPC of the scratch database (it connects over TLS). */
    vpc: z.strictObject({
      subnetIds: z.array(subnetId).min(1, "must list at least one subnet"),
      /** The check function's security group: the only source the scratch database's group admits. */
      securityGroupIds: z.array(securityGroupId).min(1, "must list at least one security group"),
    }),
    /** The scratch database's security groups: their ingress must admit only `vpc.securityGroupIds`. */
    database: z.strictObject({
      securityGroupIds: z.array(securityGroupId).min(1, "must list at least one security group"),
    }),
    checks: z
      .strictObject({
        database: z
          .strictObject({
            /** The schema Gitpod's tables live in. */
            schema: z
              .string()
              .regex(/^[A-Za-z0-9_$]{1,64}$/, "must be a MySQL schema name")
              .default("gitpod"),
            tables: z.array(tableCheckSchema).default([...GITPOD_TABLES]),
            sql: z.array(sqlCheckSchema).default([]),
            /** Row counts must be within this ratio of the recovery point's (or the previous drill's). */
            rowCountRatio: z
              .strictObject({
                min: z.number().positive().default(0.9),
                max: z.number().positive().default(1.5),
              })
              .prefault({})
              .refine((r) => r.min <= 1 && r.max >= 1, "must include 1 (min ≤ 1 ≤ max)"),
            /** The newest row may be at most this much older than the recovery time. */
            maxStalenessHours: z.number().positive().default(26),
          })
          .prefault({}),
        objectStorage: z
          .strictObject({ sampleSize: z.number().int().min(1).max(1000).default(20) })
          .prefault({}),
        application: z
          .strictObject({
            /**
             * The kinds the scratch namespaces must contain after the restore. "Secret" is not a
             * default: counting Secrets needs deploy/rbac-drill-secrets.yaml, which lets the drill read
             * every Secret in the cluster.
             */
            expectedKinds: z
              .array(z.enum(["Deployment", "StatefulSet", "Secret", "ConfigMap"]))
              .default(["Deployment", "StatefulSet", "ConfigMap"]),
          })
          .prefault({}),
      })
      .prefault({}),
  })
  .superRefine((drill, ctx) => {
    if (drill.keepMinutes >= drill.deadlineMinutes) {
      ctx.addIssue({
        code: "custom",
        path: ["keepMinutes"],
        message: `must be shorter than deadlineMinutes (${drill.deadlineMinutes}): teardown runs within the deadline`,
      });
    }
    const names = drill.checks.database.sql.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) {
      ctx.addIssue({
        code: "custom",
        path: ["checks", "database", "sql"],
        message: `names "${dup}" twice: each check's name must be unique (the result names it)`,
      });
    }
  });
export type DrillConfig = z.output<typeof drillConfigSchema>;

/**
 * The drill functions' run-time configuration: the restore's (the drill restores with it), the drill's,
 * and the catalog (required: the drill restores its newest complete recovery point and records its result there).
 */
export const drillJobConfigSchema = restoreJobConfigSchema.extend({
  drill: drillConfigSchema,
  catalog: catalogConfigSchema,
});
export type DrillJobConfig = z.output<typeof drillJobConfigSchema>;

const LABEL = "drill configuration";

/**
 * The drill functions' configuration, derived from the stage configuration (what the Drill stack
 * writes into GITPOD_DR_CONFIG).
 * @throws ConfigError when the stage has no drill (or restore) section.
 */
export function drillJobConfig(
  stage: string,
  account: string,
  config: RestoreStageConfig & { readonly drill?: DrillConfig | undefined },
  catalog: CatalogConfig,
): DrillJobConfig {
  if (!config.drill) throw new ConfigError("The stage configuration has no drill section");
  return validateConfig(
    drillJobConfigSchema,
    { ...restoreJobConfig(stage, account, config, catalog), drill: config.drill },
    LABEL,
  );
}

/** @throws ConfigError naming the invalid field. */
export function parseDrillJobConfig(json: string | undefined): DrillJobConfig {
  return parseJobConfig(drillJobConfigSchema, json, LABEL);
}

/**
 * What a person must do in the drill's cluster beyond `kubectl apply -f deploy/rbac-drill.yaml`, as
 * lines to print at synth and deploy: counting Secrets needs an opt-in manifest that RBAC cannot narrow.
 */
export function drillClusterNotes(drill: DrillConfig | undefined): string[] {
  if (!drill?.checks.application.expectedKinds.includes("Secret")) return [];
  return [
    'drill.checks.application.expectedKinds lists "Secret": also kubectl apply -f deploy/rbac-drill-secrets.yaml in the drill\'s cluster, which lets the drill read every Secret there (without it, each drill fails its application check); or remove "Secret"',
  ];
}
