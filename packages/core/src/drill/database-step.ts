import * as z from "zod";
import type { DrillJobConfig } from "../config/drill.ts";
import { passedOn } from "../restore/types.ts";
import type { ScratchAccess } from "./credentials.ts";
import { checkScratchDatabase, type DrillDatabaseDeps } from "./database.ts";
import type { DatabaseCheckReport } from "./database-checks.ts";
import { type DrillPlan, scratchDatabase } from "./plan.ts";

/**
 * "Check database", the one step of the drill's database function (in the drill's VPC). Apart from
 * drill/steps.ts, which dispatches every other step and imports their clients (S3, the cluster, the
 * registry), so that function's bundle holds only this step's code and mysql2.
 */

export const checkDrillDatabaseEvent = z.object({
  action: z.literal("check-database"),
  drill: passedOn<DrillPlan>(),
  access: passedOn<ScratchAccess>(),
});
export type CheckDrillDatabaseEvent = z.infer<typeof checkDrillDatabaseEvent>;

export interface CheckDrillDatabaseDeps extends Omit<DrillDatabaseDeps, "rds" | "secrets"> {
  readonly now: () => Date;
  readonly rds: () => DrillDatabaseDeps["rds"];
  readonly secrets: () => DrillDatabaseDeps["secrets"];
}

/**
 * Connects to the drill's scratch database and runs the configured checks.
 * @throws DrillVerificationFailedError (a check failed, or the recovery point has no database),
 *   DrillNotReadyError (not available or not accepting the drill's password yet), AwsCallError
 */
export async function checkDrillDatabase(
  e: CheckDrillDatabaseEvent,
  config: DrillJobConfig,
  deps: CheckDrillDatabaseDeps,
): Promise<DatabaseCheckReport & { finishedAt: string }> {
  const db = scratchDatabase(config, e.drill);
  const report = await checkScratchDatabase(
    { rds: deps.rds(), secrets: deps.secrets(), connect: deps.connect, tls: deps.tls },
    {
      database: { kind: db.kind, identifier: db.identifier },
      access: e.access,
      point: e.drill.point,
      previous: e.drill.previous,
      checks: config.drill.checks.database,
    },
  );
  return { ...report, finishedAt: deps.now().toISOString() };
}
