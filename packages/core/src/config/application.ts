import * as z from "zod";
import { ConfigError } from "../errors.ts";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import { parseJobConfig, validateConfig } from "./parse.ts";
import {
  awsRegion,
  eksClusterName,
  k8sName,
  namespaceName,
  type Regions,
  scheduleExpression,
  securityGroupId,
} from "./patterns.ts";

/** The application tier: the Velero backup job's part of the stage configuration, and its run-time form. */

// Go durations as Velero's `ttl` takes them: 720h, 720h0m0s, 90m.
const GO_DURATION = /^(?=\d)(\d+h)?(\d+m)?(\d+s)?$/;

export const applicationConfigSchema = z
  .strictObject({
    /** The EKS cluster running the application (in the primary region). */
    cluster: z.strictObject({ name: eksClusterName }),
    /** EventBridge schedule of the Velero backup job. */
    schedule: scheduleExpression,
    velero: z
      .strictObject({
        /** Velero's own namespace; never one of the application's. */
        namespace: namespaceName.default("velero"),
        /** The BackupStorageLocation to back up to; must be Available. */
        storageLocation: k8sName.default("default"),
        /** How long Velero keeps each backup (Go duration). */
        ttl: z
          .string()
          .regex(GO_DURATION, "must be a Go duration such as 720h or 720h0m0s")
          .default("720h0m0s"),
        includedNamespaces: z
          .array(namespaceName)
          .min(1, "must list at least one namespace")
          .default(["gitpod"]),
        excludedNamespaces: z.array(namespaceName).optional(),
        includedResources: z.array(z.string().min(1)).optional(),
        excludedResources: z.array(z.string().min(1)).optional(),
        /** Take volume snapshots (cloud provider snapshots). */
        snapshotVolumes: z.boolean().optional(),
        /** Back up every pod volume with the file-system uploader unless opted out. */
        defaultVolumesToFsBackup: z.boolean().optional(),
        /** The file-system backup uploader the installation uses; `restic` was removed in Velero 1.17. */
        fsBackupUploader: z.enum(["kopia", "restic"]).default("kopia"),
      })
      .prefault({}),
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
        securityGroupIds: z.array(securityGroupId).min(1),
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
export type ApplicationConfig = z.output<typeof applicationConfigSchema>;

/** The configuration the Velero backup job needs at run time (passed to the function as JSON). */
export const veleroJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  region: awsRegion,
  application: applicationConfigSchema,
  /** The recovery-point catalog: the job records each completed backup there. */
  catalog: catalogConfigSchema.optional(),
});
export type VeleroJobConfig = z.output<typeof veleroJobConfigSchema>;

const LABEL = "Velero backup job configuration";

/**
 * The Velero job's run-time configuration, derived from the stage configuration (the cluster runs in
 * the primary region): what its stack writes into GITPOD_DR_CONFIG and what the CLI runs the job with.
 * @throws ConfigError when the stage has no application section, or the result is invalid.
 */
export function veleroJobConfig(
  stage: string,
  config: { regions: Regions; application?: ApplicationConfig | undefined },
  catalog?: CatalogConfig,
): VeleroJobConfig {
  const application = config.application;
  if (!application) throw new ConfigError("The stage configuration has no application section");
  return validateConfig(
    veleroJobConfigSchema,
    { stage, region: config.regions.primary, application, ...(catalog ? { catalog } : {}) },
    LABEL,
  );
}

/**
 * Parses the Velero job's run-time configuration from its JSON text.
 * @throws ConfigError naming the invalid field.
 */
export function parseVeleroJobConfig(json: string | undefined): VeleroJobConfig {
  return parseJobConfig(veleroJobConfigSchema, json, LABEL);
}
