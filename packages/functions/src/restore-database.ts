import { checkDatabaseStep, databaseEvent, restoreDatabaseStep } from "@gitpod-dr/core/restore/database";
import { logger } from "./lib/logger.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { rdsClient } from "./lib/restore-rds.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Restore database" and "Check database" (the Wait → Check loop's check). */
export const handler = taskHandler(logger, async (raw) => {
  const e = databaseEvent.parse(raw);
  const rds = rdsClient(e.region);
  if (e.action === "start") {
    const started = await restoreDatabaseStep(rds, e.restoreId, e.region, e.database, new Date());
    logger.info(started.created ? "Database restore started" : "Database restore adopted", {
      identifier: started.identifier,
    });
    return started;
  }
  const status = await checkDatabaseStep(
    rds,
    e.restoreId,
    e.region,
    e.database,
    e.started.startedAt,
    restoreConfig().restore.database.deadlineMinutes,
    new Date(),
  );
  logger.info("Database restore status", { identifier: status.identifier, status: status.status });
  return status;
});
