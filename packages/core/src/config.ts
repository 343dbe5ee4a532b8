import { z } from "zod";
import { ConfigError } from "./errors.ts";
import { parsePlatform } from "./registry/manifest.ts";
import { ecrRegistry, parseRegistryHost } from "./registry/reference.ts";
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

const SECRET_ARN = /^arn:(aws|aws-cn|aws-us-gov):secretsmanager:([a-z0-9-]+):(\d{12}):secret:[\w/+=.@-]+$/;

const registryHost = z.string().transform((value, ctx) => {
  try {
    return parseRegistryHost(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

const regexText = z.string().superRefine((value, ctx) => {
  try {
    new RegExp(value);
  } catch (error) {
    ctx.addIssue({
      code: "custom",
      message: `is not a valid regular expression: ${(error as Error).message}`,
    });
  }
});

// A repository path (distribution grammar), or a prefix of one ending in "*".
const REPOSITORY_PATTERN =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?:\/?\*)?$|^\*$/;
const REPOSITORY_PREFIX = /^(?:[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/|[._-]))*$/;

const platformText = z.string().transform((value, ctx) => {
  try {
    return parsePlatform(value);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
    return z.NEVER;
  }
});

export const syncRuleSchema = z.strictObject({
  /** Names the rule in reports and errors. */
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, "must be 1-64 lower-case letters, digits and hyphens"),
  source: z.strictObject({ registry: registryHost }),
  /** Repository names or prefixes ending in "*" (`gitpod/*`). */
  repositories: z
    .array(z.string().regex(REPOSITORY_PATTERN, "must be a repository name, or a prefix of one ending in *"))
    .min(1, "must list at least one repository or prefix"),
  tags: z
    .strictObject({
      /** Copy only tags matching this regular expression (whole tag). */
      include: regexText.optional(),
      /** Skip tags matching this regular expression (whole tag). */
      exclude: regexText.optional(),
      /** Only the newest N tags by push time (ECR sources). */
      newest: z.number().int("must be a whole number").min(1, "must be at least 1").optional(),
    })
    .optional(),
  destination: z.strictObject({
    registry: registryHost,
    /** Prepended to the repository name in the destination (`mirror/`). */
    repositoryPrefix: z
      .string()
      .regex(REPOSITORY_PREFIX, "must be lower-case path components ending in / (or . _ -)")
      .optional(),
    /** Removed from the start of the source repository name before the prefix is added. */
    stripPrefix: z.string().optional(),
  }),
  /** Copy only these platforms of multi-platform images (os/arch[/variant]); default: all. */
  platforms: z.array(platformText).optional(),
});

const kmsKeyArnText = z
  .string()
  .regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");

export const imagesConfigSchema = z
  .strictObject({
    /** EventBridge schedule of the sync job. */
    schedule: scheduleExpression,
    /** Blob transfers in flight at once. */
    concurrency: z.number().int().min(1).max(32, "must be at most 32").default(6),
    /** Images copied at once (sharing the blob limit). */
    imageConcurrency: z.number().int().min(1).max(32, "must be at most 32").default(8),
    /** Credentials for registries that are not ECR (ECR uses the function's role). */
    registries: z
      .record(
        z.string(),
        z.strictObject({
          /** Secrets Manager secret holding {"username": "...", "password": "..."}. */
          credentialsSecretArn: z.string().regex(SECRET_ARN, "must be a Secrets Manager secret ARN"),
        }),
      )
      .default({}),
    /** Settings of destination ECR repositories that the job creates. */
    repositoryDefaults: z
      .strictObject({
        tagMutability: z.enum(["MUTABLE", "IMMUTABLE"]).default("MUTABLE"),
        scanOnPush: z.boolean().default(true),
        encryption: z
          .discriminatedUnion("type", [
            z.strictObject({ type: z.literal("AES256") }),
            z.strictObject({ type: z.literal("KMS"), kmsKeyArn: kmsKeyArnText.optional() }),
          ])
          .default({ type: "AES256" }),
      })
      .default({ tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } }),
    rules: z.array(syncRuleSchema).min(1, "must have at least one rule"),
  })
  .superRefine((images, ctx) => {
    const names = new Set<string>();
    images.rules.forEach((rule, i) => {
      if (names.has(rule.name)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", i, "name"],
          message: `"${rule.name}" is used by two rules`,
        });
      }
      names.add(rule.name);
      if (rule.tags?.newest !== undefined && !ecrRegistry(rule.source.registry)) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", i, "tags", "newest"],
          message: `needs push times, which only ECR reports; ${rule.source.registry} is not an ECR registry (use tags.include instead)`,
        });
      }
      const identity =
        rule.source.registry === rule.destination.registry &&
        (rule.destination.repositoryPrefix ?? "") === "" &&
        (rule.destination.stripPrefix ?? "") === "";
      if (identity) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", i, "destination"],
          message: "copies every repository onto itself: give another registry or a repositoryPrefix",
        });
      }
      const destination = rule.destination.registry;
      if (
        !ecrRegistry(destination) &&
        !Object.keys(images.registries).some((r) => safeHost(r) === destination)
      ) {
        ctx.addIssue({
          code: "custom",
          path: ["rules", i, "destination", "registry"],
          message: `${destination} is not ECR, so the job needs credentials to push to it: add it under images.registries`,
        });
      }
    });
    for (const host of Object.keys(images.registries)) {
      try {
        parseRegistryHost(host);
      } catch (error) {
        ctx.addIssue({ code: "custom", path: ["registries", host], message: (error as Error).message });
      }
    }
  });

function safeHost(host: string): string | undefined {
  try {
    return parseRegistryHost(host);
  } catch {
    return undefined;
  }
}

// Go durations as Velero's `ttl` takes them: 720h, 720h0m0s, 90m.
const GO_DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;
// Kubernetes namespace names (RFC 1123 labels).
const NAMESPACE = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/,
    "must be a Kubernetes namespace name (lower-case RFC 1123 label)",
  );
const K8S_NAME = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/,
    "must be a Kubernetes object name (lower-case RFC 1123 subdomain)",
  );

export const applicationConfigSchema = z
  .strictObject({
    /** The EKS cluster running the application (in the primary region). */
    cluster: z.strictObject({
      name: z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name"),
    }),
    /** EventBridge schedule of the Velero backup job. */
    schedule: scheduleExpression,
    velero: z
      .strictObject({
        /** Velero's own namespace; never one of the application's. */
        namespace: NAMESPACE.default("velero"),
        /** The BackupStorageLocation to back up to; must be Available. */
        storageLocation: K8S_NAME.default("default"),
        /** How long Velero keeps each backup (Go duration). */
        ttl: z
          .string()
          .regex(GO_DURATION, "must be a Go duration such as 720h or 720h0m0s")
          .default("720h0m0s"),
        includedNamespaces: z.array(NAMESPACE).min(1, "must list at least one namespace").default(["gitpod"]),
        excludedNamespaces: z.array(NAMESPACE).optional(),
        includedResources: z.array(z.string().min(1)).optional(),
        excludedResources: z.array(z.string().min(1)).optional(),
        /** Take volume snapshots (cloud provider snapshots). */
        snapshotVolumes: z.boolean().optional(),
        /** Back up every pod volume with the file-system uploader unless opted out. */
        defaultVolumesToFsBackup: z.boolean().optional(),
        /** The file-system backup uploader the installation uses; `restic` was removed in Velero 1.17. */
        fsBackupUploader: z.enum(["kopia", "restic"]).default("kopia"),
      })
      .default({
        namespace: "velero",
        storageLocation: "default",
        ttl: "720h0m0s",
        includedNamespaces: ["gitpod"],
        fsBackupUploader: "kopia",
      }),
    /** KOTS snapshot annotations: `auto` adds them when kotsadm runs in an application namespace. */
    kots: z.enum(["auto", "on", "off"]).default("auto"),
    /** A backup still in progress after this many minutes is reported as stuck. */
    stuckAfterMinutes: z.number().int().min(10, "must be at least 10").default(240),
    /** For a cluster with a private endpoint: run the function in the cluster's VPC. */
    vpc: z
      .strictObject({
        subnetIds: z
          .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, "must be a subnet id (subnet-…)"))
          .min(1),
        securityGroupIds: z
          .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id (sg-…)"))
          .min(1),
      })
      .optional(),
  })
  .superRefine((app, ctx) => {
    if (app.velero.includedNamespaces.includes(app.velero.namespace)) {
      ctx.addIssue({
        code: "custom",
        path: ["velero", "namespace"],
        message: `Velero must run in a namespace of its own, not in the application's (${app.velero.namespace} is in velero.includedNamespaces): it holds the credentials of the backup store`,
      });
    }
    // Velero's own include/exclude validation: a backup breaking these rules ends FailedValidation.
    const lists = [
      ["Namespaces", app.velero.includedNamespaces, app.velero.excludedNamespaces],
      ["Resources", app.velero.includedResources, app.velero.excludedResources],
    ] as const;
    for (const [kind, included = [], excluded = []] of lists) {
      if (included.length > 1 && included.includes("*")) {
        ctx.addIssue({
          code: "custom",
          path: ["velero", `included${kind}`],
          message: `must be ["*"] alone or a list without "*": Velero fails the backup validation otherwise`,
        });
      }
      if (excluded.includes("*")) {
        ctx.addIssue({
          code: "custom",
          path: ["velero", `excluded${kind}`],
          message: `must not contain "*": Velero fails the backup validation otherwise`,
        });
      }
      const both = excluded.filter((item) => included.includes(item));
      if (both.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["velero", `excluded${kind}`],
          message: `${both.join(", ")} ${both.length > 1 ? "are" : "is"} also in velero.included${kind}: Velero fails the backup validation`,
        });
      }
    }
  });

// S3 bucket names (general purpose buckets).
const BUCKET = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
    "must be an S3 bucket name (3-63 lower-case letters, digits, . and -)",
  );
const BUCKET_PREFIX = z
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
    buckets: z.array(BUCKET).default([]),
    /** Source buckets discovered by name prefix at every run (Gitpod's per-user buckets). */
    bucketPrefixes: z.array(BUCKET_PREFIX).default([]),
    /** Destination buckets the check may read, by name or name prefix (for its IAM policy). */
    destinations: z
      .strictObject({
        buckets: z.array(BUCKET).default([]),
        bucketPrefixes: z.array(BUCKET_PREFIX).default([]),
      })
      .default({ buckets: [], bucketPrefixes: [] }),
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
      .default({
        prefix: ".gitpod-dr/canary/",
        stalledAfterMinutes: 60,
        keepMinutes: 1440,
        discoveredPerRun: 20,
      }),
    expect: z
      .strictObject({
        deleteMarkerReplication: z.enum(["Enabled", "Disabled", "any"]).default("any"),
        replicationTimeControl: z.boolean().default(false),
        replicationMetrics: z.boolean().default(false),
      })
      .default({ deleteMarkerReplication: "any", replicationTimeControl: false, replicationMetrics: false }),
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
      .default({
        latencySeconds: 900,
        operationsPending: 10_000,
        bytesPending: 10 * 1024 ** 3,
        operationsFailed: 0,
      }),
    /** HEAD a bounded random sample of objects from one listing page under `prefix`. */
    sampling: z
      .strictObject({
        prefix: z.string().default(""),
        size: z.number().int().min(0).max(200).default(20),
        /** Keys listed to sample from (one page). */
        listLimit: z.number().int().min(1).max(1000).default(1000),
      })
      .default({ prefix: "", size: 20, listLimit: 1000 }),
    /** Re-replicate objects with no status or FAILED with S3 Batch Replication (opt-in). */
    repair: z.strictObject({ enabled: z.boolean().default(false) }).default({ enabled: false }),
    /** KMS keys of SSE-KMS source buckets: writing a canary there encrypts with the bucket's key. */
    kmsKeyArns: z
      .array(z.string().regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)"))
      .default([]),
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

const SUBNET_GROUP = z
  .string()
  .regex(/^[A-Za-z0-9 ._-]{1,255}$/, "must be a DB subnet group name")
  .refine((s) => s.toLowerCase() !== "default", "must not be the default DB subnet group");
const SECURITY_GROUP = z.string().regex(/^sg-[0-9a-f]{8,17}$/, "must be a security group id (sg-…)");
const EKS_CLUSTER = z.string().regex(/^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/, "must be an EKS cluster name");

/** Where a restore lands: the database settings, cluster and endpoints of one region. */
export const restoreTargetSchema = z.strictObject({
  /** The EKS cluster the application is restored into (primary: defaults to application.cluster.name). */
  cluster: z.strictObject({ name: EKS_CLUSTER }).optional(),
  database: z.strictObject({
    instanceClass: z
      .string()
      .regex(/^db\.[a-z0-9-]+\.[a-z0-9-]+$/, "must be a DB instance class such as db.r6g.large"),
    subnetGroupName: SUBNET_GROUP,
    securityGroupIds: z.array(SECURITY_GROUP).min(1, "must list at least one security group"),
    parameterGroupName: z.string().min(1).optional(),
    clusterParameterGroupName: z.string().min(1).optional(),
    /** The KMS key of the restored storage, in this target's region. */
    kmsKeyArn: z
      .string()
      .regex(KMS_KEY_ARN, "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)")
      .optional(),
  }),
  /** The registry the application pulls from in this target (the image tier's destination for dr). */
  registry: registryHost.optional(),
  /** The object storage the application uses in this target (the replica bucket for dr). */
  bucket: z
    .strictObject({
      name: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name"),
      region: awsRegion,
    })
    .optional(),
});

const KOTS_KEYS = z
  .strictObject({
    dbHost: z.string().min(1).default("db_host"),
    dbPort: z.string().min(1).optional(),
    bucket: z.string().min(1).default("store_s3_bucket"),
    bucketRegion: z.string().min(1).default("store_region"),
    registry: z.string().min(1).default("reg_url"),
  })
  .default({
    dbHost: "db_host",
    bucket: "store_s3_bucket",
    bucketRegion: "store_region",
    registry: "reg_url",
  });

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
      namespace: NAMESPACE.default("gitpod"),
      keys: KOTS_KEYS,
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
      .default({ deadlineMinutes: 120, pollSeconds: 60 }),
    application: z
      .strictObject({
        /** The application's namespace (Deployments, the database Secret). */
        namespace: NAMESPACE.default("gitpod"),
        /** The workloads held back (pods gated, Jobs and CronJobs suspended) while restored; kotsadm must not match: it applies the config. */
        holdSelector: z.record(z.string().min(1), z.string()).default({ app: "gitpod" }),
        /** The Secret the application reads its database from (KOTS renders it from db_host). */
        databaseSecret: z
          .strictObject({
            name: K8S_NAME.default("database"),
            hostKey: z.string().min(1).default("host"),
            portKey: z.string().min(1).default("port"),
          })
          .default({ name: "database", hostKey: "host", portKey: "port" }),
        point: pointSchema.optional(),
        restoreDeadlineMinutes: z.number().int().min(5).default(60),
        configDeadlineMinutes: z.number().int().min(1).default(15),
        rolloutDeadlineMinutes: z.number().int().min(1).default(30),
        pollSeconds: z.number().int().min(5).max(600).default(30),
        /** Answered with 200 once the restored application serves (checked by Verify). */
        healthUrl: z.url({ protocol: /^https?$/, error: "must be an http(s):// URL" }).optional(),
      })
      .default({
        namespace: "gitpod",
        holdSelector: { app: "gitpod" },
        databaseSecret: { name: "database", hostKey: "host", portKey: "port" },
        restoreDeadlineMinutes: 60,
        configDeadlineMinutes: 15,
        rolloutDeadlineMinutes: 30,
        pollSeconds: 30,
      }),
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
        /**
         * Registries on this machine spoken to over plain HTTP (a local rehearsal or test registry):
         * loopback hosts only, so no credential or image ever crosses a network unencrypted.
         */
        insecureRegistries: z
          .array(
            z
              .string()
              .regex(
                /^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$/,
                "must be a loopback registry (127.0.0.1, localhost or [::1], with an optional port): plain HTTP is never used over a network",
              ),
          )
          .default([]),
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
export type RestoreTarget = z.output<typeof restoreTargetSchema>;

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
    /** The object-storage tier: the S3 replication check. Leave out to deploy no check. */
    storage: storageConfigSchema.optional(),
    /** The application tier: Velero backups of the EKS cluster. Leave out to deploy no backup job. */
    application: applicationConfigSchema.optional(),
    /** The image tier: registry-to-registry sync. Leave out to deploy no image job. */
    images: imagesConfigSchema.optional(),
    /** The restore state machine. Leave out to deploy none. Needs `application` for the application tier. */
    restore: restoreConfigSchema.optional(),
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
    if (config.restore) {
      for (const [name, region] of [
        ["primary", config.regions.primary],
        ["dr", config.regions.dr],
      ] as const) {
        const key = config.restore.targets[name]?.database.kmsKeyArn;
        const keyRegion = key ? KMS_KEY_ARN.exec(key)?.[2] : undefined;
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

/** The configuration the image sync job needs at run time (passed to the function as JSON). */
export const imageJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  images: imagesConfigSchema,
});
export type ImageJobConfig = z.output<typeof imageJobConfigSchema>;
export type ImagesConfig = z.output<typeof imagesConfigSchema>;

/**
 * Parses the image job's run-time configuration from its JSON text (re-validated at cold start).
 * @throws ConfigError naming the invalid field.
 */
export function parseImageJobConfig(json: string | undefined): ImageJobConfig {
  if (!json)
    throw new ConfigError("The image sync job configuration is missing (GITPOD_DR_CONFIG is not set)");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`The image sync job configuration is not valid JSON: ${(cause as Error).message}`);
  }
  const result = imageJobConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid image sync job configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}

/** The JSON-ready input of `parseImageJobConfig` (platforms back to their text form). */
export function imageJobConfigInput(
  stage: string,
  images: ImagesConfig,
): z.input<typeof imageJobConfigSchema> {
  return {
    stage,
    images: {
      ...images,
      rules: images.rules.map(({ platforms, ...rule }) => ({
        ...rule,
        ...(platforms
          ? {
              platforms: platforms.map((p) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ""}`),
            }
          : {}),
      })),
    },
  };
}

/** The configuration the Velero backup job needs at run time (passed to the function as JSON). */
export const veleroJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  region: awsRegion,
  application: applicationConfigSchema,
});
export type VeleroJobConfig = z.output<typeof veleroJobConfigSchema>;
export type ApplicationConfig = z.output<typeof applicationConfigSchema>;

/**
 * Parses the Velero job's run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseVeleroJobConfig(json: string | undefined): VeleroJobConfig {
  if (!json)
    throw new ConfigError("The Velero backup job configuration is missing (GITPOD_DR_CONFIG is not set)");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(
      `The Velero backup job configuration is not valid JSON: ${(cause as Error).message}`,
    );
  }
  const result = veleroJobConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid Velero backup job configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}

/** The configuration the S3 replication check needs at run time (passed to the function as JSON). */
export const storageJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, "must be a 12-digit account id"),
  regions: z.strictObject({ primary: awsRegion, dr: awsRegion }),
  /** The role S3 Batch Operations assumes for repair jobs (when repair is on). */
  batchRoleArn: z.string().optional(),
  storage: storageConfigSchema,
});
export type StorageJobConfig = z.output<typeof storageJobConfigSchema>;
export type StorageConfig = z.output<typeof storageConfigSchema>;

/**
 * Parses the S3 check's run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseStorageJobConfig(json: string | undefined): StorageJobConfig {
  if (!json)
    throw new ConfigError("The S3 replication check configuration is missing (GITPOD_DR_CONFIG is not set)");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(
      `The S3 replication check configuration is not valid JSON: ${(cause as Error).message}`,
    );
  }
  const result = storageJobConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid S3 replication check configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}

/** The configuration the restore's task functions share at run time (passed to each as JSON). */
export const restoreJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  account: z.string().regex(/^\d{12}$/, "must be a 12-digit account id"),
  regions: z.strictObject({ primary: awsRegion, dr: awsRegion }),
  /** The source database (whose snapshots are restored). */
  database: z.strictObject({ identifier: rdsIdentifier, kind: z.enum(["auto", "instance", "cluster"]) }),
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
});
export type RestoreJobConfig = z.output<typeof restoreJobConfigSchema>;

/** Derives the restore functions' run-time configuration (JSON-ready) from the stage configuration. */
export function restoreJobConfigInput(
  stage: string,
  account: string,
  config: StageConfig,
): z.input<typeof restoreJobConfigSchema> {
  if (!config.restore) throw new ConfigError("The stage configuration has no restore section");
  const app = config.application;
  return {
    stage,
    account,
    regions: config.regions,
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
  };
}

/**
 * Parses the restore functions' run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseRestoreJobConfig(json: string | undefined): RestoreJobConfig {
  if (!json) throw new ConfigError("The restore configuration is missing (GITPOD_DR_CONFIG is not set)");
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`The restore configuration is not valid JSON: ${(cause as Error).message}`);
  }
  const result = restoreJobConfigSchema.safeParse(raw);
  if (!result.success) {
    const issues = formatIssues(result.error);
    throw new ConfigError(`Invalid restore configuration:\n  ${issues.join("\n  ")}`, issues);
  }
  return result.data;
}
