import { GitpodDrError, ProblemsError, RetryableError } from "../errors.ts";

/** The RDS snapshot job's errors. Their `name`s are matched by Step Functions and printed by the CLI: never rename one. */

/** The configured database identifier names neither a DB instance nor an Aurora cluster. */
export class DatabaseNotFoundError extends GitpodDrError {
  override readonly name = "DatabaseNotFound";
}

/** The identifier names something gitpod-dr cannot snapshot as configured (e.g. an Aurora member instance). */
export class UnsupportedDatabaseError extends GitpodDrError {
  override readonly name = "UnsupportedDatabase";
}

/** The database is in a state in which RDS refuses a snapshot (e.g. `backing-up`); a later run succeeds. */
export class DatabaseNotReadyError extends RetryableError {
  override readonly name = "DatabaseNotReady";
}

/** A snapshot with the tool's deterministic name exists but was not created by gitpod-dr. */
export class SnapshotConflictError extends GitpodDrError {
  override readonly name = "SnapshotConflict";
}

/**
 * A snapshot encrypted with the AWS managed key `aws/rds` cannot be shared with another account, so it
 * cannot be copied to a DR key in another account.
 */
export class DefaultKmsKeyNotShareableError extends GitpodDrError {
  override readonly name = "DefaultKmsKeyNotShareable";
}

/** The RDS job did part of its work but some snapshots could not be handled; the message lists them. */
export class SnapshotJobIncompleteError extends ProblemsError {
  override readonly name = "SnapshotJobIncomplete";
}
