import { parseStorageCheckEvent } from "@gitpod-dr/core/s3/input";
import { runStorageCheck } from "@gitpod-dr/core/s3/job";
import { logger } from "./lib/logger.ts";
import { scheduledJobHandler } from "./lib/scheduled.ts";
import { storageJob } from "./lib/storage-deps.ts";

/** EventBridge-scheduled: prove S3 replication works (audit, canaries, metrics, sample) and repair backlogs. */
export const handler = scheduledJobHandler({
  job: "s3-check",
  parseInput: (event) => parseStorageCheckEvent(event),
  run: async (input) => {
    const { config, deps } = storageJob();
    return runStorageCheck(input, config, deps, { logger });
  },
});
