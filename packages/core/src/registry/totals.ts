import type { ImageReport } from "./copy.ts";
import { ImageSyncIncompleteError } from "./errors.ts";

/**
 * What an image sync run counts, from its images' reports: the one definition the single function's
 * report (sync.ts) and the workflow's Summarize (work-summary.ts) share.
 */
export interface ImageTotals {
  readonly copied: number;
  readonly upToDate: number;
  readonly failed: number;
  /** Copies left for the next run (a deadline). */
  readonly deferred: number;
  readonly bytesMoved: number;
  readonly blobsCopied: number;
  readonly blobsSkipped: number;
  readonly blobsMounted: number;
}

/** Counts `images` by status and adds up their transfers; `deferred` is counted by the caller. */
export function imageTotals(images: readonly ImageReport[], deferred: number): ImageTotals {
  const sum = (key: "bytesMoved" | "blobsCopied" | "blobsSkipped" | "blobsMounted") =>
    images.reduce((total, r) => total + r[key], 0);
  return {
    copied: images.filter((r) => r.status === "copied").length,
    upToDate: images.filter((r) => r.status === "up-to-date").length,
    failed: images.filter((r) => r.status === "failed").length,
    deferred,
    bytesMoved: sum("bytesMoved"),
    blobsCopied: sum("blobsCopied"),
    blobsSkipped: sum("blobsSkipped"),
    blobsMounted: sum("blobsMounted"),
  };
}

/** A failed image as one line of the run's problems (what the SNS message lists). */
export function imageProblem(report: ImageReport): string {
  return `${report.source} → ${report.destination}: ${report.error?.name ?? "Error"}: ${report.error?.message ?? "unknown error"}`;
}

const MAX_LISTED = 25;

/**
 * The error a run with failures ends with (after every other copy ran), listing the first 25 problems:
 * the single function's (job.ts) and the workflow's Summarize.
 */
export function imageSyncIncomplete(
  stage: string,
  problems: readonly string[],
  totals: Pick<ImageTotals, "copied" | "upToDate" | "deferred">,
  details: unknown,
): ImageSyncIncompleteError {
  const listed = problems.slice(0, MAX_LISTED);
  const more =
    problems.length > MAX_LISTED ? `\n  …and ${problems.length - MAX_LISTED} more (see the log)` : "";
  return new ImageSyncIncompleteError(
    `Image sync of stage ${stage}: ${problems.length} failed (${totals.copied} copied, ${totals.upToDate} up to date, ${totals.deferred} left for the next run):\n  ${listed.join("\n  ")}${more}`,
    [...problems],
    details,
  );
}
