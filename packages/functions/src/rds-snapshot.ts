import { parseRdsJobEvent } from "@gitpod-dr/core/rds/input";
import { runRdsSnapshotJob } from "@gitpod-dr/core/rds/job";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { jobHandler } from "./lib/middleware.ts";
import { rdsJob } from "./lib/rds-deps.ts";

/** EventBridge-scheduled: this window's RDS snapshot, DR copies and retention. */
export const handler = jobHandler({
  job: "rds-snapshot",
  stage: env.stage,
  logger,
  alerts: () => ({ sns: snsClient(), topicArn: env.topicArn }),
  parseInput: (event) => parseRdsJobEvent(event, new Date()),
  run: async (input, _context, signal) => {
    const { config, deps } = rdsJob();
    return runRdsSnapshotJob(input, config, { ...deps, logger, signal });
  },
});
