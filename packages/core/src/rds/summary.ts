import { wrapAwsError } from "../aws/errors.ts";
import { type GitpodDrError, JobTimeoutError } from "../errors.ts";
import { kmsHint } from "./kms.ts";
import type { RetentionDecision } from "./retention.ts";
import type { Database } from "./types.ts";

/** What a run of the RDS snapshot job reports, and how a change that failed becomes one of its problems. */

export interface RdsJobSummary {
  database: { identifier: string; kind: Database["kind"]; arn: string };
  window: string;
  dryRun: boolean;
  /** The snapshot for this window: created now (or, in a dry run, would be). */
  created: string[];
  /** The snapshot for this window already existed (a retried or duplicated invocation). */
  alreadyExisted: string[];
  /** Primary snapshots still `creating`: a later run copies them. */
  waitingForCreation: string[];
  /** Cross-region copies started by this run (or, in a dry run, that would be). */
  copied: string[];
  /** Copies of ours already in progress in the DR region. */
  copiesInProgress: string[];
  /** Copies left for a later run because the DR region's concurrent-copy limit is reached. */
  copiesDeferred: string[];
  /**
   * Snapshots not copied because DR retention would delete the copy at once (older than it keeps);
   * copying them would only start a copy-delete cycle. The primary keeps them by its own retention.
   */
  notCopiedTooOld: string[];
  /** Failed DR copies of ours that were deleted so that the next run copies again. */
  failedCopiesRemoved: string[];
  deleted: { primary: RetentionDecision[]; dr: RetentionDecision[] };
  kept: { primary: RetentionDecision[]; dr: RetentionDecision[] };
  warnings: string[];
  /** What could not be done; when not empty the job fails after finishing everything else. */
  problems: string[];
}

/**
 * Runs one change (a copy, a delete) so that its failure does not stop the others: the error becomes a
 * problem naming the snapshot and the error, and the job fails at the end, after retention has run.
 * A timeout is not a problem of one snapshot: it stops the run at once.
 * @returns the change's result, or undefined when it failed.
 */
export async function attempt<T>(
  summary: RdsJobSummary,
  signal: AbortSignal | undefined,
  what: string,
  change: () => Promise<T>,
): Promise<T | undefined> {
  if (signal?.aborted) throw new JobTimeoutError(`${what} was not started: the invocation ran out of time`);
  try {
    return await change();
  } catch (err) {
    const error = wrapAwsError(what, err);
    if (error instanceof JobTimeoutError) throw error;
    recordProblem(summary, error, kmsHint(err));
    return undefined;
  }
}

/** A problem line: the message, then the error's name in brackets (and a hint where there is one). */
export function recordProblem(summary: RdsJobSummary, error: GitpodDrError, hint = ""): void {
  summary.problems.push(`${error.message} [${error.name}]${hint}`);
}
