import { applicationEvent, applicationStep } from "@gitpod-dr/core/restore/application-step";
import { logger } from "./lib/logger.ts";
import { cloudwatchClient } from "./lib/restore-cloudwatch.ts";
import { clusterAccess } from "./lib/restore-cluster.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions: the application steps of the restore — "Restore application", "Check application
 * restore", "Point application at restored endpoints", "Check configuration", "Redeploy", "Check
 * rollout", "Verify".
 */
export const handler = taskHandler(logger, async (raw) => {
  const e = applicationEvent.parse(raw);
  const deps = {
    kube: clusterAccess,
    cloudwatch: cloudwatchClient,
    fetch: globalThis.fetch,
    now: () => new Date(),
  };
  const result = await applicationStep(e, restoreConfig(), deps);
  if (e.action === "point" && "mode" in result) {
    logger.info("Application pointed", { mode: result.mode, keys: Object.keys(result.values) });
  }
  return result;
});
