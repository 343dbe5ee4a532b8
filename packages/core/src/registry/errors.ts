import { GitpodDrError } from "../errors.ts";

/** An image reference (`registry/repo:tag`, `repo@sha256:…`) is malformed; `part` names what is wrong. */
export class InvalidReferenceError extends GitpodDrError {
  override readonly name = "InvalidReference";
  constructor(
    message: string,
    readonly reference: string,
    readonly part: "registry" | "repository" | "tag" | "digest" | "reference",
  ) {
    super(message);
  }
}

/**
 * A registry (or its token server) answered with an error, or the connection failed.
 *
 * `temporary` is decided once, here, from the status or the network error code (408, 429, 5xx,
 * connection resets): the transport retries temporary errors and nothing else. A 401/403/404 is never
 * temporary and carries the registry's own error code (`MANIFEST_UNKNOWN`, `DENIED`, …).
 */
export class RegistryError extends GitpodDrError {
  override readonly name = "RegistryError";
  constructor(
    message: string,
    readonly details: {
      /** HTTP status; 0 when the request never got one (connection refused, reset, timeout). */
      status: number;
      /** The registry's error code from the OCI error body, the network error code, or `HTTP_<status>`. */
      registryCode: string;
      temporary: boolean;
      /** Seconds the registry asked us to wait (`Retry-After`), when it said. */
      retryAfterSeconds?: number;
    },
    options: { cause?: unknown } = {},
  ) {
    super(message, { ...options, retryable: details.temporary });
  }
  get status(): number {
    return this.details.status;
  }
  get registryCode(): string {
    return this.details.registryCode;
  }
  get temporary(): boolean {
    return this.details.temporary;
  }
}

/**
 * Blob bytes read from the source did not match the descriptor: wrong digest, too many bytes, or too
 * few (a truncated body, which is temporary: reading again may succeed). The upload was abandoned
 * before it completed, so the destination never holds the bad bytes.
 */
export class BlobVerificationError extends GitpodDrError {
  override readonly name = "BlobVerificationFailed";
  constructor(
    message: string,
    readonly digest: string,
    readonly truncated: boolean,
  ) {
    super(message, { retryable: truncated });
  }
  get temporary(): boolean {
    return this.truncated;
  }
}

/** A manifest the engine cannot copy faithfully (schema 1, unknown media type, invalid JSON). */
export class UnsupportedManifestError extends GitpodDrError {
  override readonly name = "UnsupportedManifest";
}

/** A registry needs credentials that are not configured, or refused the configured ones. */
export class RegistryAuthError extends GitpodDrError {
  override readonly name = "RegistryAuthFailed";
}

/** The copy was stopped (deadline or abort signal) before it finished. */
export class CopyAbortedError extends GitpodDrError {
  override readonly name = "CopyAborted";
  constructor(message: string) {
    super(message, { retryable: true });
  }
}

/** Whether an error is one the engine may retry: its classification, never its message. */
export function isTemporary(error: unknown): boolean {
  return (
    (error instanceof RegistryError && error.temporary) ||
    (error instanceof BlobVerificationError && error.temporary)
  );
}
