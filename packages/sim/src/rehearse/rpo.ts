import { METRIC_NAMESPACE, RECOVERY_POINT_AGE } from "../../../core/src/metrics.ts";
import { type RehearsalTier, TIERS } from "./types.ts";
import type { SimWorld } from "./world.ts";

/**
 * The RPO each tier achieves at the disaster: the watchdog's last RecoveryPointAge of the tier plus the
 * time since it was measured (null: the tier had no recovery point).
 */
export function rpoAtDisaster(world: SimWorld, at: Date): Record<RehearsalTier, number | null> {
  const out = Object.fromEntries(TIERS.map((t) => [t, null])) as Record<RehearsalTier, number | null>;
  for (const tier of TIERS) {
    const points = world.account.cloudwatch.datapoints.filter(
      (p) =>
        p.namespace === METRIC_NAMESPACE &&
        p.name === RECOVERY_POINT_AGE &&
        p.dimensions.Tier === tier &&
        p.dimensions.Bucket === undefined &&
        p.at.getTime() <= at.getTime(),
    );
    const last = points.at(-1);
    if (last) out[tier] = Math.round(last.value + (at.getTime() - last.at.getTime()) / 1000);
  }
  return out;
}
