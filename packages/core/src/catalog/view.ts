import {
  type CatalogView,
  type RecoveryPointResult,
  type RecoveryScope,
  recoveryPoint,
} from "./recovery-point.ts";
import type { CatalogStore } from "./store.ts";

/** Database entries read for the rule: far more than one day's snapshots between other tiers' copies. */
const DATABASE_ENTRIES = 50;
/** Velero backups read: only the newest counts, a few more show history. */
const APPLICATION_ENTRIES = 5;

/**
 * The entries the recovery-point rule needs for a stage's tiers: the newest database snapshots, each
 * bucket's newest watermark, the newest image sync and Velero backups. One Query per partition.
 * @throws CatalogReadError
 */
export async function readCatalogView(store: CatalogStore, scope: RecoveryScope): Promise<CatalogView> {
  const [database, objectStorage, images, application] = await Promise.all([
    store.newest("database", { limit: DATABASE_ENTRIES }),
    Promise.all(scope.buckets.map((bucket) => store.newest("objectStorage", { bucket }))).then((l) =>
      l.flat(),
    ),
    scope.images ? store.newest("images") : Promise.resolve([]),
    scope.application ? store.newest("application", { limit: APPLICATION_ENTRIES }) : Promise.resolve([]),
  ]);
  return { database, objectStorage, images, application };
}

/**
 * The newest complete recovery point in the catalog for a stage's tiers, or what is missing.
 * @throws CatalogReadError
 */
export async function newestRecoveryPoint(
  store: CatalogStore,
  scope: RecoveryScope,
): Promise<RecoveryPointResult & { readonly view: CatalogView }> {
  const view = await readCatalogView(store, scope);
  return { ...recoveryPoint(view, scope), view };
}
