import { parseStorageCheckEvent } from "@gitpod-dr/core/s3/input";
import { runStorageCheck } from "@gitpod-dr/core/s3/job";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { jobHandler } from "./lib/middleware.ts";
import { storageJob } from "./lib/storage-deps.ts";

/** EventBridge-scheduled: prove S3 replication works (audit, canaries, metrics, sample) and repair backlogs. */
export const handler = jobHandler({
  job: "s3-check",
  stage: env.stage,
  logger,
  alerts: () => ({ sns: snsClient(), topicArn: env.topicArn }),
  parseInput: (event) => parseStorageCheckEvent(event),
  run: async (input) => {
    const { config, deps } = storageJob();
    return runStorageCheck(input, config, deps, { logger });
  },
});
