import { connectSql } from "@gitpod-dr/core/drill/mysql";
import { drillEvent, drillStep } from "@gitpod-dr/core/drill/steps";
import { drillConfig, drillDeps } from "./lib/drill-deps.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions: "Check database", in the drill's VPC (the scratch database admits only this
 * function's security group), over TLS with the RDS CA bundle.
 */
export const handler = taskHandler(logger, async (raw) => {
  const e = drillEvent.parse(raw);
  const result = await drillStep(e, drillConfig(), drillDeps({ connect: connectSql, tls: "rds" }));
  logger.info("Drill database checks passed", { action: e.action });
  return result;
});
