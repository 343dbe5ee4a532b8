import { runVeleroBackupJob } from "@gitpod-dr/core/velero/backup";
import { parseVeleroBackupEvent } from "@gitpod-dr/core/velero/input";
import { logger } from "./lib/logger.ts";
import { scheduledJobHandler } from "./lib/scheduled.ts";
import { veleroJob } from "./lib/velero-deps.ts";

/** EventBridge-scheduled: this window's Velero backup on the EKS cluster, and the previous one checked. */
export const handler = scheduledJobHandler({
  job: "velero-backup",
  parseInput: (event) => parseVeleroBackupEvent(event, new Date()),
  run: async (input) => {
    const { config, kube, catalog } = await veleroJob();
    return runVeleroBackupJob(input, config.application, kube, { logger, ...(catalog ? { catalog } : {}) });
  },
});
