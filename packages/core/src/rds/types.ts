/** Which RDS API family a database uses. */
export type DatabaseKind = "instance" | "cluster";

export interface Database {
  kind: DatabaseKind;
  identifier: string;
  arn: string;
  /** The account that owns the database, from its ARN. */
  account: string;
  status: string;
  engine: string;
}

/** A manual DB snapshot or DB cluster snapshot, the same shape for both API families. */
export interface Snapshot {
  identifier: string;
  arn: string;
  region: string;
  /** The DB instance or cluster the snapshot was taken from. */
  databaseIdentifier: string;
  /** `available`, `creating`, `copying`, `pending`, `failed`, … as RDS reports it. */
  status: string;
  /** When the data was captured (for a copy: the original's time where RDS reports it). */
  createdAt?: Date;
  tags: Record<string, string>;
  encrypted: boolean;
  kmsKeyId?: string;
  /** For a cross-region copy: the ARN of the snapshot it was copied from. */
  sourceSnapshotArn?: string;
  percentProgress?: number;
  /** The database engine (`mysql`, `aurora-mysql`, …) the snapshot restores to. */
  engine?: string;
  /** The engine version of the snapshot's database (a cluster is restored at it, not at the region's default). */
  engineVersion?: string;
}

/** RDS snapshot states in which the snapshot is still being created or copied. */
export function isInProgress(status: string): boolean {
  return status === "creating" || status === "copying" || status === "pending";
}
