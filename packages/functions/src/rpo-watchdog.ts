import { parseWatchdogEvent, runWatchdog } from "@gitpod-dr/core/catalog/watchdog";
import { logger } from "./lib/logger.ts";
import { scheduledJobHandler } from "./lib/scheduled.ts";
import { watchdogJob } from "./lib/watchdog-deps.ts";

/** EventBridge-scheduled (every 15 minutes, in the DR region): publish each tier's RecoveryPointAge. */
export const handler = scheduledJobHandler({
  job: "rpo-watchdog",
  parseInput: (event) => parseWatchdogEvent(event),
  run: async () => {
    const { config, deps } = watchdogJob();
    return runWatchdog(config, { ...deps, logger, now: () => new Date() });
  },
});
