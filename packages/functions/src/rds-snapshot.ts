import { parseRdsJobEvent } from "@gitpod-dr/core/rds/input";
import { runRdsSnapshotJob } from "@gitpod-dr/core/rds/job";
import { logger } from "./lib/logger.ts";
import { rdsJob } from "./lib/rds-deps.ts";
import { scheduledJobHandler } from "./lib/scheduled.ts";

/** EventBridge-scheduled: this window's RDS snapshot, DR copies and retention. */
export const handler = scheduledJobHandler({
  job: "rds-snapshot",
  parseInput: (event) => parseRdsJobEvent(event, new Date()),
  run: async (input, _context, signal) => {
    const { config, deps } = rdsJob();
    return runRdsSnapshotJob(input, config, { ...deps, logger, signal });
  },
});
