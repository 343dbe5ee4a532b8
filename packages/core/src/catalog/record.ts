import { TAG_WINDOW } from "../rds/naming.ts";
import type { DatabaseKind, Snapshot } from "../rds/types.ts";
import type { ImageReport } from "../registry/copy.ts";
import type { StorageCheckSummary } from "../s3/types.ts";
import type { PhaseReport } from "../velero/status.ts";
import {
  type ApplicationEntry,
  type CatalogEntry,
  type DatabaseEntry,
  describeEntry,
  type ImagesEntry,
  MAX_IMAGES,
  type ObjectStorageEntry,
} from "./entries.ts";
import { CatalogWriteError } from "./errors.ts";
import type { CatalogStore } from "./store.ts";

/**
 * What each tier's job records after a successful run: the entries built from what the job saw, and the
 * one way they are written. A failed write never undoes the job's work: it fails the run with
 * CatalogWriteFailed (so the failure notification reaches a person), and the job, safe to run again,
 * records on its next run.
 */

/**
 * Records the entries.
 * @param done what the job did, for the message (`The RDS snapshot job finished`).
 * @throws CatalogWriteError naming what was done and what was not recorded.
 */
export async function recordEntries(
  store: CatalogStore,
  entries: readonly CatalogEntry[],
  done: string,
): Promise<void> {
  for (const entry of entries) {
    try {
      await store.put(entry);
    } catch (error) {
      throw new CatalogWriteError(
        `${done}, but ${describeEntry(entry)} could not be recorded in catalog ${store.tableName}: ${(error as Error).message}. Its copy exists; the next run records it (the job is safe to run again)`,
        { cause: error },
      );
    }
  }
}

/**
 * The database entry of a snapshot gitpod-dr made and its DR copy (copying or available), or undefined
 * for one without a recovery time (no gitpod-dr:window tag: never a catalog entry).
 */
export function databaseEntry(
  primary: Snapshot,
  copy: Pick<Snapshot, "arn" | "status" | "kmsKeyId">,
  kind: DatabaseKind,
  now: Date,
): DatabaseEntry | undefined {
  const window = primary.tags[TAG_WINDOW];
  if (!window || Number.isNaN(Date.parse(window))) return undefined;
  return {
    tier: "database",
    snapshotId: primary.identifier,
    snapshotArn: primary.arn,
    drCopyArn: copy.arn,
    drCopyStatus: copy.status === "available" ? "available" : "copying",
    kind,
    recoveryTime: new Date(window).toISOString(),
    ...(primary.engine ? { engine: primary.engine } : {}),
    ...(primary.engineVersion ? { engineVersion: primary.engineVersion } : {}),
    ...(copy.kmsKeyId ? { kmsKeyId: copy.kmsKeyId } : {}),
    recordedAt: now.toISOString(),
  };
}

/**
 * Each bucket's replication watermark from a check: the write time of the newest canary verified in the
 * replica, for buckets with no failure finding (a bucket failing replication has no watermark to claim).
 */
export function objectStorageEntries(summary: StorageCheckSummary, now: Date): ObjectStorageEntry[] {
  return summary.buckets.flatMap((b) => {
    if (!b.lastReplicatedCanary || b.health === "failed") return [];
    return [
      {
        tier: "objectStorage" as const,
        bucket: b.bucket,
        watermark: b.lastReplicatedCanary,
        lagSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(b.lastReplicatedCanary)) / 1000)),
        warnings: b.findings.filter((f) => f.severity === "warning").length,
        recordedAt: now.toISOString(),
      },
    ];
  });
}

/** The image sync's entry: every image copied or up to date, source → destination digest. */
export function imagesEntry(
  images: readonly Pick<ImageReport, "source" | "destination" | "status" | "digest">[],
  times: { readonly startedAt: Date; readonly completedAt: Date },
): ImagesEntry {
  const good = images.filter((i) => (i.status === "copied" || i.status === "up-to-date") && i.digest);
  return {
    tier: "images",
    startedAt: times.startedAt.toISOString(),
    completedAt: times.completedAt.toISOString(),
    copied: images.filter((i) => i.status === "copied").length,
    upToDate: images.filter((i) => i.status === "up-to-date").length,
    images: good
      .slice(0, MAX_IMAGES)
      .map((i) => ({ source: i.source, destination: i.destination, digest: i.digest as string })),
    imagesNotListed: Math.max(0, good.length - MAX_IMAGES),
    recordedAt: times.completedAt.toISOString(),
  };
}

/**
 * Records a complete image sync (nothing failed or deferred: every image pushed before `startedAt` is
 * at its destination): the one way the scheduled job and the workflow's Summarize record it.
 * @throws CatalogWriteError naming the sync and what was not recorded.
 */
export async function recordImageSync(
  store: CatalogStore,
  stage: string,
  images: Parameters<typeof imagesEntry>[0],
  times: Parameters<typeof imagesEntry>[1],
): Promise<void> {
  await recordEntries(store, [imagesEntry(images, times)], `The image sync of stage ${stage} finished`);
}

/** A completed Velero backup's entry, or undefined for one in any other phase or without its times. */
export function applicationEntry(
  report: PhaseReport,
  where: { readonly cluster: string; readonly storageLocation: string },
  now: Date,
): ApplicationEntry | undefined {
  if (report.phase !== "Completed" || !report.createdAt || !report.completedAt) return undefined;
  return {
    tier: "application",
    backupName: report.name,
    phase: "Completed",
    cluster: where.cluster,
    storageLocation: where.storageLocation,
    startedAt: report.createdAt.toISOString(),
    completedAt: report.completedAt.toISOString(),
    ...(report.progress ? { itemsBackedUp: report.progress.done, totalItems: report.progress.total } : {}),
    recordedAt: now.toISOString(),
  };
}
