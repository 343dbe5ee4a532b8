import { isServerError, isThrottlingError, isTransientError } from "@smithy/service-error-classification";
import { AwsAccessDeniedError, AwsCallError, AwsThrottledError, GitpodDrError } from "../errors.ts";

/** The fields of an AWS SDK v3 service exception that classification reads. */
interface SdkErrorLike {
  name: string;
  message: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function isSdkError(err: unknown): err is SdkErrorLike {
  return err instanceof Error && typeof (err as { $metadata?: unknown }).$metadata === "object";
}

const ACCESS_DENIED = new Set([
  "AccessDenied",
  "AccessDeniedException",
  "UnauthorizedOperation",
  "AuthorizationError",
  "KMSKeyNotAccessibleFault",
]);

/**
 * The AWS error code of an SDK error (its `name`, e.g. `DBSnapshotNotFoundFault`), or undefined for
 * anything that is not an AWS SDK service error.
 *
 * This is the one way gitpod-dr recognises an AWS SDK error: `awsErrorCode(err) === "Code"`. Not
 * `instanceof SomeServiceException` (it ties the check to one copy of a client package, and a test's or
 * another bundle's copy fails it), and not `(err as { name }).name` casts (they also match errors that
 * are not the service's answer). Our own errors (subclasses of `GitpodDrError`) are recognised with
 * `instanceof`; Kubernetes API errors become `KubeApiError` in `velero/kube-http.ts` and are
 * recognised by its `status`.
 */
export function awsErrorCode(err: unknown): string | undefined {
  return isSdkError(err) ? err.name : undefined;
}

/**
 * Turns an error from an AWS SDK call into one of gitpod-dr's named errors, adding what we were doing.
 *
 * The SDK has already retried throttling and transient errors with its retry strategy by the time an
 * error reaches here, so a throttling error means the retries ran out. Classification uses the SDK's
 * own rules (`@smithy/service-error-classification`), never the message text. Errors that are already
 * ours pass through unchanged.
 */
export function wrapAwsError(context: string, err: unknown): GitpodDrError {
  if (err instanceof GitpodDrError) return err;
  if (!isSdkError(err)) {
    // Network failures (ECONNRESET, timeouts) that outlived the SDK's retries.
    const message = err instanceof Error ? err.message : String(err);
    const code = err instanceof Error ? err.name : "Unknown";
    return new AwsCallError(`${context}: ${message}`, code, { cause: err, retryable: true });
  }
  const sdkError = err as Parameters<typeof isThrottlingError>[0] & SdkErrorLike;
  if (isThrottlingError(sdkError)) {
    return new AwsThrottledError(`${context}: throttled by AWS (${err.name}) after retries`, { cause: err });
  }
  if (ACCESS_DENIED.has(err.name)) {
    return new AwsAccessDeniedError(`${context}: access denied (${err.name}): ${err.message}`, {
      cause: err,
    });
  }
  const retryable = isTransientError(sdkError) || isServerError(sdkError);
  return new AwsCallError(`${context}: ${err.name}: ${err.message}`, err.name, { cause: err, retryable });
}
