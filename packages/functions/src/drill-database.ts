import { checkDrillDatabase, checkDrillDatabaseEvent } from "@gitpod-dr/core/drill/database-step";
import { connectSql } from "@gitpod-dr/core/drill/mysql";
import { drillConfig, drillRds, drillSecrets } from "./lib/drill-config.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions: "Check database", in the drill's VPC (the scratch database admits only this
 * function's security group), over TLS with the RDS CA bundle. It imports that step alone (not
 * drill/steps.ts, whose other steps bring S3, the cluster and the registry into the bundle).
 */
export const handler = taskHandler(logger, async (raw) => {
  const e = checkDrillDatabaseEvent.parse(raw);
  const result = await checkDrillDatabase(e, drillConfig(), {
    now: () => new Date(),
    rds: drillRds,
    secrets: drillSecrets,
    connect: connectSql,
    tls: "rds",
  });
  logger.info("Drill database checks passed", { action: e.action });
  return result;
});
