import { RegistryError } from "./errors.ts";
import { isReplayable, type RegistryRequest, type RoundTrip } from "./roundtrip.ts";

/**
 * The transport's one retry loop, as go-containerregistry's `transport/retry.go`: a layer around any
 * `RoundTrip` (registry requests, token requests) that retries what a predicate accepts. Whether an
 * error is temporary was decided when it was made (`RegistryError.temporary`); this layer only decides
 * whether and how long to wait.
 */

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: the error is returned as is. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_REGISTRY_RETRY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
};

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

export interface RetryOptions {
  readonly policy: RetryPolicy;
  /** Which errors to retry; by default the temporary ones of requests whose body can be sent again. */
  readonly predicate?: (error: RegistryError, request: RegistryRequest) => boolean;
  readonly sleep: Sleep;
  /** In [0, 1): the jitter. */
  readonly random: () => number;
}

/** Retries temporary failures of requests that can be replayed. */
export function retryTemporary(error: RegistryError, request: RegistryRequest): boolean {
  return error.temporary && isReplayable(request.body);
}

/**
 * Wraps `inner` so that a `RegistryError` the predicate accepts is retried, up to `maxAttempts` in
 * all, after exponential backoff with full jitter, or after the registry's `Retry-After` when it is
 * longer (and not longer than `maxRetryAfterMs`, else the error is returned at once). Anything else,
 * and any failure once the request's signal is aborted, is thrown unchanged.
 */
export function withRetry(inner: RoundTrip, options: RetryOptions): RoundTrip {
  const { policy, sleep, random } = options;
  const predicate = options.predicate ?? retryTemporary;
  return async (request) => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await inner(request);
      } catch (error) {
        const retry =
          error instanceof RegistryError &&
          !request.signal?.aborted &&
          attempt < policy.maxAttempts &&
          predicate(error, request);
        const wait = retry ? waitAfter(attempt, error, policy, random) : undefined;
        if (wait === undefined) throw error;
        await sleep(wait, request.signal);
      }
    }
  };
}

/** Milliseconds to wait after failed attempt `attempt`, or `undefined` when the registry asks for too long. */
function waitAfter(
  attempt: number,
  error: RegistryError,
  policy: RetryPolicy,
  random: () => number,
): number | undefined {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const backoff = Math.round(random() * ceiling);
  const retryAfter = error.details.retryAfterSeconds;
  if (retryAfter === undefined) return backoff;
  const ms = retryAfter * 1000;
  return ms > policy.maxRetryAfterMs ? undefined : Math.max(ms, backoff);
}
