import type {
  ApplicationEntry,
  CatalogEntry,
  DatabaseEntry,
  ImagesEntry,
  ObjectStorageEntry,
} from "./entries.ts";
import { entryTime } from "./entries.ts";

/**
 * The recovery-point rule: which copies, one per tier, make one consistent set a restore can use.
 * Pure: no clients, no clock.
 *
 * A recovery point is the newest database snapshot whose recovery time is no later than every bucket's
 * replication watermark and the start of the last complete image sync — so every workspace object and
 * image the restored database refers to is in the DR copies — and no later than the start of the newest
 * completed Velero backup, which it takes as its application state (a Velero backup at or after the
 * database, so the cluster does not run against a database newer than it knows). A gap between the two
 * larger than the application schedule's period is flagged.
 */

/** Which tiers a stage has, so that a point never lacks a tier the stage backs up. */
export interface RecoveryScope {
  /** The buckets whose replication is checked (the object-storage tier; empty: none). */
  readonly buckets: readonly string[];
  readonly images: boolean;
  readonly application: boolean;
  /** The application schedule's period; a larger gap between snapshot and Velero backup is flagged. */
  readonly applicationPeriodMs?: number | undefined;
}

/** The catalog's entries the rule reads (any subset, in any order). */
export interface CatalogView {
  readonly database: readonly DatabaseEntry[];
  readonly objectStorage: readonly ObjectStorageEntry[];
  readonly images: readonly ImagesEntry[];
  readonly application: readonly ApplicationEntry[];
}

export interface RecoveryPoint {
  readonly database: DatabaseEntry;
  /** The database snapshot's recovery time: what a restore of this point loses everything after. */
  readonly recoveryTime: string;
  /** The newest watermark of each bucket in scope, by bucket name. */
  readonly buckets: readonly ObjectStorageEntry[];
  readonly images?: ImagesEntry;
  readonly application?: ApplicationEntry;
  /** Milliseconds from the snapshot's recovery time to the Velero backup's start. */
  readonly applicationGapMs?: number;
  /** The gap is larger than the application schedule's period (a backup was missed). */
  readonly applicationGapFlagged: boolean;
}

export type RecoveryPointResult =
  | { readonly point: RecoveryPoint; readonly missing?: undefined }
  | { readonly point?: undefined; readonly missing: readonly string[] };

const ms = (entry: CatalogEntry) => Date.parse(entryTime(entry));

/** The newest entry (ties: the greatest id, so the choice does not depend on input order). */
function newest<E extends CatalogEntry>(entries: readonly E[], id: (e: E) => string): E | undefined {
  let best: E | undefined;
  for (const e of entries) {
    if (!best || ms(e) > ms(best) || (ms(e) === ms(best) && id(e) > id(best))) best = e;
  }
  return best;
}

/**
 * The newest complete recovery point of the catalog's entries for a stage's tiers, or what is missing.
 */
export function recoveryPoint(view: CatalogView, scope: RecoveryScope): RecoveryPointResult {
  const missing: string[] = [];
  const bounds: number[] = [];
  const buckets: ObjectStorageEntry[] = [];
  for (const bucket of [...new Set(scope.buckets)].sort()) {
    const watermark = newest(
      view.objectStorage.filter((e) => e.bucket === bucket),
      (e) => e.bucket,
    );
    if (!watermark) missing.push(`objectStorage: bucket ${bucket} has no replication watermark`);
    else {
      buckets.push(watermark);
      bounds.push(ms(watermark));
    }
  }
  const images = scope.images ? newest(view.images, (e) => e.startedAt) : undefined;
  if (scope.images) {
    if (!images) missing.push("images: no complete image sync");
    else bounds.push(ms(images));
  }
  const application = scope.application ? newest(view.application, (e) => e.backupName) : undefined;
  if (scope.application) {
    if (!application) missing.push("application: no completed Velero backup");
    else bounds.push(ms(application));
  }
  if (missing.length > 0) return { missing };
  const bound = Math.min(...bounds);
  const database = newest(
    view.database.filter((e) => e.drCopyStatus === "available" && ms(e) <= bound),
    (e) => e.snapshotId,
  );
  if (!database) {
    return {
      missing: [
        bounds.length > 0
          ? `database: no snapshot copied to the DR region with a recovery time at or before ${new Date(bound).toISOString()} (the oldest of the other tiers' copies)`
          : "database: no snapshot copied to the DR region",
      ],
    };
  }
  const gap = application ? ms(application) - ms(database) : undefined;
  return {
    point: {
      database,
      recoveryTime: database.recoveryTime,
      buckets,
      ...(images ? { images } : {}),
      ...(application ? { application } : {}),
      ...(gap !== undefined ? { applicationGapMs: gap } : {}),
      applicationGapFlagged:
        gap !== undefined && scope.applicationPeriodMs !== undefined && gap > scope.applicationPeriodMs,
    },
  };
}
