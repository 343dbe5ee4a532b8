import * as z from "zod";
import { ConfigError } from "../errors.ts";
import { MAX_CONCURRENCY } from "../registry/limits.ts";
import { parsePlatform } from "../registry/manifest.ts";
import { ecrRegistry, parseRegistryHost } from "../registry/reference.ts";
import { type CatalogConfig, catalogConfigSchema } from "./catalog.ts";
import { parseJobConfig } from "./parse.ts";
import {
  insecureRegistries,
  kmsKeyArnText,
  registryHost,
  scheduleExpression,
  secretArnText,
} from "./patterns.ts";

/** The image tier: the registry sync's part of the stage configuration, and its run-time form. */

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

export const imagesConfigSchema = z
  .strictObject({
    /** EventBridge schedule of the sync job. */
    schedule: scheduleExpression,
    /** Blob transfers in flight at once. */
    concurrency: z
      .number()
      .int()
      .min(1)
      .max(MAX_CONCURRENCY, `must be at most ${MAX_CONCURRENCY}`)
      .default(6),
    /** Images copied at once (sharing the blob limit). */
    imageConcurrency: z
      .number()
      .int()
      .min(1)
      .max(MAX_CONCURRENCY, `must be at most ${MAX_CONCURRENCY}`)
      .default(8),
    /**
     * Credentials for registries that are not ECR (ECR uses the function's role): the scheduled job
     * needs them for each destination that is not ECR (checked at synth by `requireJobCredentials`);
     * the CLI uses your docker login instead.
     */
    registries: z
      .record(
        z.string(),
        z.strictObject({
          /** Secrets Manager secret holding {"username": "...", "password": "..."}. */
          credentialsSecretArn: secretArnText,
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
      .prefault({}),
    rules: z.array(syncRuleSchema).min(1, "must have at least one rule"),
    /** Loopback registries spoken to over plain HTTP (a local rehearsal or test registry). */
    insecureRegistries,
    /**
     * Run the sync as a Step Functions workflow that fans out over a Distributed Map (big registries),
     * instead of one function: Plan, children copying `imagesPerChild` images each, Summarize.
     */
    fanOut: z
      .strictObject({
        /** Children at once. ECR: PutImage 10 TPS per repository (README, "Fan-out"). */
        maxConcurrency: z.number().int().min(1).max(1000, "must be at most 1000").default(10),
        /** Images per child (the Map's ItemBatcher): small images share a child. */
        imagesPerChild: z.number().int().min(1).max(100, "must be at most 100").default(10),
        /** Children that may fail (after retries) before the Map itself fails, in percent. */
        toleratedFailurePercentage: z.number().min(0).max(100, "must be at most 100").default(0),
        /**
         * Up to this much work, one copy task takes the whole list; the Distributed Map starts only when
         * the plan has more images, or more known bytes, to copy (docs/jobs.md, "Which path").
         */
        threshold: z
          .strictObject({
            /** The list travels in the execution's state (256 KB at most): 100 items stay far below. */
            images: z.number().int().min(0).max(100, "must be at most 100").default(10),
            /**
             * Of the sizes the source lists (ECR); images of unknown size count by number only. At most
             * 15: one copy task has 15 minutes, and copies about 22 GB in them at the measured 25 MiB/s
             * (docs/jobs.md, the scale model), so a larger threshold would send work that cannot finish.
             */
            gigabytes: z
              .number()
              .min(0)
              .max(
                15,
                "must be at most 15: one copy task has 15 minutes (about 22 GB at the measured 25 MiB/s)",
              )
              .default(5),
          })
          .prefault({}),
      })
      .optional(),
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
    });
    for (const host of Object.keys(images.registries)) {
      try {
        parseRegistryHost(host);
      } catch (error) {
        ctx.addIssue({ code: "custom", path: ["registries", host], message: (error as Error).message });
      }
    }
  });
export type ImagesConfig = z.output<typeof imagesConfigSchema>;

/**
 * The scheduled job has no docker login: each destination that is not ECR needs its credentials in
 * Secrets Manager (`images.registries`). The CLI reads the docker config instead, so the stage schema
 * does not ask for them; the stack checks this at synth.
 * @throws ConfigError naming each rule whose destination has no credentials.
 */
export function requireJobCredentials(images: ImagesConfig, label = "stage configuration"): void {
  const issues = images.rules.flatMap((rule, i) => {
    const destination = rule.destination.registry;
    if (ecrRegistry(destination) || Object.keys(images.registries).some((r) => safeHost(r) === destination))
      return [];
    return [
      `images.rules.${i}.destination.registry: ${destination} is not ECR, so the scheduled job needs credentials to push to it: add it under images.registries with a credentialsSecretArn`,
    ];
  });
  if (issues.length > 0) throw new ConfigError(`Invalid ${label}:\n  ${issues.join("\n  ")}`, issues);
}

function safeHost(host: string): string | undefined {
  try {
    return parseRegistryHost(host);
  } catch {
    return undefined;
  }
}

/** The configuration the image sync job needs at run time (passed to the function as JSON). */
export const imageJobConfigSchema = z.strictObject({
  stage: z.string().min(1),
  images: imagesConfigSchema,
  /** The recovery-point catalog: the sync records each complete run there. */
  catalog: catalogConfigSchema.optional(),
});
export type ImageJobConfig = z.output<typeof imageJobConfigSchema>;
/** The image job's configuration as JSON holds it (platforms in their text form). */
export type ImageJobConfigInput = z.input<typeof imageJobConfigSchema>;

/**
 * The image job's run-time configuration, derived from the stage's `images` section, in its JSON form
 * (platforms back to their text): what its stack writes into GITPOD_DR_CONFIG; the CLI decodes it with
 * `imageJobConfigSchema` as the function does.
 */
export function imageJobConfig(
  stage: string,
  images: ImagesConfig,
  catalog?: CatalogConfig,
): ImageJobConfigInput {
  return {
    stage,
    ...(catalog ? { catalog } : {}),
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

/**
 * Parses the image job's run-time configuration from its JSON text (re-validated at cold start).
 * @throws ConfigError naming the invalid field.
 */
export function parseImageJobConfig(json: string | undefined): ImageJobConfig {
  return parseJobConfig(imageJobConfigSchema, json, "image sync job configuration");
}

/** How the workflow copies a plan's work list: nothing to copy, one copy task, or the Distributed Map. */
export type FanOutRoute = "none" | "task" | "map";

/**
 * Chooses the workflow's path for a plan (its Choice state reads the answer): the Map only above the
 * threshold, so a run with a few images to copy is one Lambda invocation, not a Map Run.
 */
export function fanOutRoute(
  totals: { readonly items: number; readonly bytes: number },
  threshold: { readonly images: number; readonly gigabytes: number },
): FanOutRoute {
  if (totals.items === 0) return "none";
  return totals.items > threshold.images || totals.bytes > threshold.gigabytes * 1e9 ? "map" : "task";
}
