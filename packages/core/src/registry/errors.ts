import { GitpodDrError, ProblemsError, RetryableError } from "../errors.ts";

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
export class CopyAbortedError extends RetryableError {
  override readonly name = "CopyAborted";
}

/** A sync rule cannot be applied as written (e.g. "newest" on a registry that reports no push times). */
export class InvalidSyncRuleError extends GitpodDrError {
  override readonly name = "InvalidSyncRule";
}

/** The sync did part of its work; `problems` lists what failed (image by image). */
export class ImageSyncIncompleteError extends ProblemsError {
  override readonly name = "ImageSyncIncomplete";
}

/**
 * A child of the sync workflow had images fail with a temporary error: the batch is worth running again
 * (the Map's Retry matches the name `Transient` the task middleware gives every retryable error).
 */
export class ImageCopyRetryError extends RetryableError {
  override readonly name = "ImageCopyRetry";
}

/** Summarize could not read what the Distributed Map's ResultWriter wrote. */
export class WorkResultsUnreadableError extends GitpodDrError {
  override readonly name = "WorkResultsUnreadable";
}

/** Whether an error is one the engine may retry: its classification, never its message. */
export function isTemporary(error: unknown): boolean {
  return (
    (error instanceof RegistryError && error.temporary) ||
    (error instanceof BlobVerificationError && error.temporary)
  );
}

/*
 * How an answer becomes a `RegistryError`, and whether it is temporary (go-containerregistry's
 * `transport/error.go`): decided here once, so the retry layer only reads `temporary`.
 */

const NETWORK_TEMPORARY = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "ECONNABORTED",
  // A response body cut off by the peer ("aborted", "socket hang up" carry ECONNRESET).
  "ERR_STREAM_PREMATURE_CLOSE",
]);

const STATUS_CODES: Readonly<Record<number, string>> = {
  401: "UNAUTHORIZED",
  403: "DENIED",
  429: "TOOMANYREQUESTS",
};

/**
 * Whether an HTTP status is worth retrying: 408, 429 and every 5xx.
 *
 * Wider than go-containerregistry's `transport.Error.Temporary()` (408, 500, 502, 503, 504; with an
 * error body, the codes BLOB_UPLOAD_INVALID, TOOMANYREQUESTS, UNKNOWN, UNAVAILABLE), and on purpose:
 * proxies and CDNs in front of registries answer other 5xx (Cloudflare's 520–524) for upstream
 * hiccups — ggcr's `remote` package retries 499 and 522 for the same reason — and a missed retry fails
 * a DR copy, while retrying a permanent 501 costs only the retry budget (under 4 s by default). The
 * status decides, not the body's code: registries send TOOMANYREQUESTS with 429 and UNAVAILABLE with
 * 503, both retried.
 */
export function isTemporaryStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** The error code of a network failure (Node's `ECONNRESET`…), found on the error or its causes. */
export function networkErrorCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Classifies a failure that produced no HTTP status (reset, refused, timeout) into a `RegistryError`. */
export function networkError(error: unknown, what: string): RegistryError {
  if (error instanceof RegistryError) return error;
  const code = networkErrorCode(error) ?? "NETWORK_ERROR";
  const reason = error instanceof Error ? error.message : String(error);
  return new RegistryError(
    `${what}: ${reason} (${code})`,
    { status: 0, registryCode: code, temporary: NETWORK_TEMPORARY.has(code) },
    { cause: error },
  );
}

/** Parses `Retry-After` (seconds or an HTTP date) into seconds from now. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - now) / 1000));
}

/** Builds the `RegistryError` for an unexpected answer from the OCI error body (`{"errors":[…]}`). */
export function registryErrorFrom(
  status: number,
  headers: Readonly<Record<string, string>>,
  bodyText: string,
  what: string,
  now?: number,
): RegistryError {
  // A HEAD answer has no body: name the common statuses as the spec's error codes would.
  let code = STATUS_CODES[status] ?? `HTTP_${status}`;
  let detail = "";
  try {
    const parsed = JSON.parse(bodyText) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first?.code) code = first.code;
    if (first?.message) detail = first.message;
  } catch {
    // Not JSON (a proxy's HTML page): keep the status only.
  }
  const retryAfterSeconds = parseRetryAfter(headers["retry-after"], now);
  const message = `${what}: HTTP ${status} ${code}${detail ? ` (${detail.slice(0, 200)})` : ""}`;
  return new RegistryError(message, {
    status,
    registryCode: code,
    temporary: isTemporaryStatus(status),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  });
}
