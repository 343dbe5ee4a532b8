import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { scheduleExpressionProblem } from "./schedule.ts";

/**
 * The stage configuration: one typed, validated object per stage (`config/<stage>.ts`), read by the
 * stacks at synth time. The part a function needs reaches it as JSON in its environment and is parsed
 * again with the same schema at cold start.
 */

// Region names as AWS spells them: us-east-1, eu-central-2, ap-southeast-4, us-gov-west-1, il-central-1…
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/;
export const awsRegion = z.string().regex(REGION, "must be an AWS region name such as eu-west-1");

// RDS DB instance and cluster identifiers: 1-63 letters, digits or hyphens; a letter first; no "--";
// not ending in a hyphen (RDS CreateDBInstance / CreateDBCluster constraints).
export const rdsIdentifier = z
  .string()
  .min(1)
  .max(63)
  .regex(
    /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/,
    "must start with a letter and contain only letters, digits and single hyphens",
  )
  .refine((s) => !s.endsWith("-"), "must not end with a hyphen")
  .transform((s) => s.toLowerCase());

export const scheduleExpression = z.string().superRefine((value, ctx) => {
  const problem = scheduleExpressionProblem(value);
  if (problem)
    ctx.addIssue({ code: "custom", message: `invalid schedule expression "${value}": ${problem}` });
});

const KMS_KEY_ARN = /^arn:(aws|aws-cn|aws-us-gov):kms:([a-z0-9-]+):(\d{12}):key\/[A-Za-z0-9-]+$/;

export const retentionSchema = z.strictObject({
  /** Always keep at least this many available snapshots, however old (at least 1). */
  keepLast: z.number().int("must be a whole number").min(1, "must be at least 1"),
  /** Delete a snapshot beyond `keepLast` only once it is older than this many days. */
  maxAgeDays: z.number().positive("must be greater than 0"),
});

export const stageConfigSchema = z
  .strictObject({
    /** The Gitpod database: an RDS DB instance or an Aurora DB cluster identifier. */
    database: z.strictObject({
      identifier: rdsIdentifier,
      /** `auto` asks RDS which one the identifier names. */
      kind: z.enum(["auto", "instance", "cluster"]).default("auto"),
      /**
       * The customer managed KMS key that encrypts the database, if any (key ARN in the primary region).
       * The job is allowed to use it for cross-region copies; leave it out for `aws/rds` or unencrypted.
       */
      kmsKeyArn: z
        .string()
        .regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
        .optional(),
    }),
    regions: z.strictObject({
      /** Where the database runs. */
      primary: awsRegion,
      /** Where copies are kept; must differ from primary. */
      dr: awsRegion,
    }),
    dr: z.strictObject({
      /** Customer managed KMS key (key ARN, not an alias) in the DR region that encrypts DR copies. */
      kmsKeyArn: z
        .string()
        .regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"),
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
      .default({ manualSnapshotQuota: 100, maxConcurrentCopies: 5 }),
    /** EventBridge schedule expressions, one per job. */
    schedules: z.strictObject({
      rdsSnapshot: scheduleExpression,
    }),
    notifications: z
      .strictObject({
        emails: z.array(z.email("must be an email address")).default([]),
        httpsEndpoints: z.array(z.url({ protocol: /^https$/, error: "must be an https:// URL" })).default([]),
      })
      .default({ emails: [], httpsEndpoints: [] }),
  })
  .superRefine((config, ctx) => {
    if (config.regions.dr === config.regions.primary) {
      ctx.addIssue({
        code: "custom",
        path: ["regions", "dr"],
        message: `must differ from regions.primary (${config.regions.primary}): a copy in the same region does not survive losing it`,
      });
    }
    const key = KMS_KEY_ARN.exec(config.dr.kmsKeyArn);
    if (key && key[2] !== config.regions.dr) {
      ctx.addIssue({
        code: "custom",
        path: ["dr", "kmsKeyArn"],
        message: `must be a key in the DR region ${config.regions.dr}, but it is in ${key[2]}`,
      });
    }
    const dbKey = config.database.kmsKeyArn ? KMS_KEY_ARN.exec(config.database.kmsKeyArn) : null;
    if (dbKey && dbKey[2] !== config.regions.primary) {
      ctx.addIssue({
        code: "custom",
        path: ["database", "kmsKeyArn"],
        message: `must be a key in the primary region ${config.regions.primary}, but it is in ${dbKey[2]}`,
      });
    }
  });

/** What a stage file is written as (defaults may be left out). */
export type StageConfigInput = z.input<typeof stageConfigSchema>;
/** The validated configuration, defaults filled in. */
export type StageConfig = z.output<typeof stageConfigSchema>;

/** Formats zod issues as `path.to.field: reason` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? issue.path.map(String).join(".") : "(root)";
    return `${path}: ${issue.message}`;
  });
}

/** Lets a stage file be checked by the type checker while it is written. */
export function defineStageConfig(config: StageConfigInput): StageConfigInput {
  return config;
}

/**
 * Validates a stage configuration.
 * @throws ConfigError naming every invalid field and why.
 */
export function parseStageConfig(raw: unknown, source = "stage configuration"): StageConfig {
  const result = stageConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid ${source}:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}

/** The account that owns a KMS key, from its ARN. */
export function kmsKeyAccount(arn: string): string | undefined {
  return KMS_KEY_ARN.exec(arn)?.[3];
}

/** The configuration the RDS snapshot job needs at run time (passed to the function as JSON). */
export const rdsJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  database: z.strictObject({ identifier: rdsIdentifier, kind: z.enum(["auto", "instance", "cluster"]) }),
  regions: z.strictObject({ primary: awsRegion, dr: awsRegion }),
  drKmsKeyArn: z.string().regex(KMS_KEY_ARN),
  retention: retentionSchema,
  drRetention: retentionSchema,
  manualSnapshotQuota: z.number().int().positive(),
  maxConcurrentCopies: z.number().int().min(1).max(5),
});
export type RdsJobConfig = z.output<typeof rdsJobConfigSchema>;

/** Derives the RDS job's run-time configuration from the stage configuration. */
export function rdsJobConfig(stage: string, config: StageConfig): RdsJobConfig {
  return {
    stage,
    database: { identifier: config.database.identifier, kind: config.database.kind },
    regions: config.regions,
    drKmsKeyArn: config.dr.kmsKeyArn,
    retention: config.retention,
    drRetention: config.drRetention ?? config.retention,
    manualSnapshotQuota: config.rds.manualSnapshotQuota,
    maxConcurrentCopies: config.rds.maxConcurrentCopies,
  };
}

/**
 * Parses a run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseRdsJobConfig(json: string | undefined): RdsJobConfig {
  if (!json) throw new ConfigError("The RDS job configuration is missing (GITPOD_DR_CONFIG is not set)");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`The RDS job configuration is not valid JSON: ${(cause as Error).message}`);
  }
  const result = rdsJobConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid RDS job configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}
