import { recordImageSync } from "../catalog/record.ts";
import type { CatalogStore } from "../catalog/store.ts";
import type { ImageJobConfig } from "../config.ts";
import type { JobLogger } from "../logger.ts";
import { formatReference } from "./reference.ts";
import { type PlannedCopy, type SyncDeps, type SyncReport, syncImages, syncProblems } from "./sync.ts";
import { imageSyncIncomplete } from "./totals.ts";

/**
 * The scheduled image sync: every rule of the stage, one report, and a failure at the end when any
 * image or rule failed (so the list reaches SNS through the handler's middleware) — after the rest were
 * copied.
 */

export interface ImageSyncSummary {
  readonly stage: string;
  readonly dryRun: boolean;
  readonly totals: SyncReport["totals"];
  readonly repositoriesCreated: readonly string[];
  /** `source → destination` of copies left for the next run (deadline). */
  readonly deferred: readonly string[];
  /** `source → destination` a dry run would copy. */
  readonly wouldCopy: readonly string[];
  readonly copied: readonly string[];
}

export interface ImageSyncRunOptions {
  readonly dryRun?: boolean;
  /** False once no new copy may start (Lambda's remaining time). */
  readonly canStart?: () => boolean;
  readonly signal?: AbortSignal;
  readonly logger?: JobLogger;
  readonly onEvent?: Parameters<typeof syncImages>[2]["onEvent"];
  /** The recovery-point catalog: a complete sync (nothing failed or deferred) is recorded there. */
  readonly catalog?: CatalogStore;
  readonly now?: () => Date;
}

/**
 * @throws ImageSyncIncompleteError listing every failed image and rule, after every other copy ran.
 * @throws CatalogWriteError when the complete sync could not be recorded (the images were copied).
 */
export async function runImageSyncJob(
  config: ImageJobConfig,
  deps: SyncDeps,
  options: ImageSyncRunOptions = {},
): Promise<ImageSyncSummary> {
  const now = options.now ?? (() => new Date());
  const startedAt = now();
  const images = config.images;
  const report = await syncImages(images.rules, deps, {
    concurrency: images.concurrency,
    imageConcurrency: images.imageConcurrency,
    repositorySettings: images.repositoryDefaults,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.canStart ? { canStart: options.canStart } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onEvent ? { onEvent: options.onEvent } : {}),
  });
  const line = (c: PlannedCopy) => `${formatReference(c.source)} → ${formatReference(c.destination)}`;
  const summary: ImageSyncSummary = {
    stage: config.stage,
    dryRun: options.dryRun ?? false,
    totals: report.totals,
    repositoriesCreated: report.repositoriesCreated,
    deferred: report.deferred.map(line),
    wouldCopy: report.wouldCopy.map(line),
    copied: report.images.filter((r) => r.status === "copied").map((r) => `${r.source} → ${r.destination}`),
  };
  options.logger?.info("Image sync finished", {
    ...summary.totals,
    repositoriesCreated: summary.repositoriesCreated,
  });
  if (report.deferred.length > 0) {
    options.logger?.warn("Deadline reached: copies left for the next run", {
      deferred: report.deferred.length,
    });
  }
  const problems = syncProblems(report);
  if (problems.length > 0) throw imageSyncIncomplete(config.stage, problems, report.totals, summary);
  // Only a complete sync is a recovery-point candidate: every image pushed before it started is copied.
  if (options.catalog && !options.dryRun && report.deferred.length === 0) {
    await recordImageSync(options.catalog, config.stage, report.images, { startedAt, completedAt: now() });
  }
  return summary;
}
