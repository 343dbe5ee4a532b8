import type { DrillJobConfig } from "../config/drill.ts";
import type { RestoreTargetSettings } from "../restore/types.ts";
import { DrillVerificationFailedError } from "./errors.ts";
import { scratchDbIdentifier } from "./naming.ts";
import type { DrillRecoveryPoint, DrillResult } from "./types.ts";

/**
 * What "Plan drill" hands to every later step, and what the steps derive from it alone. A module of its
 * own, without clients, so that the database function's bundle (drill/database-step.ts) carries no more
 * than its step needs.
 */

/** "Plan drill": the drill id, the recovery point, the last result; earlier drills' leftovers removed first. */
export interface DrillPlan {
  readonly drillId: string;
  readonly startedAt: string;
  readonly region: string;
  readonly point: DrillRecoveryPoint;
  readonly previous?: DrillResult;
  readonly leftoversRemoved: readonly string[];
}

/** The region the drill restores into: its target's. */
export const drillRegion = (config: DrillJobConfig): string =>
  config.drill.target === "dr" ? config.regions.dr : config.regions.primary;

/**
 * The scratch database's plan: the target's settings, the drill's security groups, no deletion protection.
 * @throws DrillVerificationFailedError (the recovery point has no database snapshot), TypeError (no
 *   restore target for the drill's target: the configuration's parser rules it out)
 */
export function scratchDatabase(config: DrillJobConfig, drill: DrillPlan) {
  const db = drill.point.database;
  if (!db)
    throw new DrillVerificationFailedError("The recovery point has no database snapshot", [
      "no database snapshot",
    ]);
  const target = config.restore.targets[config.drill.target];
  if (!target) throw new TypeError(`restore.targets.${config.drill.target} is not configured`);
  return {
    kind: db.kind,
    identifier: scratchDbIdentifier(drill.drillId),
    snapshot: {
      identifier: db.snapshotIdentifier,
      arn: db.snapshotArn,
      encrypted: true,
      ...(db.engine ? { engine: db.engine } : {}),
      ...(db.engineVersion ? { engineVersion: db.engineVersion } : {}),
    },
    // The target's settings without its unset fields (exactOptionalPropertyTypes), the drill's groups.
    settings: Object.fromEntries(
      Object.entries({
        ...target.database,
        securityGroupIds: config.drill.database.securityGroupIds,
        deletionProtection: false,
      }).filter(([, v]) => v !== undefined),
    ) as unknown as RestoreTargetSettings,
  };
}
