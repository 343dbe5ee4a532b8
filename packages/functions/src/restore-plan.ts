import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import { buildPlan } from "@gitpod-dr/core/restore/build-plan";
import { planEvent, validateRestore } from "@gitpod-dr/core/restore/validate";
import { clients } from "./lib/cache.ts";
import { logger } from "./lib/logger.ts";
import { clusterAccess } from "./lib/restore-cluster.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { ec2Client } from "./lib/restore-ec2.ts";
import { kmsClient } from "./lib/restore-kms.ts";
import { rdsClient } from "./lib/restore-rds.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Validate input" and "Build plan" of the restore (read-only: nothing is created). */
export const handler = taskHandler(logger, async (raw) => {
  const e = planEvent.parse(raw);
  const config = restoreConfig();
  if (e.action === "validate") {
    const catalog = catalogStore(config.catalog, clients);
    const request = await validateRestore(e, config, { rds: rdsClient, ...(catalog ? { catalog } : {}) });
    logger.info("Restore input valid", {
      restoreId: request.restoreId,
      target: request.target,
      tiers: request.tiers,
    });
    return { request };
  }
  const plan = await buildPlan(e.request, config, {
    rds: rdsClient,
    ec2: ec2Client,
    kms: kmsClient,
    kube: clusterAccess,
  });
  logger.info("Restore plan built", { restoreId: plan.restoreId, checked: plan.checked });
  return plan;
});
