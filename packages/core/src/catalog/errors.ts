import { GitpodDrError } from "../errors.ts";

/** The recovery-point catalog's errors. Their `name`s are matched by alerts and printed by the CLI: never rename one. */

/**
 * A job did its work but could not record it in the catalog. The work is kept (the copies exist); the
 * job is safe to run again, and the next run records it. Retryable.
 */
export class CatalogWriteError extends GitpodDrError {
  override readonly name = "CatalogWriteFailed";
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { ...options, retryable: true });
  }
}

/** The catalog could not be read, or holds an entry that is not valid. */
export class CatalogReadError extends GitpodDrError {
  override readonly name = "CatalogReadFailed";
}
