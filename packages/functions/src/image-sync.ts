import { parseImageSyncEvent } from "@gitpod-dr/core/registry/input";
import { runImageSyncJob } from "@gitpod-dr/core/registry/job";
import { imageJob } from "./lib/image-deps.ts";
import { logger } from "./lib/logger.ts";
import { TIMEOUT_EARLY_MS } from "./lib/middleware.ts";
import { scheduledJobHandler } from "./lib/scheduled.ts";

/**
 * Time kept back at the end of the invocation: no new image copy starts within it, so copies in flight
 * can finish and the report can be sent before Lambda's limit.
 */
export const STOP_STARTING_MS = 120_000;

/** Copies still running this long before the early timeout are stopped and left for the next run. */
export const STOP_RUNNING_MS = 20_000;

/** EventBridge-scheduled: copy every image the stage's rules select into its destination registry. */
export const handler = scheduledJobHandler({
  job: "image-sync",
  parseInput: (event) => parseImageSyncEvent(event),
  run: async (input, context, signal) => {
    const { config, deps, catalog } = imageJob();
    // Copies still running shortly before the early timeout are stopped, so the run can end with its
    // report (and the deferred list) instead of being cut off as JobTimeout.
    const stop = new AbortController();
    const timer = setTimeout(
      () => stop.abort(),
      Math.max(0, context.getRemainingTimeInMillis() - TIMEOUT_EARLY_MS - STOP_RUNNING_MS),
    );
    const forward = () => stop.abort();
    signal.addEventListener("abort", forward);
    try {
      return await runImageSyncJob(config, deps, {
        dryRun: input.dryRun,
        canStart: () => context.getRemainingTimeInMillis() > STOP_STARTING_MS + TIMEOUT_EARLY_MS,
        signal: stop.signal,
        logger,
        ...(catalog ? { catalog } : {}),
      });
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", forward);
    }
  },
});
