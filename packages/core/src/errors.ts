/**
 * Every failure gitpod-dr reports is one of these named errors.
 *
 * `name` is part of the API: Step Functions `Retry`/`Catch` and the SNS message match on it, so a name
 * never changes once released. `retryable` says whether running the same job again later may succeed;
 * retry decisions are made from it, never from message text.
 *
 * This module holds the base class and the errors every tier shares (configuration, input, AWS calls,
 * timeouts, notifications). Each tier's own errors live in its `errors.ts` (`rds/errors.ts`,
 * `s3/errors.ts`, `velero/errors.ts`, …), so a tier's error names are visible in one place.
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

/** A failure that the same call may not have later (throttling, a busy resource, a timeout). */
export abstract class RetryableError extends GitpodDrError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * A job or check did part of its work, or found problems it could not get past: `problems` lists each
 * (one line each, for the message), `summary` is what it did do (for the report).
 */
export abstract class ProblemsError extends GitpodDrError {
  constructor(
    message: string,
    readonly problems: readonly string[],
    readonly summary?: unknown,
  ) {
    super(message);
  }
}

/** Values failed validation; `issues` names each invalid field. Never retryable. */
export abstract class ValidationError extends GitpodDrError {
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Stage configuration is invalid. Raised at synth time and at cold start. */
export class ConfigError extends ValidationError {
  override readonly name = "ConfigError";
}

/** The event or command-line input is invalid. Nothing was changed. */
export class InvalidInputError extends ValidationError {
  override readonly name = "InvalidInput";
}

/** An AWS call was throttled and the SDK's retry strategy ran out of attempts. */
export class AwsThrottledError extends RetryableError {
  override readonly name = "AwsThrottled";
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

/** The invocation ran out of time; it stopped before Lambda killed it so the failure can be reported. */
export class JobTimeoutError extends RetryableError {
  override readonly name = "JobTimeout";
}

/** Publishing a notification failed. */
export class NotificationError extends GitpodDrError {
  override readonly name = "NotificationFailed";
}
