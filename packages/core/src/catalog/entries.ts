import * as z from "zod";

/**
 * The recovery-point catalog's entries: what each tier's job made, recorded after each successful run.
 * Times are ISO 8601 strings (the catalog stores JSON). Each entry has the one time that says how recent
 * its copy is (`entryTime`): a database snapshot's recovery time, a bucket's replication watermark, the
 * start of an image sync, the start of a Velero backup (and of a drill, for drill results).
 */

export const TIERS = ["database", "objectStorage", "images", "application"] as const;
export type Tier = (typeof TIERS)[number];

const isoTime = z.iso.datetime({ offset: true, error: "must be an ISO 8601 time" });

export const databaseEntrySchema = z.strictObject({
  tier: z.literal("database"),
  /** The snapshot identifier (the DR copy has the same one). */
  snapshotId: z.string().min(1),
  /** The primary snapshot's ARN. */
  snapshotArn: z.string().min(1),
  /** The DR copy's ARN: what a restore in the DR region uses. */
  drCopyArn: z.string().min(1),
  /**
   * The DR copy's state when recorded: `copying` when the RDS job started it, `available` once the job or
   * the watchdog saw it available. Only available copies count for recovery points and ages.
   */
  drCopyStatus: z.enum(["copying", "available"]),
  kind: z.enum(["instance", "cluster"]),
  /** The schedule window the snapshot was taken for (its gitpod-dr:window tag), never a copy's time. */
  recoveryTime: isoTime,
  engine: z.string().optional(),
  engineVersion: z.string().optional(),
  /** The key that encrypts the DR copy. */
  kmsKeyId: z.string().optional(),
  recordedAt: isoTime,
});

export const objectStorageEntrySchema = z.strictObject({
  tier: z.literal("objectStorage"),
  bucket: z.string().min(1),
  /**
   * The replication watermark: the newest time `t` such that every object written before `t` is known
   * replicated — the write time of the newest canary verified in the replica, with no replication failure.
   */
  watermark: isoTime,
  /** Seconds since the watermark when the check ran. */
  lagSeconds: z.number().nonnegative(),
  /** Replication findings of that run (warnings: latency, pending operations or bytes over thresholds). */
  warnings: z.number().int().nonnegative(),
  recordedAt: isoTime,
});

export const imagesEntrySchema = z.strictObject({
  tier: z.literal("images"),
  /** When the sync started: every image pushed before it is in the DR registry. */
  startedAt: isoTime,
  completedAt: isoTime,
  copied: z.number().int().nonnegative(),
  upToDate: z.number().int().nonnegative(),
  /** Source reference → destination digest, at most MAX_IMAGES (DynamoDB items hold 400 KB). */
  images: z.array(z.strictObject({ source: z.string(), destination: z.string(), digest: z.string() })),
  /** How many images the sync had beyond those listed. */
  imagesNotListed: z.number().int().nonnegative(),
  recordedAt: isoTime,
});

export const applicationEntrySchema = z.strictObject({
  tier: z.literal("application"),
  backupName: z.string().min(1),
  phase: z.literal("Completed"),
  cluster: z.string().min(1),
  storageLocation: z.string().min(1),
  /** When Velero started the backup (its creation): the cluster state it holds is at least this new. */
  startedAt: isoTime,
  completedAt: isoTime,
  itemsBackedUp: z.number().int().nonnegative().optional(),
  totalItems: z.number().int().nonnegative().optional(),
  recordedAt: isoTime,
});

const seconds = z.number().nonnegative();

/**
 * A restore drill's result (issue 13): which recovery point it restored into scratch resources, when,
 * whether every check passed, and the RTO it measured per tier and in total (seconds from its start).
 * Not a tier: recorded by the drill, beside the recovery points it proves.
 */
export const drillEntrySchema = z.strictObject({
  tier: z.literal("drill"),
  drillId: z.string().min(1),
  /** The recovery point's id (`<snapshot>[+<Velero backup>]`) and its recovery time. */
  recoveryPointId: z.string().min(1),
  recoveryTime: isoTime,
  startedAt: isoTime,
  finishedAt: isoTime,
  succeeded: z.boolean(),
  rto: z
    .strictObject({ database: seconds.optional(), application: seconds.optional(), total: seconds })
    .optional(),
  /** The row counts found (the next drill's baseline). */
  rowCounts: z.record(z.string(), z.number().int().nonnegative()).optional(),
  failure: z.strictObject({ step: z.string(), error: z.string(), cause: z.string() }).optional(),
  recordedAt: isoTime,
});

export const catalogEntrySchema = z.discriminatedUnion("tier", [
  databaseEntrySchema,
  objectStorageEntrySchema,
  imagesEntrySchema,
  applicationEntrySchema,
  drillEntrySchema,
]);

/** What the catalog holds: each tier's copies, and the drills' results. */
export type EntryKind = Tier | "drill";

export type DatabaseEntry = z.output<typeof databaseEntrySchema>;
export type ObjectStorageEntry = z.output<typeof objectStorageEntrySchema>;
export type ImagesEntry = z.output<typeof imagesEntrySchema>;
export type ApplicationEntry = z.output<typeof applicationEntrySchema>;
export type DrillEntry = z.output<typeof drillEntrySchema>;
export type CatalogEntry = z.output<typeof catalogEntrySchema>;
export type EntryOf<T extends EntryKind> = Extract<CatalogEntry, { tier: T }>;

/** Images listed per entry; the rest are counted in `imagesNotListed`. */
export const MAX_IMAGES = 1000;

/** The time that says how recent an entry's copy is (see the module comment). */
export function entryTime(entry: CatalogEntry): string {
  switch (entry.tier) {
    case "database":
      return entry.recoveryTime;
    case "objectStorage":
      return entry.watermark;
    case "images":
    case "application":
    case "drill":
      return entry.startedAt;
  }
}

/** What distinguishes entries of one tier at the same time: the snapshot, bucket or backup. */
export function entryId(entry: CatalogEntry): string {
  switch (entry.tier) {
    case "database":
      return entry.snapshotId;
    case "objectStorage":
      return entry.bucket;
    case "images":
      return "sync";
    case "application":
      return entry.backupName;
    case "drill":
      return entry.drillId;
  }
}

/** A short description of an entry for messages: `snapshot gitpod-dr-db-2026-11-26-0300`. */
export function describeEntry(entry: CatalogEntry): string {
  switch (entry.tier) {
    case "database":
      return `snapshot ${entry.snapshotId}`;
    case "objectStorage":
      return `bucket ${entry.bucket} replicated up to ${entry.watermark}`;
    case "images":
      return `image sync of ${entry.startedAt} (${entry.copied} copied, ${entry.upToDate} up to date)`;
    case "application":
      return `Velero backup ${entry.backupName}`;
    case "drill":
      return `drill ${entry.drillId} of recovery point ${entry.recoveryPointId}`;
  }
}
