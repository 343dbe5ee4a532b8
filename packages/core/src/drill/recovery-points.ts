import type { DrillEntry } from "../catalog/entries.ts";
import { recordEntries } from "../catalog/record.ts";
import type { RecoveryPoint } from "../catalog/recovery-point.ts";
import type { CatalogStore } from "../catalog/store.ts";
import { newestRecoveryPoint } from "../catalog/view.ts";
import type { CatalogConfig } from "../config/catalog.ts";
import type { DrillJobConfig } from "../config/drill.ts";
import { parseReference } from "../registry/reference.ts";
import { DrillNoRecoveryPointError } from "./errors.ts";
import type { DrillRecoveryPoint, DrillRecoveryPoints, DrillResult } from "./types.ts";

/**
 * The drill's recovery points over the recovery-point catalog: a drill restores the newest complete
 * recovery point — the rule the restore's `{}` uses (catalog/view.ts `newestRecoveryPoint`) — and records
 * its result (success or failure) as a `drill` entry beside the recovery points it proves.
 */

/** Drill results read to find the last successful one: a year of weekly drills. */
const DRILL_ENTRIES = 50;

/** The recovery point's images in the target registry, by digest, limited to the restore's repositories (the drill's IAM). */
function targetImages(
  point: RecoveryPoint,
  config: DrillJobConfig,
  registry: string | undefined,
): DrillRecoveryPoint["images"] {
  const references = config.restore.images?.references ?? [];
  if (!registry || references.length === 0) return undefined;
  const repositories = new Set(references.map((r) => parseReference(`${registry}/${r}`).repository));
  const recorded = (point.images?.images ?? []).flatMap((image) => {
    const reference = config.drill.target === "dr" ? image.destination : image.source;
    try {
      const ref = parseReference(reference);
      return ref.registry === registry && repositories.has(ref.repository)
        ? [{ reference, digest: image.digest }]
        : [];
    } catch {
      return [];
    }
  });
  // An image sync that listed none of them: the configured references, checked by tag.
  return recorded.length > 0 ? recorded : references.map((r) => ({ reference: `${registry}/${r}` }));
}

/** The catalog's recovery point as the drill carries it (plain JSON), for the drill's target region. */
export function drillRecoveryPoint(
  point: RecoveryPoint,
  config: DrillJobConfig,
  registry: string | undefined,
): DrillRecoveryPoint {
  const db = point.database;
  const app = point.application;
  const items = app?.itemsBackedUp ?? app?.totalItems;
  const images = targetImages(point, config, registry);
  return {
    id: `${db.snapshotId}${app ? `+${app.backupName}` : ""}`,
    recoveryTime: point.recoveryTime,
    database: {
      kind: db.kind,
      snapshotIdentifier: db.snapshotId,
      snapshotArn: config.drill.target === "dr" ? db.drCopyArn : db.snapshotArn,
      ...(db.engine ? { engine: db.engine } : {}),
      ...(db.engineVersion ? { engineVersion: db.engineVersion } : {}),
    },
    ...(app
      ? {
          application: {
            backupName: app.backupName,
            ...(items !== undefined ? { itemsBackedUp: items } : {}),
          },
        }
      : {}),
    ...(images ? { images } : {}),
    ...(point.buckets.length > 0
      ? {
          objectStorage: point.buckets.map((b) => ({
            bucket: b.bucket,
            region: config.regions.primary,
            watermark: b.watermark,
          })),
        }
      : {}),
  };
}

/** A drill's result as a catalog entry. */
export function drillEntry(result: DrillResult, now: Date): DrillEntry {
  return {
    tier: "drill",
    drillId: result.drillId,
    recoveryPointId: result.recoveryPointId,
    recoveryTime: result.recoveryTime,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    succeeded: result.succeeded,
    ...(result.rto ? { rto: result.rto } : {}),
    ...(result.rowCounts ? { rowCounts: result.rowCounts } : {}),
    ...(result.failure ? { failure: result.failure } : {}),
    recordedAt: now.toISOString(),
  };
}

/** The entry back as the drill's result. */
function drillResult(entry: DrillEntry): DrillResult {
  const { tier: _tier, recordedAt: _recordedAt, rto, rowCounts, failure, ...result } = entry;
  return {
    ...result,
    ...(rto ? { rto } : {}),
    ...(rowCounts ? { rowCounts } : {}),
    ...(failure ? { failure } : {}),
  };
}

/** The last drill recorded (successful or not), if any: what `gitpod-dr status` shows. */
export async function lastDrill(store: CatalogStore): Promise<DrillEntry | undefined> {
  return (await store.newest("drill"))[0];
}

/**
 * The catalog as the drill's `DrillRecoveryPoints`.
 * @throws DrillNoRecoveryPointError (from `newest`: the catalog has no complete point), CatalogReadError,
 *   CatalogWriteError (from `recordResult`).
 */
export function catalogRecoveryPoints(
  config: DrillJobConfig & { readonly catalog: CatalogConfig },
  deps: {
    readonly store: CatalogStore;
    /** The target registry host (images are checked there). */
    readonly registry?: string | undefined;
    readonly now?: () => Date;
  },
): DrillRecoveryPoints {
  const now = deps.now ?? (() => new Date());
  return {
    async newest(): Promise<DrillRecoveryPoint> {
      const result = await newestRecoveryPoint(deps.store, config.catalog.scope);
      if (!result.point) {
        throw new DrillNoRecoveryPointError(
          `The catalog ${deps.store.tableName} has no complete recovery point to drill: ${result.missing.join("; ")}`,
          result.missing,
        );
      }
      return drillRecoveryPoint(result.point, config, deps.registry);
    },

    async previous(): Promise<DrillResult | undefined> {
      const entries = await deps.store.newest("drill", { limit: DRILL_ENTRIES });
      const last = entries.find((e) => e.succeeded);
      return last ? drillResult(last) : undefined;
    },

    async recordResult(result: DrillResult): Promise<void> {
      await recordEntries(
        deps.store,
        [drillEntry(result, now())],
        `Drill ${result.drillId} ${result.succeeded ? "succeeded" : "failed"}`,
      );
    },
  };
}
