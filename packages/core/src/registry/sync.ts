import type { ECRClient } from "@aws-sdk/client-ecr";
import pLimit from "p-limit";
import type { JobLogger } from "../logger.ts";
import {
  type CopyEvent,
  type CopyOptions,
  CopySession,
  type ImageReport,
  type TransportFor,
} from "./copy.ts";
import {
  type DigestedCopy,
  knownCurrent,
  readDestinations,
  repositoryKey,
  upToDateReport,
} from "./current.ts";
import { type EcrRepositorySettings, listEcrRepositories, listEcrTags, type TagInfo } from "./ecr.ts";
import { InvalidSyncRuleError } from "./errors.ts";
import type { Platform } from "./manifest.ts";
import { DOCKER_HUB, ecrRegistry, formatReference } from "./reference.ts";
import { headManifest, listRepositories, listTags } from "./remote.ts";
import { type ImageTotals, imageProblem, imageTotals } from "./totals.ts";

/**
 * Keeps destination registries in step with source registries by rules: discovery (repositories by
 * name or prefix, tags by regex and recency), destination ECR repositories created on demand, then one
 * `CopySession` for every image so shared blobs move once. Between ECR registries, digests are compared
 * in bulk first (current.ts), so an unchanged image costs no registry request.
 */

export interface SyncRule {
  /** Shown in reports and errors. */
  readonly name: string;
  readonly source: { readonly registry: string };
  /** Repository names, or prefixes ending in `*` (`gitpod/*`), in the source registry. */
  readonly repositories: readonly string[];
  readonly tags?:
    | {
        readonly include?: string | undefined;
        readonly exclude?: string | undefined;
        /** Only the newest N tags by push time (registries that report it: ECR). */
        readonly newest?: number | undefined;
      }
    | undefined;
  readonly destination: {
    readonly registry: string;
    /** Prepended to the (stripped) source repository name. */
    readonly repositoryPrefix?: string | undefined;
    /** Removed from the start of the source repository name first. */
    readonly stripPrefix?: string | undefined;
  };
  readonly platforms?: readonly Platform[] | undefined;
}

export interface SyncOptions
  extends Pick<CopyOptions, "concurrency" | "uploadSizes" | "blobAttempts" | "signal" | "sleep"> {
  /** Images copied at once (their blobs share the `concurrency` limit). Default 8. */
  readonly imageConcurrency?: number;
  /** No new image copy starts once this returns false (Lambda's deadline); the rest are reported as deferred. */
  readonly canStart?: () => boolean;
  /** Report what would be copied without writing anything. */
  readonly dryRun?: boolean;
  /** ECR settings for destination repositories that do not exist yet. */
  readonly repositorySettings: EcrRepositorySettings;
  readonly onEvent?: (event: CopyEvent) => void;
  readonly logger?: JobLogger;
}

export interface SyncDeps {
  readonly transportFor: TransportFor;
  /** An ECR client for a region (the registry's own). */
  readonly ecr: (region: string) => ECRClient;
}

/** A copy to make; `sourceDigest` when the source's listing gave it (ECR), for the bulk comparison. */
export type PlannedCopy = DigestedCopy;

export interface SyncReport {
  readonly images: readonly ImageReport[];
  /** Copies not started before the deadline; the next run does them. */
  readonly deferred: readonly PlannedCopy[];
  /** Copies a dry run would make. */
  readonly wouldCopy: readonly PlannedCopy[];
  readonly repositoriesCreated: readonly string[];
  /** Failures outside a single image (discovery, repository creation, conflicting destinations). */
  readonly problems: readonly string[];
  readonly totals: ImageTotals;
}

/** The destination repository name for a source repository under a rule. */
export function destinationRepository(rule: SyncRule, sourceRepository: string): string {
  const strip = rule.destination.stripPrefix;
  const name =
    strip && sourceRepository.startsWith(strip) ? sourceRepository.slice(strip.length) : sourceRepository;
  return `${rule.destination.repositoryPrefix ?? ""}${name}`;
}

/** Applies a rule's tag filters; `newest` needs push times and keeps the N most recent. */
export function selectTags(rule: SyncRule, tags: readonly TagInfo[]): string[] {
  const include = rule.tags?.include ? new RegExp(`^(?:${rule.tags.include})$`) : undefined;
  const exclude = rule.tags?.exclude ? new RegExp(`^(?:${rule.tags.exclude})$`) : undefined;
  let selected = tags.filter((t) => (!include || include.test(t.tag)) && !(exclude?.test(t.tag) ?? false));
  const newest = rule.tags?.newest;
  if (newest !== undefined) {
    if (selected.some((t) => t.pushedAt === undefined)) {
      throw new InvalidSyncRuleError(
        `rule "${rule.name}": "newest" needs push times, which ${rule.source.registry} does not report (use an ECR source or a regex)`,
      );
    }
    selected = [...selected]
      .sort(
        (a, b) =>
          (b.pushedAt as Date).getTime() - (a.pushedAt as Date).getTime() || a.tag.localeCompare(b.tag),
      )
      .slice(0, newest);
  }
  return [...new Set(selected.map((t) => t.tag))].sort();
}

/** Docker Hub's one-component names live under `library/` (`ubuntu` → `library/ubuntu`). */
export function normalizeRepository(registry: string, repository: string): string {
  return registry === DOCKER_HUB && !repository.includes("/") && !repository.endsWith("*")
    ? `library/${repository}`
    : repository;
}

/**
 * Expands rules into the copies to make, in a stable order. A rule whose discovery fails is reported in
 * `problems` and the other rules go on. Two sources mapped to one destination are both refused.
 */
export async function planSync(
  rules: readonly SyncRule[],
  deps: SyncDeps,
  signal?: AbortSignal,
): Promise<{ copies: PlannedCopy[]; problems: string[] }> {
  const problems: string[] = [];
  const planned: PlannedCopy[] = [];
  for (const rule of rules) {
    try {
      planned.push(...(await planRule(rule, deps, problems, signal)));
    } catch (error) {
      problems.push(`rule "${rule.name}": ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const byDestination = new Map<string, PlannedCopy[]>();
  for (const copy of planned) {
    const key = formatReference(copy.destination);
    byDestination.set(key, [...(byDestination.get(key) ?? []), copy]);
  }
  const copies: PlannedCopy[] = [];
  for (const [destination, sources] of byDestination) {
    const distinct = new Set(sources.map((c) => formatReference(c.source)));
    if (distinct.size > 1) {
      problems.push(
        `${destination} is the destination of ${[...distinct].join(" and ")}: fix the rules (${[...new Set(sources.map((c) => c.rule))].join(", ")}) so each destination has one source`,
      );
      continue;
    }
    copies.push(sources[0] as PlannedCopy);
  }
  return { copies, problems };
}

async function planRule(
  rule: SyncRule,
  deps: SyncDeps,
  problems: string[],
  signal?: AbortSignal,
): Promise<PlannedCopy[]> {
  const sourceRegistry = rule.source.registry;
  const ecr = ecrRegistry(sourceRegistry);
  // Only a non-ECR source is discovered over the registry API.
  const transport = () => deps.transportFor(sourceRegistry);
  const exact: string[] = [];
  const prefixes: string[] = [];
  for (const pattern of rule.repositories) {
    const normalized = normalizeRepository(sourceRegistry, pattern);
    if (normalized.endsWith("*")) prefixes.push(normalized.slice(0, -1));
    else exact.push(normalized);
  }
  let repositories = [...exact];
  if (prefixes.length > 0) {
    const all = ecr
      ? await listEcrRepositories(deps.ecr(ecr.region), ecr.account)
      : await listRepositories(transport(), signal);
    repositories.push(...all.filter((name) => prefixes.some((p) => name.startsWith(p))));
  }
  repositories = [...new Set(repositories)].sort();
  const copies: PlannedCopy[] = [];
  for (const repository of repositories) {
    let tags: TagInfo[];
    try {
      tags = ecr
        ? await listEcrTags(deps.ecr(ecr.region), ecr.account, repository)
        : (await listTags(transport(), repository, signal)).map((tag) => ({ tag }));
    } catch (error) {
      // One missing or unreadable repository does not stop the rule's others.
      problems.push(
        `rule "${rule.name}": ${repository}: ${error instanceof Error ? error.message : String(error)}`,
      );
      continue;
    }
    const listed = new Map(tags.map((t) => [t.tag, t]));
    for (const tag of selectTags(rule, tags)) {
      const { digest, size } = listed.get(tag) ?? {};
      copies.push({
        rule: rule.name,
        source: { registry: sourceRegistry, repository, tag },
        ...(digest ? { sourceDigest: digest } : {}),
        ...(size !== undefined ? { sourceSize: size } : {}),
        destination: {
          registry: rule.destination.registry,
          repository: destinationRepository(rule, repository),
          tag,
        },
      });
    }
  }
  return copies;
}

/**
 * Runs every rule: plans, creates missing destination ECR repositories, copies. Never throws for a
 * failed image or rule; the report lists them (the job decides how to fail).
 */
export async function syncImages(
  rules: readonly SyncRule[],
  deps: SyncDeps,
  options: SyncOptions,
): Promise<SyncReport> {
  const logger = options.logger;
  const { copies, problems } = await planSync(rules, deps, options.signal);
  logger?.info("Planned image copies", { copies: copies.length, problems: problems.length });

  const wouldCopy: PlannedCopy[] = [];
  const images: ImageReport[] = [];
  const deferred: PlannedCopy[] = [];
  // Destination ECR repositories, once each, before any copy into them: listed (tag → digest) and created
  // when missing.
  const destinations = await readDestinations(copies, deps.ecr, options);
  problems.push(...destinations.problems);

  // One session for every rule: one concurrency limit, and blobs shared across all images of the run.
  const session = new CopySession(deps.transportFor, sessionOptions(options));
  const platformsOf = new Map(rules.map((r) => [r.name, r.platforms]));
  const limit = pLimit(options.imageConcurrency ?? 8);
  await Promise.all(
    copies.map((copy) =>
      limit(async () => {
        if (destinations.unusable.has(repositoryKey(copy.destination))) return;
        // Known from the listings: no registry request, also past the deadline (it costs nothing).
        const known = knownCurrent(copy, destinations);
        if (known?.current) {
          if (!options.dryRun) {
            const report = upToDateReport(copy, known.digest);
            options.onEvent?.({ kind: "image", report });
            images.push(report);
          }
          return;
        }
        if ((options.canStart && !options.canStart()) || options.signal?.aborted) {
          deferred.push(copy);
          return;
        }
        if (options.dryRun && known) {
          wouldCopy.push(copy);
          return;
        }
        if (options.dryRun) {
          // A dry run reports what a real run would hit: an unreadable source or destination is a
          // problem; a missing destination tag or repository (404) means the image would be copied.
          try {
            const src = await headManifest(
              deps.transportFor(copy.source.registry),
              copy.source.repository,
              copy.source.tag as string,
            );
            if (!src) {
              problems.push(`${formatReference(copy.source)}: does not exist in the source registry`);
              return;
            }
            const dst = await headManifest(
              deps.transportFor(copy.destination.registry),
              copy.destination.repository,
              copy.destination.tag as string,
            );
            if (src.digest !== dst?.digest) wouldCopy.push(copy);
          } catch (error) {
            problems.push(
              // The error names the registry and repository that refused (source or destination).
              `${formatReference(copy.source)}: ${error instanceof Error ? error.message : String(error)}`,
            );
          }
          return;
        }
        const platforms = platformsOf.get(copy.rule);
        const report = await session.copyImage(
          copy.source,
          copy.destination,
          platforms ? { platforms } : undefined,
        );
        // Stopped by the deadline: left for the next run (what was copied stays; it resumes by blob).
        if (report.status === "failed" && report.error?.name === "CopyAborted") {
          deferred.push(copy);
          return;
        }
        images.push(report);
        if (report.status === "failed") {
          logger?.warn("Image copy failed", {
            source: report.source,
            destination: report.destination,
            error: report.error,
          });
        }
      }),
    ),
  );
  images.sort((a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination));
  const byRefs = (a: PlannedCopy, b: PlannedCopy) =>
    formatReference(a.source).localeCompare(formatReference(b.source)) ||
    formatReference(a.destination).localeCompare(formatReference(b.destination));
  wouldCopy.sort(byRefs);
  deferred.sort(byRefs);
  return {
    images,
    deferred,
    wouldCopy,
    repositoriesCreated: destinations.created,
    problems,
    totals: imageTotals(images, deferred.length),
  };
}

function sessionOptions(options: SyncOptions): CopyOptions {
  return {
    ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
    ...(options.uploadSizes ? { uploadSizes: options.uploadSizes } : {}),
    ...(options.blobAttempts !== undefined ? { blobAttempts: options.blobAttempts } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  };
}

/** Every failure of a sync report as one line each: what the SNS message lists. */
export function syncProblems(report: SyncReport): string[] {
  return [...report.problems, ...report.images.filter((r) => r.status === "failed").map(imageProblem)];
}
