import type { Tier } from "../catalog/entries.ts";
import { CatalogReadError } from "../catalog/errors.ts";
import type { RecoveryPoint } from "../catalog/recovery-point.ts";
import type { CatalogStore } from "../catalog/store.ts";
import { newestRecoveryPoint } from "../catalog/view.ts";
import type { CatalogConfig } from "../config/catalog.ts";

/**
 * The restore's `{}`: the newest complete recovery point of the catalog, and how old each of its tiers
 * is (the RPO a restore started now achieves). Without a catalog, or without a complete point, the
 * restore keeps choosing each tier's newest copy, and says why in the plan.
 */

/** The recovery point a restore uses, as the state machine carries it (plain JSON). */
export interface RecoveryPointRef {
  /** The database snapshot's recovery time. */
  readonly recoveryTime: string;
  readonly snapshot: string;
  readonly veleroBackup?: string;
  /** Seconds since each tier's copy in the point, at validation. */
  readonly ages: Readonly<Partial<Record<Tier, number>>>;
  /** The Velero backup is more than the application schedule's period after the snapshot. */
  readonly applicationGapFlagged: boolean;
}

const seconds = (iso: string, now: Date) => Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));

/** The point's reference: its copies and each tier's age at `now`. */
export function recoveryPointRef(point: RecoveryPoint, now: Date): RecoveryPointRef {
  const oldestWatermark = point.buckets
    .map((b) => b.watermark)
    .sort((a, b) => Date.parse(a) - Date.parse(b))[0];
  return {
    recoveryTime: point.recoveryTime,
    snapshot: point.database.snapshotId,
    ...(point.application ? { veleroBackup: point.application.backupName } : {}),
    ages: {
      database: seconds(point.recoveryTime, now),
      ...(oldestWatermark ? { objectStorage: seconds(oldestWatermark, now) } : {}),
      ...(point.images ? { images: seconds(point.images.startedAt, now) } : {}),
      ...(point.application ? { application: seconds(point.application.startedAt, now) } : {}),
    },
    applicationGapFlagged: point.applicationGapFlagged,
  };
}

/**
 * The newest complete recovery point, or why there is none (the restore then takes each tier's newest copy).
 * @throws nothing for an unreadable catalog (it becomes the note); other errors pass.
 */
export async function chooseRecoveryPoint(
  store: CatalogStore,
  catalog: CatalogConfig,
  now: Date,
): Promise<{ readonly point: RecoveryPointRef } | { readonly note: string }> {
  try {
    const result = await newestRecoveryPoint(store, catalog.scope);
    if (result.point) return { point: recoveryPointRef(result.point, now) };
    return {
      note: `the catalog has no complete recovery point (${result.missing.join("; ")}): each tier's newest copy is used`,
    };
  } catch (error) {
    if (!(error instanceof CatalogReadError)) throw error;
    return { note: `the catalog could not be read (${error.message}): each tier's newest copy is used` };
  }
}
