import { GitpodDrError, RetryableError } from "../errors.ts";

/** The cluster's API server refused or failed a request; `status` and `reason` are Kubernetes'. */
export class KubeApiError extends GitpodDrError {
  override readonly name = "KubeApiError";
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, {
      ...options,
      retryable: (status === 0 && TRANSIENT_NETWORK_CODES.has(reason)) || status === 429 || status >= 500,
    });
  }
}

/**
 * Status-0 reasons (no answer) worth another try: the network's. A TLS failure (a certificate the
 * cluster's CA did not sign, a host name mismatch: a wrong endpoint or someone in between) and an
 * endpoint that is not https:// are not: retrying would only delay the message a person must read.
 */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
]);

/** A precondition of the backup or restore does not hold (Velero missing, storage unavailable, …). */
export class VeleroPreflightError extends GitpodDrError {
  override readonly name = "VeleroPreflightFailed";
  constructor(
    message: string,
    /** Which check failed: `velero-api`, `namespace`, `storage-location`, `version`, `cluster`, `kots`. */
    readonly check: string,
  ) {
    super(message);
  }
}

/** The previous backup made by gitpod-dr failed or partially failed. */
export class VeleroBackupFailedError extends GitpodDrError {
  override readonly name = "VeleroBackupFailed";
}

/** The previous backup made by gitpod-dr has been in progress for longer than the configured deadline. */
export class VeleroBackupStuckError extends RetryableError {
  override readonly name = "VeleroBackupStuck";
}

/**
 * The previous backup made by gitpod-dr cannot be judged: it is in a phase Velero does not document, or
 * it has no creation time (so whether it is stuck cannot be told).
 */
export class VeleroBackupUnknownError extends GitpodDrError {
  override readonly name = "VeleroBackupUnknown";
}

/** An object with gitpod-dr's deterministic name exists but was not made by gitpod-dr (or for another backup). */
export class VeleroConflictError extends GitpodDrError {
  override readonly name = "VeleroConflict";
}

/** There is no backup to restore from (no Completed backup, or the named one does not exist). */
export class VeleroBackupNotFoundError extends GitpodDrError {
  override readonly name = "VeleroBackupNotFound";
}
