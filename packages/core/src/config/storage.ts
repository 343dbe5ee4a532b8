import * as z from "zod";
import { ConfigError } from "../errors.ts";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import { accountId, kmsKeyArnText, type Regions, regionsSchema, scheduleExpression } from "./patterns.ts";

/** The object-storage tier: the S3 replication check's part of the stage configuration, and its run-time form. */

// S3 bucket names (general purpose buckets).
export const bucketName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "must be an S3 bucket name (3-63 lower-case letters, digits, . and -)",
  );
const bucketPrefix = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{0,61}$/,
    "must be the start of an S3 bucket name (lower-case letters, digits, . and -)",
  );

export const storageConfigSchema = z
  .strictObject({
    /** EventBridge schedule of the replication check. */
    schedule: scheduleExpression,
    /** Source buckets named explicitly (each gets a canary at every run). */
    buckets: z.array(bucketName).default([]),
    /** Source buckets discovered by name prefix at every run (Gitpod's per-user buckets). */
    bucketPrefixes: z.array(bucketPrefix).default([]),
    /** Destination buckets the check may read, by name or name prefix (for its IAM policy). */
    destinations: z
      .strictObject({
        buckets: z.array(bucketName).default([]),
        bucketPrefixes: z.array(bucketPrefix).default([]),
      })
      .prefault({}),
    /** Key prefixes replication must cover; empty: the whole bucket. */
    prefixes: z.array(z.string()).default([]),
    canary: z
      .strictObject({
        prefix: z
          .string()
          // No "*": the prefix becomes part of IAM resource ARNs, where it would be a wildcard.
          .regex(
            /^[A-Za-z0-9!_.'()/-]+\/$/,
            "must be a key prefix ending in / (letters, digits, ! _ . ' ( ) / -)",
          )
          .default(".gitpod-dr/canary/"),
        /** A canary not replicated after this many minutes means replication is stalled. */
        stalledAfterMinutes: z.number().int().min(5).default(60),
        /** Verified canaries are deleted after this many minutes. */
        keepMinutes: z.number().int().min(0).default(1440),
        /** Prefix-discovered buckets given a canary per run (rotating), so a run's cost stays bounded. */
        discoveredPerRun: z.number().int().min(0).max(500).default(20),
      })
      .prefault({}),
    expect: z
      .strictObject({
        deleteMarkerReplication: z.enum(["Enabled", "Disabled", "any"]).default("any"),
        replicationTimeControl: z.boolean().default(false),
        replicationMetrics: z.boolean().default(false),
      })
      .prefault({}),
    /** Replication metrics thresholds (read when a rule has metrics enabled). */
    thresholds: z
      .strictObject({
        latencySeconds: z.number().positive().default(900),
        operationsPending: z.number().min(0).default(10_000),
        bytesPending: z
          .number()
          .min(0)
          .default(10 * 1024 ** 3),
        operationsFailed: z.number().min(0).default(0),
      })
      .prefault({}),
    /** HEAD a bounded random sample of objects from one listing page under `prefix`. */
    sampling: z
      .strictObject({
        prefix: z.string().default(""),
        size: z.number().int().min(0).max(200).default(20),
        /** Keys listed to sample from (one page). */
        listLimit: z.number().int().min(1).max(1000).default(1000),
      })
      .prefault({}),
    /** Re-replicate objects with no status or FAILED with S3 Batch Replication (opt-in). */
    repair: z.strictObject({ enabled: z.boolean().default(false) }).prefault({}),
    /** KMS keys of SSE-KMS source buckets: writing a canary there encrypts with the bucket's key. */
    kmsKeyArns: z.array(kmsKeyArnText).default([]),
  })
  .superRefine((storage, ctx) => {
    if (storage.buckets.length === 0 && storage.bucketPrefixes.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["buckets"],
        message: "name at least one bucket, or a bucket name prefix in bucketPrefixes",
      });
    }
    if (storage.destinations.buckets.length === 0 && storage.destinations.bucketPrefixes.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["destinations"],
        message:
          "name the destination buckets (or their name prefixes): the check reads them, and its IAM policy allows only those",
      });
    }
    if (storage.prefixes.length > 0 && !storage.prefixes.some((p) => storage.canary.prefix.startsWith(p))) {
      ctx.addIssue({
        code: "custom",
        path: ["canary", "prefix"],
        message: `must lie under one of the prefixes replication covers (${storage.prefixes.join(", ")}), or canaries never replicate`,
      });
    }
  });
export type StorageConfig = z.output<typeof storageConfigSchema>;

/** The configuration the S3 replication check needs at run time (passed to the function as JSON). */
export const storageJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  account: accountId,
  regions: regionsSchema,
  /** The role S3 Batch Operations assumes for repair jobs (when repair is on). */
  batchRoleArn: z.string().optional(),
  storage: storageConfigSchema,
  /** The recovery-point catalog: the check records each bucket's replication watermark there. */
  catalog: catalogConfigSchema.optional(),
});
export type StorageJobConfig = z.output<typeof storageJobConfigSchema>;

const LABEL = "S3 replication check configuration";

/**
 * The S3 check's run-time configuration, derived from the stage configuration: what its stack writes
 * into GITPOD_DR_CONFIG and what the CLI runs the check with.
 * @param batchRoleArn the role of repair jobs; without it (the CLI) no repair job is started.
 * @throws ConfigError when the stage has no storage section, or the result is invalid.
 */
export function storageJobConfig(
  stage: string,
  account: string,
  config: { regions: Regions; storage?: StorageConfig | undefined },
  batchRoleArn?: string,
  catalog?: CatalogConfig,
): StorageJobConfig {
  if (!config.storage) throw new ConfigError("The stage configuration has no storage section");
  return validateConfig(
    storageJobConfigSchema,
    {
      stage,
      account,
      regions: config.regions,
      ...(batchRoleArn ? { batchRoleArn } : {}),
      storage: config.storage,
      ...(catalog ? { catalog } : {}),
    },
    LABEL,
  );
}

/**
 * Parses the S3 check's run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseStorageJobConfig(json: string | undefined): StorageJobConfig {
  return parseJobConfig(storageJobConfigSchema, json, LABEL);
}
