import { type CopyOptions, CopySession, type ImageReport, type TransportFor } from "./copy.ts";
import { ImageCopyRetryError } from "./errors.ts";
import { parsePlatform } from "./manifest.ts";
import { parseReference } from "./reference.ts";
import type { WorkItem } from "./work.ts";

/** What a child of the Distributed Map returns: every image's outcome, and what it left for later. */
export interface WorkBatchResult {
  readonly images: readonly ImageReport[];
  /** Items not started before the child's deadline (the next run does them). */
  readonly deferred: readonly WorkItem[];
}

/**
 * One child of the workflow: copies a batch of work items with one `CopySession` (blobs shared by the
 * batch move once), `imageConcurrency` images at a time. A permanent failure of an image is in the
 * result (Summarize reports it); a temporary one (throttling, 5xx, a reset) fails the whole batch with
 * ImageCopyRetry, so the Map's Retry runs the batch again after a backoff: copying is idempotent, the
 * images done by then cost a manifest HEAD on each side.
 *
 * @throws ImageCopyRetry when an image failed with a temporary error (after the engine's own retries).
 * @throws InvalidReference when an item's reference does not parse (a work list not written by Plan).
 */
export async function copyWorkBatch(
  items: readonly WorkItem[],
  transportFor: TransportFor,
  options: Pick<CopyOptions, "concurrency" | "uploadSizes" | "signal" | "sleep"> & {
    readonly imageConcurrency?: number;
    /** False once no new copy may start (the child's remaining time). */
    readonly canStart?: () => boolean;
  } = {},
): Promise<WorkBatchResult> {
  const parsed = items.map((item) => ({
    item,
    source: parseReference(item.source),
    destination: parseReference(item.destination),
    platforms: item.platforms?.map(parsePlatform),
  }));
  const { imageConcurrency = 4, canStart, ...copyOptions } = options;
  const session = new CopySession(transportFor, copyOptions);
  const images: ImageReport[] = [];
  const deferred: WorkItem[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < parsed.length; i = next++) {
      const p = parsed[i] as (typeof parsed)[number];
      if ((canStart && !canStart()) || options.signal?.aborted) {
        deferred.push(p.item);
        continue;
      }
      const report = await session.copyImage(
        p.source,
        p.destination,
        p.platforms ? { platforms: p.platforms } : undefined,
      );
      if (report.status === "failed" && report.error?.name === "CopyAborted") deferred.push(p.item);
      else images.push(report);
    }
  };
  await Promise.all(Array.from({ length: Math.min(imageConcurrency, parsed.length) }, worker));
  const temporary = images.filter((r) => r.status === "failed" && r.error?.retryable);
  if (temporary.length > 0) {
    throw new ImageCopyRetryError(
      `${temporary.length} of ${items.length} images failed with a temporary error: ${temporary
        .map((r) => `${r.source}: ${r.error?.name}: ${r.error?.message}`)
        .join("; ")}`,
    );
  }
  return { images, deferred };
}
