/**
 * What a drill restores and what it records: the narrow port between the drill and wherever recovery
 * points are kept. Its implementation (`recovery-points.ts`) is the recovery-point catalog: the newest
 * complete recovery point (the restore's `{}`), and each drill's result as a catalog entry.
 */

/** One consistent set across tiers that a drill restores. Plain JSON (Step Functions carries it). */
export interface DrillRecoveryPoint {
  /** Stable id of the set: `<snapshot identifier>[+<Velero backup name>]`. */
  readonly id: string;
  /** When the data is from: the database snapshot's recovery time (ISO). */
  readonly recoveryTime: string;
  readonly database?: {
    readonly kind: "instance" | "cluster";
    readonly snapshotIdentifier: string;
    readonly snapshotArn: string;
    readonly engine?: string;
    readonly engineVersion?: string;
    /** Row counts recorded with the recovery point, by table (the ratio check's baseline). */
    readonly rowCounts?: Readonly<Record<string, number>>;
  };
  readonly application?: {
    readonly backupName: string;
    /** Items the backup holds (Velero `status.progress.totalItems`). */
    readonly itemsBackedUp?: number;
  };
  /** Images by reference in the target registry, with the digest recorded when known. */
  readonly images?: readonly { readonly reference: string; readonly digest?: string }[];
  /** Buckets whose replica is sampled: objects older than `watermark` must be there. */
  readonly objectStorage?: readonly {
    readonly bucket: string;
    readonly region: string;
    readonly watermark: string;
  }[];
}

/** The figures a drill measured, per tier and in total (seconds from the drill's start). */
export interface DrillRto {
  readonly database?: number | undefined;
  readonly application?: number | undefined;
  readonly total: number;
}

/** What a drill records about a recovery point (success or failure). */
export interface DrillResult {
  readonly drillId: string;
  readonly recoveryPointId: string;
  readonly recoveryTime: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly succeeded: boolean;
  readonly rto?: DrillRto;
  /** The row counts found (the next drill's baseline). */
  readonly rowCounts?: Readonly<Record<string, number>>;
  /** The failed step and cause, when it failed. */
  readonly failure?: { readonly step: string; readonly error: string; readonly cause: string };
}

/** Where a drill gets its recovery point and records its result. */
export interface DrillRecoveryPoints {
  /**
   * The newest complete recovery point in the drill's target region.
   * @throws when there is none (a named error of the implementation).
   */
  newest(): Promise<DrillRecoveryPoint>;
  /** The last successful drill's result (its row counts are a baseline), if any. */
  previous(): Promise<DrillResult | undefined>;
  /** Records a drill's result, successful or not (idempotent). */
  recordResult(result: DrillResult): Promise<void>;
}
