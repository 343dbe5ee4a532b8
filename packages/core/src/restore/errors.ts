import { GitpodDrError, ProblemsError } from "../errors.ts";

/**
 * The restore's own failures. Their names are the error names a Step Functions execution fails with
 * (and `Retry`/`Catch` match on), so they never change once released.
 */

/** A precondition of the restore does not hold (cluster unreachable, storage location unavailable…). Nothing was created. */
export class PreconditionFailedError extends ProblemsError {
  override readonly name = "PreconditionFailed";
}

/** A Wait → Check loop ran past its configured deadline. */
export class RestoreDeadlineExceededError extends GitpodDrError {
  override readonly name = "RestoreDeadlineExceeded";
}

/** The Velero Restore ended Failed or FailedValidation (or PartiallyFailed without allowPartialRestore). */
export class ApplicationRestoreFailedError extends GitpodDrError {
  override readonly name = "ApplicationRestoreFailed";
}

/** The application could not be pointed at the restored endpoints. */
export class PointApplicationFailedError extends GitpodDrError {
  override readonly name = "PointApplicationFailed";
}

/** The restored application does not answer as it should. */
export class VerificationFailedError extends GitpodDrError {
  override readonly name = "VerificationFailed";
}

/** An image the application needs is missing from the target registry and cannot be copied there. */
export class ImageUnavailableError extends GitpodDrError {
  override readonly name = "ImageUnavailable";
}

/** No snapshot matches what the restore asked for. */
export class RestoreSnapshotNotFoundError extends GitpodDrError {
  override readonly name = "RestoreSnapshotNotFound";
}

/** The target identifier is taken by a database this restore id did not create. */
export class RestoreTargetTakenError extends GitpodDrError {
  override readonly name = "RestoreTargetTaken";
}

/** The restored database reached a state it will not leave by itself. */
export class DatabaseRestoreFailedError extends GitpodDrError {
  override readonly name = "DatabaseRestoreFailed";
}

/**
 * A failure that may pass when the same step runs again (throttling, a 5xx, a reset connection): the
 * state's `Retry` matches this name. The original error's name leads the message.
 */
export class TransientError extends GitpodDrError {
  override readonly name = "Transient";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/**
 * Throws RestoreDeadlineExceeded when `startedAt` + `minutes` has passed.
 * @param what what is waited for, for the message
 * @param setting the configuration field that sets the deadline
 */
export function checkDeadline(
  startedAt: string,
  minutes: number,
  now: Date,
  what: string,
  setting: string,
): void {
  const started = Date.parse(startedAt);
  // Never skip a deadline silently: a start that is not a time is a defect in the state passed along.
  if (Number.isNaN(started)) throw new TypeError(`${what}: its start time "${startedAt}" is not a time`);
  if (now.getTime() - started > minutes * 60_000) {
    throw new RestoreDeadlineExceededError(
      `${what} is not done after ${minutes} minutes (${setting}). Look at it in the console, fix what holds it, and start the restore again with the same restoreId: what exists is adopted`,
    );
  }
}
