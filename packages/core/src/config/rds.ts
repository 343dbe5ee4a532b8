import * as z from "zod";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import {
  awsRegion,
  databaseKind,
  kmsKeyArnText,
  rdsIdentifier,
  regionsSchema,
  scheduleExpression,
} from "./patterns.ts";

/** The database tier: the RDS snapshot job's part of the stage configuration, and its run-time form. */

export const retentionSchema = z.strictObject({
  /** Always keep at least this many available snapshots, however old (at least 1). */
  keepLast: z.number().int("must be a whole number").min(1, "must be at least 1"),
  /** Delete a snapshot beyond `keepLast` only once it is older than this many days. */
  maxAgeDays: z.number().positive("must be greater than 0"),
});

/** The stage configuration's first fields: the database, the regions and the snapshot job's settings. */
export const rdsStageSchema = z.strictObject({
  /** The Gitpod database: an RDS DB instance or an Aurora DB cluster identifier. */
  database: z.strictObject({
    identifier: rdsIdentifier,
    /** `auto` asks RDS which one the identifier names. */
    kind: databaseKind.default("auto"),
    /**
     * The customer managed KMS key that encrypts the database, if any (key ARN in the primary region).
     * The job is allowed to use it for cross-region copies; leave it out for `aws/rds` or unencrypted.
     */
    kmsKeyArn: kmsKeyArnText.optional(),
  }),
  regions: z.strictObject({
    /** Where the database runs. */
    primary: awsRegion,
    /** Where copies are kept; must differ from primary. */
    dr: awsRegion,
  }),
  dr: z.strictObject({
    /** Customer managed KMS key (key ARN, not an alias) in the DR region that encrypts DR copies. */
    kmsKeyArn: kmsKeyArnText,
  }),
  retention: retentionSchema,
  /** Retention in the DR region; defaults to `retention`. */
  drRetention: retentionSchema.optional(),
  rds: z
    .strictObject({
      /** The account's manual snapshot quota per region (RDS default 100); warn past 80% of it. */
      manualSnapshotQuota: z.number().int().positive().default(100),
      /** RDS allows 5 cross-region snapshot copies in progress per destination region. */
      maxConcurrentCopies: z
        .number()
        .int()
        .min(1)
        .max(5, "RDS allows at most 5 concurrent copies")
        .default(5),
    })
    .prefault({}),
  /** EventBridge schedule expressions, one per job. */
  schedules: z.strictObject({
    rdsSnapshot: scheduleExpression,
  }),
});
export type RdsStageConfig = z.output<typeof rdsStageSchema>;

/** The configuration the RDS snapshot job needs at run time (passed to the function as JSON). */
export const rdsJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  database: z.strictObject({ identifier: rdsIdentifier, kind: databaseKind }),
  regions: regionsSchema,
  drKmsKeyArn: kmsKeyArnText,
  retention: retentionSchema,
  drRetention: retentionSchema,
  manualSnapshotQuota: z.number().int().positive(),
  maxConcurrentCopies: z.number().int().min(1).max(5),
  /** The recovery-point catalog: the job records its DR copies there and keeps the newest point's. */
  catalog: catalogConfigSchema.optional(),
});
export type RdsJobConfig = z.output<typeof rdsJobConfigSchema>;

const LABEL = "RDS job configuration";

/**
 * The RDS job's run-time configuration, derived from the stage configuration: what its stack writes
 * into GITPOD_DR_CONFIG and what the CLI runs the job with.
 * @throws ConfigError when the result is invalid.
 */
export function rdsJobConfig(stage: string, config: RdsStageConfig, catalog?: CatalogConfig): RdsJobConfig {
  return validateConfig(
    rdsJobConfigSchema,
    {
      stage,
      database: { identifier: config.database.identifier, kind: config.database.kind },
      regions: config.regions,
      drKmsKeyArn: config.dr.kmsKeyArn,
      retention: config.retention,
      drRetention: config.drRetention ?? config.retention,
      manualSnapshotQuota: config.rds.manualSnapshotQuota,
      maxConcurrentCopies: config.rds.maxConcurrentCopies,
      ...(catalog ? { catalog } : {}),
    },
    LABEL,
  );
}

/**
 * Parses the RDS job's run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseRdsJobConfig(json: string | undefined): RdsJobConfig {
  return parseJobConfig(rdsJobConfigSchema, json, LABEL);
}
