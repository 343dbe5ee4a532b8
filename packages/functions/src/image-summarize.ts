import { recordImageSync } from "@gitpod-dr/core/catalog/record";
import { buildFailureNotification, publishNotification } from "@gitpod-dr/core/notify/failure";
import { imageSyncIncomplete } from "@gitpod-dr/core/registry/totals";
import type { WorkPlan } from "@gitpod-dr/core/registry/work";
import type { WorkBatchResult } from "@gitpod-dr/core/registry/work-copy";
import { parseWorkEvent, workSummaryEvent } from "@gitpod-dr/core/registry/work-input";
import { readMapResults, summarizeWork } from "@gitpod-dr/core/registry/work-summary";
import type { Context } from "aws-lambda";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { imageCatalog } from "./lib/image-deps.ts";
import { workFiles } from "./lib/image-work.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions, the image sync workflow's "Summarize": the plan's report and the children's results
 * as one report; on any failure one SNS message, then the step fails (ImageSyncIncomplete), so the
 * execution does.
 */
export const handler = taskHandler(logger, async (raw, context) => {
  const e = parseWorkEvent(workSummaryEvent, raw, "Summarize");
  const plan: Pick<WorkPlan, "current" | "problems" | "repositoriesCreated"> = e.plan
    ? JSON.parse(await workFiles.get(e.plan.bucket, e.plan.planKey))
    : { current: [], problems: [], repositoriesCreated: [] };
  const results = e.results;
  const { outputs, failed } = Array.isArray(results)
    ? { outputs: results as WorkBatchResult[], failed: [] }
    : results
      ? await readMapResults(results.ResultWriterDetails, workFiles.get)
      : { outputs: [], failed: [] };
  const mapFailure = e.error ? [{ error: e.error.Error, cause: e.error.Cause ?? "" }] : [];
  const summary = summarizeWork(plan, outputs, [...failed, ...mapFailure]);
  logger.info("Image sync finished", { ...summary.totals, repositoriesCreated: summary.repositoriesCreated });
  if (summary.problems.length === 0) {
    // Only a complete run is a recovery point (as the single function's): nothing failed or deferred.
    const { config, catalog } = imageCatalog();
    if (catalog && summary.deferred.length === 0) {
      try {
        await recordImageSync(catalog, config.stage, summary.images, {
          startedAt: new Date(e.startedAt),
          completedAt: new Date(),
        });
      } catch (error) {
        // CatalogWriteFailed: the copies exist, but a person must know the run is not recorded.
        throw await notified(error as Error, context);
      }
    }
    return { totals: summary.totals, deferred: summary.deferred.length };
  }

  const error = imageSyncIncomplete(env.stage, summary.problems, summary.totals, summary.totals);
  throw await notified(error, context);
});

/** Publishes the run's failure notification (one SNS message) and returns the error to throw. */
async function notified(error: Error, context: Context): Promise<Error> {
  const arn = context.invokedFunctionArn?.split(":") ?? [];
  const notification = buildFailureNotification(
    {
      job: "image-sync",
      stage: env.stage,
      account: arn[4] ?? "unknown",
      region: arn[3] ?? env.region,
      functionName: context.functionName,
      requestId: context.awsRequestId,
      logGroupName: context.logGroupName,
      logStreamName: context.logStreamName,
      time: new Date(),
    },
    error,
  );
  await publishNotification(snsClient(), env.topicArn, notification);
  return error;
}
