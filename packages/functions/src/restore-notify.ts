import { publishNotification } from "@gitpod-dr/core/notify/failure";
import { notifyEvent, notifyRestore } from "@gitpod-dr/core/restore/notify";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { clusterAccess } from "./lib/restore-cluster.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { rdsClient } from "./lib/restore-rds.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Notify plan" (dry run), "Notify success" and "Notify failure": one SNS message each. */
export const handler = taskHandler(logger, async (raw) => {
  const e = notifyEvent.parse(raw);
  const result = await notifyRestore(
    e,
    { stage: restoreConfig().stage, region: env.region, now: new Date() },
    {
      rds: rdsClient,
      kube: clusterAccess,
      publish: (notification) => publishNotification(snsClient(), env.topicArn, notification),
    },
  );
  // The Fail state after "Notify failure" ends the execution with the failed state's own error and cause.
  if ("error" in result)
    logger.info("Restore failure notified", { error: result.error, messageId: result.messageId });
  return result;
});
