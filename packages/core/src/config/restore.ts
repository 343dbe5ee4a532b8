import * as z from "zod";
import { ConfigError } from "../errors.ts";
import type { ApplicationConfig } from "./application.ts";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import type { ImagesConfig } from "./images.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import {
  accountId,
  awsRegion,
  databaseKind,
  eksClusterName,
  insecureRegistries,
  k8sName,
  kmsKeyArnText,
  matchLabels,
  namespaceName,
  type Regions,
  rdsIdentifier,
  regionsSchema,
  registryHost,
  secretDataKey,
  securityGroupId,
} from "./patterns.ts";
import type { RdsStageConfig } from "./rds.ts";
import { bucketName, type StorageConfig } from "./storage.ts";

/** The restore: the state machine's part of the stage configuration, and its task functions' run-time form. */

const subnetGroupName = z
  .string()
  .regex(/^[A-Za-z0-9 ._-]{1,255}$/, "must be a DB subnet group name")
  .refine((s) => s.toLowerCase() !== "default", "must not be the default DB subnet group");

/** Where a restore lands: the database settings, cluster and endpoints of one region. */
export const restoreTargetSchema = z.strictObject({
  /** The EKS cluster the application is restored into (primary: defaults to application.cluster.name). */
  cluster: z.strictObject({ name: eksClusterName }).optional(),
  database: z.strictObject({
    instanceClass: z
      .string()
      .regex(/^db\.[a-z0-9-]+\.[a-z0-9-]+$/, "must be a DB instance class such as db.r6g.large"),
    subnetGroupName,
    securityGroupIds: z.array(securityGroupId).min(1, "must list at least one security group"),
    parameterGroupName: z.string().min(1).optional(),
    clusterParameterGroupName: z.string().min(1).optional(),
    /** The KMS key of the restored storage, in this target's region. */
    kmsKeyArn: kmsKeyArnText.optional(),
  }),
  /** The registry the application pulls from in this target (the image tier's destination for dr). */
  registry: registryHost.optional(),
  /** The object storage the application uses in this target (the replica bucket for dr). */
  bucket: z.strictObject({ name: bucketName, region: awsRegion }).optional(),
});
export type RestoreTarget = z.output<typeof restoreTargetSchema>;

/** How the application learns the restored endpoints. */
export const pointSchema = z.discriminatedUnion(
  "kind",
  [
    z.strictObject({
      /** The KOTS config, through the kotsadm API (as `kubectl kots set config --deploy`); KOTS renders the Secret. */
      kind: z.literal("kots"),
      /** kotsadm's API as the function reaches it (an internal load balancer or ingress), e.g. https://kotsadm.internal:3000. */
      url: z.url({ protocol: /^https?$/, error: "must be an http(s):// URL of the kotsadm API" }),
      appSlug: z
        .string()
        .regex(/^[a-z0-9][a-z0-9-]*$/, "must be a KOTS app slug")
        .default("gitpod"),
      /** Where kotsadm runs (its `kotsadm-authstring` Secret is read from here). */
      namespace: namespaceName.default("gitpod"),
      /** The KOTS config items the endpoints are written to. */
      keys: z
        .strictObject({
          dbHost: z.string().min(1).default("db_host"),
          dbPort: z.string().min(1).optional(),
          bucket: z.string().min(1).default("store_s3_bucket"),
          bucketRegion: z.string().min(1).default("store_region"),
          registry: z.string().min(1).default("reg_url"),
        })
        .prefault({}),
    }),
    z.strictObject({
      /** Patch the Secret's host (and port) key directly: for installations without KOTS. */
      kind: z.literal("secret"),
    }),
  ],
  { error: 'must have kind "kots" or "secret"' },
);

export const restoreConfigSchema = z
  .strictObject({
    /** The whole restore's limit (the state machine's timeout). */
    timeoutMinutes: z
      .number()
      .int()
      .min(30, "must be at least 30")
      .max(1440, "must be at most 1440")
      .default(360),
    targets: z.strictObject({ primary: restoreTargetSchema, dr: restoreTargetSchema.optional() }),
    database: z
      .strictObject({
        deadlineMinutes: z.number().int().min(10, "must be at least 10").default(120),
        pollSeconds: z.number().int().min(5, "must be at least 5").max(600).default(60),
      })
      .prefault({}),
    application: z
      .strictObject({
        /** The application's namespace (Deployments, the database Secret). */
        namespace: namespaceName.default("gitpod"),
        /** The workloads held back (pods gated, Jobs and CronJobs suspended) while restored; kotsadm must not match: it applies the config. */
        holdSelector: matchLabels.default({ app: "gitpod" }),
        /** The Secret the application reads its database from (KOTS renders it from db_host). */
        databaseSecret: z
          .strictObject({
            name: k8sName.default("database"),
            hostKey: secretDataKey.default("host"),
            portKey: secretDataKey.default("port"),
          })
          .prefault({}),
        point: pointSchema.optional(),
        restoreDeadlineMinutes: z.number().int().min(5).default(60),
        configDeadlineMinutes: z.number().int().min(1).default(15),
        rolloutDeadlineMinutes: z.number().int().min(1).default(30),
        pollSeconds: z.number().int().min(5).max(600).default(30),
        /** Answered with 200 once the restored application serves (checked by Verify). */
        healthUrl: z.url({ protocol: /^https?$/, error: "must be an http(s):// URL" }).optional(),
      })
      .prefault({}),
    images: z
      .strictObject({
        /** The images the application needs, as repository:tag or repository@digest (no registry host). */
        references: z
          .array(
            z
              .string()
              .regex(
                /^[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/,
                "must be repository:tag or repository@sha256:… without a registry host",
              ),
          )
          .min(1, "must list at least one image"),
        /** Images ensured at once (the Map state's MaxConcurrency). */
        concurrency: z.number().int().min(1).max(40).default(4),
        /** Loopback registries spoken to over plain HTTP (a local rehearsal or test registry). */
        insecureRegistries,
      })
      .optional(),
  })
  .superRefine((restore, ctx) => {
    const held = Object.entries(restore.application.holdSelector);
    if (held.length === 0) {
      ctx.addIssue({
        code: "custom",
        path: ["application", "holdSelector"],
        message:
          "must name at least one label: the restored workloads must be held back until they point at the restored database",
      });
    }
    if (restore.images) {
      for (const [name, target] of Object.entries(restore.targets)) {
        if (target && !target.registry) {
          ctx.addIssue({
            code: "custom",
            path: ["targets", name, "registry"],
            message: "is required when images are restored: the registry to ensure them in",
          });
        }
      }
    }
  });
export type RestoreConfig = z.output<typeof restoreConfigSchema>;

/** The configuration the restore's task functions share at run time (passed to each as JSON). */
export const restoreJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  account: accountId,
  regions: regionsSchema,
  /** The source database (whose snapshots are restored). */
  database: z.strictObject({ identifier: rdsIdentifier, kind: databaseKind }),
  /** The application tier's cluster and Velero settings; absent: the application tier cannot be restored. */
  application: z
    .strictObject({
      cluster: z.string().min(1),
      veleroNamespace: z.string().min(1),
      storageLocation: z.string().min(1),
      includedNamespaces: z.array(z.string().min(1)),
      includeKotsBackups: z.boolean(),
    })
    .optional(),
  /** Credentials of registries that are not ECR (the image tier's secrets). */
  registrySecrets: z.record(z.string(), z.string()).default({}),
  /** Buckets whose replication lag the S3 check records (their replicas are where a DR restore points). */
  storageBuckets: z.array(z.string()).default([]),
  restore: restoreConfigSchema,
  /** The recovery-point catalog: `{}` restores its newest complete recovery point. */
  catalog: catalogConfigSchema.optional(),
});
export type RestoreJobConfig = z.output<typeof restoreJobConfigSchema>;

const LABEL = "restore configuration";

/** The parts of the stage configuration the restore reads: every tier's, for what it restores. */
export interface RestoreStageConfig {
  readonly regions: Regions;
  readonly database: RdsStageConfig["database"];
  readonly application?: ApplicationConfig | undefined;
  readonly images?: ImagesConfig | undefined;
  readonly storage?: StorageConfig | undefined;
  readonly restore?: RestoreConfig | undefined;
}

/**
 * The restore functions' run-time configuration, derived from the stage configuration: what the
 * Restore stack writes into GITPOD_DR_CONFIG (and scopes its IAM by).
 * @throws ConfigError when the stage has no restore section, or the result is invalid.
 */
export function restoreJobConfig(
  stage: string,
  account: string,
  config: RestoreStageConfig,
  catalog?: CatalogConfig,
): RestoreJobConfig {
  if (!config.restore) throw new ConfigError("The stage configuration has no restore section");
  const app = config.application;
  return validateConfig(
    restoreJobConfigSchema,
    {
      stage,
      account,
      regions: config.regions,
      ...(catalog ? { catalog } : {}),
      database: { identifier: config.database.identifier, kind: config.database.kind },
      ...(app
        ? {
            application: {
              cluster: app.cluster.name,
              veleroNamespace: app.velero.namespace,
              storageLocation: app.velero.storageLocation,
              includedNamespaces: app.velero.includedNamespaces,
              includeKotsBackups: app.kots !== "off",
            },
          }
        : {}),
      registrySecrets: Object.fromEntries(
        Object.entries(config.images?.registries ?? {}).map(([host, r]) => [host, r.credentialsSecretArn]),
      ),
      storageBuckets: config.storage?.buckets ?? [],
      restore: config.restore,
    },
    LABEL,
  );
}

/**
 * Parses the restore functions' run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseRestoreJobConfig(json: string | undefined): RestoreJobConfig {
  return parseJobConfig(restoreJobConfigSchema, json, LABEL);
}
