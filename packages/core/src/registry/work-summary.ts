import type { ImageReport } from "./copy.ts";
import { WorkResultsUnreadableError } from "./errors.ts";
import { type ImageTotals, imageProblem, imageTotals } from "./totals.ts";
import type { WorkItem, WorkPlan } from "./work.ts";
import type { WorkBatchResult } from "./work-copy.ts";

/**
 * Summarize, the sync workflow's last step: the plan's up-to-date images and the children's results
 * as one report of the same shape as the single-function sync's (`images`: every image's outcome with
 * the digest now at the destination), so whatever records a finished sync reads either.
 */

/** Where the Distributed Map's ResultWriter put its manifest (the Map state's output in AWS). */
export interface ResultWriterDetails {
  readonly Bucket: string;
  readonly Key: string;
}

/** A child that failed after its retries (a FAILED result of the Map run), or the Map's own failure. */
export interface FailedBatch {
  readonly error: string;
  readonly cause: string;
}

export interface WorkSummary {
  readonly images: readonly ImageReport[];
  /** `source → destination` of the items left for the next run (a child's deadline). */
  readonly deferred: readonly string[];
  readonly repositoriesCreated: readonly string[];
  /** One line per failure: plan problems, failed images, failed batches, a failed Map. */
  readonly problems: readonly string[];
  /** The single function's totals, and the batches (children) that failed after their retries. */
  readonly totals: ImageTotals & { readonly failedBatches: number };
}

interface ResultEntry {
  readonly Status?: string;
  readonly Output?: string;
  readonly Error?: string;
  readonly Cause?: string;
}

/**
 * Reads a Map run's results as its ResultWriter wrote them: `manifest.json` lists the result files by
 * status, each a JSON array of child executions (`Output` a JSON string; `Error`/`Cause` when FAILED).
 * Step Functions Developer Guide, "ResultWriter (Map)": "Contents of manifest and result files".
 *
 * @throws WorkResultsUnreadable when a file is missing or not in that shape.
 */
export async function readMapResults(
  details: ResultWriterDetails,
  read: (bucket: string, key: string) => Promise<string>,
): Promise<{ outputs: WorkBatchResult[]; failed: FailedBatch[] }> {
  const parse = async <T>(key: string): Promise<T> => {
    try {
      return JSON.parse(await read(details.Bucket, key)) as T;
    } catch (error) {
      throw new WorkResultsUnreadableError(
        `Unable to read the Map run's results s3://${details.Bucket}/${key}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  const manifest = await parse<{ ResultFiles?: Record<string, { Key: string }[]> }>(details.Key);
  const outputs: WorkBatchResult[] = [];
  const failed: FailedBatch[] = [];
  for (const [status, files] of Object.entries(manifest.ResultFiles ?? {})) {
    for (const file of files) {
      for (const entry of await parse<ResultEntry[]>(file.Key)) {
        if (status === "SUCCEEDED" && entry.Output) outputs.push(JSON.parse(entry.Output) as WorkBatchResult);
        else if (status !== "SUCCEEDED") {
          failed.push({ error: entry.Error ?? entry.Status ?? status, cause: entry.Cause ?? "" });
        }
      }
    }
  }
  return { outputs, failed };
}

const arrow = (item: WorkItem) => `${item.source} → ${item.destination}`;

/** The run's report from the plan and the children's results (and the Map's error, when it failed). */
export function summarizeWork(
  plan: Pick<WorkPlan, "current" | "problems" | "repositoriesCreated">,
  outputs: readonly WorkBatchResult[],
  failed: readonly FailedBatch[],
): WorkSummary {
  const images = [...plan.current, ...outputs.flatMap((o) => o.images)].sort(
    (a, b) => a.source.localeCompare(b.source) || a.destination.localeCompare(b.destination),
  );
  const deferred = outputs.flatMap((o) => o.deferred.map(arrow)).sort();
  const problems = [
    ...plan.problems,
    ...images.filter((r) => r.status === "failed").map(imageProblem),
    ...failed.map((f) => `a batch of images failed: ${f.error}: ${f.cause}`),
  ];
  return {
    images,
    deferred,
    repositoriesCreated: plan.repositoriesCreated,
    problems,
    totals: { ...imageTotals(images, deferred.length), failedBatches: failed.length },
  };
}
