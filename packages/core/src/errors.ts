/**
 * Every failure gitpod-dr reports is one of these named errors.
 *
 * `name` is part of the API: Step Functions `Retry`/`Catch` and the SNS message match on it, so a name
 * never changes once released. `retryable` says whether running the same job again later may succeed;
 * retry decisions are made from it, never from message text.
 */
export abstract class GitpodDrError extends Error {
  /** Whether the same call may succeed when tried again later (throttling, a resource that is busy). */
  readonly retryable: boolean;

  constructor(message: string, options: { cause?: unknown; retryable?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.retryable = options.retryable ?? false;
  }

  /** The stable error code; identical to `name`. */
  get code(): string {
    return this.name;
  }
}

/** Stage configuration is invalid. Raised at synth time and at cold start; never retryable. */
export class ConfigError extends GitpodDrError {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The event or command-line input is invalid. Nothing was changed. */
export class InvalidInputError extends GitpodDrError {
  override readonly name = "InvalidInput";
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The configured database identifier names neither a DB instance nor an Aurora cluster. */
export class DatabaseNotFoundError extends GitpodDrError {
  override readonly name = "DatabaseNotFound";
}

/** The identifier names something gitpod-dr cannot snapshot as configured (e.g. an Aurora member instance). */
export class UnsupportedDatabaseError extends GitpodDrError {
  override readonly name = "UnsupportedDatabase";
}

/** The database is in a state in which RDS refuses a snapshot (e.g. `backing-up`); a later run succeeds. */
export class DatabaseNotReadyError extends GitpodDrError {
  override readonly name = "DatabaseNotReady";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
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

/** An AWS call was throttled and the SDK's retry strategy ran out of attempts. */
export class AwsThrottledError extends GitpodDrError {
  override readonly name = "AwsThrottled";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** The function's role is not allowed to make an AWS call: an IAM or key-policy problem to fix. */
export class AwsAccessDeniedError extends GitpodDrError {
  override readonly name = "AwsAccessDenied";
}

/** Any other AWS service error, with the service's own error code kept in `awsCode`. */
export class AwsCallError extends GitpodDrError {
  override readonly name = "AwsCallFailed";
  constructor(
    message: string,
    readonly awsCode: string,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options);
  }
}

/** The RDS job did part of its work but some snapshots could not be handled; the message lists them. */
export class SnapshotJobIncompleteError extends GitpodDrError {
  override readonly name = "SnapshotJobIncomplete";
  constructor(
    message: string,
    readonly problems: readonly string[],
    /** The job's summary: what it did do. */
    readonly summary?: unknown,
  ) {
    super(message);
  }
}

/** The invocation ran out of time; it stopped before Lambda killed it so the failure can be reported. */
export class JobTimeoutError extends GitpodDrError {
  override readonly name = "JobTimeout";
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/** Publishing a notification failed. */
export class NotificationError extends GitpodDrError {
  override readonly name = "NotificationFailed";
}
