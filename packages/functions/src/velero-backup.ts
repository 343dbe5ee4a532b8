import { runVeleroBackupJob } from "@gitpod-dr/core/velero/backup";
import { parseVeleroBackupEvent } from "@gitpod-dr/core/velero/input";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { jobHandler } from "./lib/middleware.ts";
import { veleroJob } from "./lib/velero-deps.ts";

/** EventBridge-scheduled: this window's Velero backup on the EKS cluster, and the previous one checked. */
export const handler = jobHandler({
  job: "velero-backup",
  stage: env.stage,
  logger,
  alerts: () => ({ sns: snsClient(), topicArn: env.topicArn }),
  parseInput: (event) => parseVeleroBackupEvent(event, new Date()),
  run: async (input) => {
    const { config, kube } = await veleroJob();
    return runVeleroBackupJob(input, config.application, kube, { logger });
  },
});
