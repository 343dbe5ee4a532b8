import { rpoTargets } from "../../../core/src/config/catalog.ts";
import type { StageConfig } from "../../../core/src/config/stage.ts";
import { VIRTUAL_START } from "./clock.ts";
import { rpoAlarmName } from "./seed.ts";
import type { RehearsalAlarm, RehearsalFinding, RehearsalTier } from "./types.ts";
import type { SimWorld } from "./world.ts";

/**
 * What in the stage configuration keeps a restore from working, found before anything runs (beyond what
 * validation refuses): no restore section, no DR target for a regional loss, a DR target without the
 * key or the replica bucket a regional restore needs.
 */
export function configFindings(config: StageConfig): RehearsalFinding[] {
  const out: RehearsalFinding[] = [];
  const restore = config.restore;
  if (!restore) {
    out.push({ severity: "error", field: "restore", message: "no restore section: nothing can be restored" });
    return out;
  }
  const dr = restore.targets.dr;
  if (!dr) {
    out.push({
      severity: "error",
      field: "restore.targets.dr",
      message: "no DR target: the primary region lost, there is nowhere to restore to",
    });
    return out;
  }
  if (config.database.kmsKeyArn && !dr.database.kmsKeyArn) {
    out.push({
      severity: "warning",
      field: "restore.targets.dr.database.kmsKeyArn",
      message: "the database is encrypted with a customer managed key but the DR target names no key",
    });
  }
  if (config.storage && !dr.bucket) {
    out.push({
      severity: "warning",
      field: "restore.targets.dr.bucket",
      message:
        "object storage is replicated but the DR target names no replica bucket to point the application at",
    });
  }
  return out;
}

/**
 * An RPO target the schedule does not meet: the tier's alarm went to ALARM during the rehearsal although
 * nothing broke that tier, once the first copy could exist (its target after the start).
 */
export function alarmFindings(
  world: SimWorld,
  alarms: readonly RehearsalAlarm[],
  broken: readonly RehearsalTier[],
): RehearsalFinding[] {
  const out: RehearsalFinding[] = [];
  for (const [tier, ms] of Object.entries(rpoTargets(world.config))) {
    if (broken.includes(tier as RehearsalTier)) continue;
    const name = rpoAlarmName(world.stage, tier);
    const fired = alarms.filter(
      (a) => a.name === name && a.state === "ALARM" && Date.parse(a.at) > VIRTUAL_START.getTime() + ms,
    );
    const first = fired[0];
    if (!first) continue;
    out.push({
      severity: "warning",
      field: `rpo.${tier}`,
      message: `the ${tier} RPO alarm fired ${fired.length} time(s) with nothing broken (first at ${first.at}: ${first.reason}): the schedule does not meet the target of ${Math.round(ms / 3_600_000)}h`,
    });
  }
  return out;
}
