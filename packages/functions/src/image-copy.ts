import { copyWorkBatch } from "@gitpod-dr/core/registry/work-copy";
import { parseWorkEvent, workBatchEvent } from "@gitpod-dr/core/registry/work-input";
import { STOP_STARTING_MS } from "./image-sync.ts";
import { imageJob } from "./lib/image-deps.ts";
import { logger } from "./lib/logger.ts";
import { TIMEOUT_EARLY_MS } from "./lib/middleware.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions, a child of the image sync workflow's Distributed Map: copies one batch of images. */
export const handler = taskHandler(logger, async (raw, context, signal) => {
  const { Items } = parseWorkEvent(workBatchEvent, raw, "Copy images");
  const { config, deps } = imageJob();
  const result = await copyWorkBatch(Items, deps.transportFor, {
    concurrency: config.images.concurrency,
    imageConcurrency: config.images.imageConcurrency,
    canStart: () => context.getRemainingTimeInMillis() > STOP_STARTING_MS + TIMEOUT_EARLY_MS,
    signal,
  });
  logger.info("Image batch copied", {
    images: result.images.length,
    failed: result.images.filter((r) => r.status === "failed").length,
    deferred: result.deferred.length,
  });
  return result;
});
