import type { DatabaseEntry } from "../catalog/entries.ts";
import { CatalogReadError } from "../catalog/errors.ts";
import { databaseEntry } from "../catalog/record.ts";
import type { RecoveryScope } from "../catalog/recovery-point.ts";
import type { CatalogStore } from "../catalog/store.ts";
import { newestRecoveryPoint } from "../catalog/view.ts";
import { TAG_SOURCE_SNAPSHOT } from "./naming.ts";
import { type DatabaseKind, isInProgress, type Snapshot } from "./types.ts";

/**
 * The RDS job's part of the recovery-point catalog: linked retention (what the newest complete recovery
 * point holds is never deleted) and the entries of its copies.
 */

export type LinkedRetention =
  /** The catalog was read: `protect` holds the newest point's snapshot (if there is a complete point). */
  | {
      readonly kind: "read";
      readonly protect: ReadonlySet<string>;
      readonly recorded: readonly DatabaseEntry[];
    }
  /** The catalog could not be read: which snapshot the point holds is unknown, so nothing is deleted. */
  | { readonly kind: "unknown"; readonly error: CatalogReadError };

/** Reads the newest complete recovery point, for linked retention. Never throws a CatalogReadError. */
export async function linkedRetention(store: CatalogStore, scope: RecoveryScope): Promise<LinkedRetention> {
  try {
    const result = await newestRecoveryPoint(store, scope);
    const protect = new Set(result.point ? [result.point.database.snapshotId] : []);
    return { kind: "read", protect, recorded: result.view.database };
  } catch (error) {
    if (!(error instanceof CatalogReadError)) throw error;
    return { kind: "unknown", error };
  }
}

/**
 * The database entries to record after a run: one per DR copy of ours that is available or being copied
 * (including those this run started), skipping copies deleted by this run and entries already recorded
 * with the same state. Built from the primary snapshot where it still exists, else from the copy (which
 * keeps the window tag, and names its source in gitpod-dr:source-snapshot).
 */
export function entriesToRecord(run: {
  readonly kind: DatabaseKind;
  readonly primary: readonly Snapshot[];
  readonly drCopies: readonly Snapshot[];
  /** Primary snapshots whose copy this run started (not in `drCopies` yet). */
  readonly started: readonly Snapshot[];
  readonly deletedInDr: ReadonlySet<string>;
  readonly recorded: readonly DatabaseEntry[];
  readonly drRegion: string;
  readonly now: Date;
}): DatabaseEntry[] {
  const primaryById = new Map(run.primary.map((s) => [s.identifier, s]));
  const recorded = new Map(run.recorded.map((e) => [e.snapshotId, e.drCopyStatus]));
  const copies: Pick<Snapshot, "identifier" | "arn" | "status" | "kmsKeyId">[] = [
    ...run.drCopies.filter((c) => c.status === "available" || isInProgress(c.status)),
    ...run.started.map((s) => ({
      identifier: s.identifier,
      arn: s.arn.replace(`:${s.region}:`, `:${run.drRegion}:`),
      status: "copying",
    })),
  ];
  return copies.flatMap((copy) => {
    if (run.deletedInDr.has(copy.identifier)) return [];
    const copySnapshot = run.drCopies.find((c) => c.identifier === copy.identifier);
    const source = primaryById.get(copy.identifier) ?? copySnapshot;
    if (!source) return [];
    const sourceArn =
      source === copySnapshot ? (copySnapshot.tags[TAG_SOURCE_SNAPSHOT] ?? source.arn) : source.arn;
    const entry = databaseEntry({ ...source, arn: sourceArn }, copy, run.kind, run.now);
    if (!entry || recorded.get(entry.snapshotId) === entry.drCopyStatus) return [];
    return [entry];
  });
}
