import { GitpodDrError, ProblemsError } from "../errors.ts";

/**
 * The drill's own failures. Their names are the error names a drill execution's states fail with (the
 * failure message and the drill machine's Catch read them), so they never change once released.
 */

/** A verification of the restored copy failed: `problems` lists each failed check, one line each. */
export class DrillVerificationFailedError extends ProblemsError {
  override readonly name = "DrillVerificationFailed";
}

/**
 * Teardown could not remove everything: `problems` names each resource left behind and why;
 * `summary` lists what was removed. The drill fails loudly with it, whatever the checks found.
 */
export class DrillTeardownFailedError extends ProblemsError {
  override readonly name = "DrillTeardownFailed";
}

/** The drill was asked to touch something that is not one of its scratch resources. Nothing was changed. */
export class DrillScopeError extends GitpodDrError {
  override readonly name = "DrillScopeViolation";
}

/**
 * The scratch database is not ready for the checks yet (its new password being applied). Not
 * `retryable` on purpose: the state retries this name itself, longer than a `Transient` failure.
 */
export class DrillNotReadyError extends GitpodDrError {
  override readonly name = "DrillNotReady";
}

/** The catalog has no complete recovery point to drill: `problems` says what each tier lacks. Nothing was restored. */
export class DrillNoRecoveryPointError extends ProblemsError {
  override readonly name = "DrillNoRecoveryPoint";
}
