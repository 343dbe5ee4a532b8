import { ConfiguredRetryStrategy } from "@smithy/util-retry";

/** How SDK clients retry: attempts in total and the first backoff step, doubled per attempt. */
export interface RetryOptions {
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { maxAttempts: 6, baseDelayMs: 250, maxDelayMs: 20_000 };

/**
 * The configuration every AWS SDK client of gitpod-dr is built with: the SDK's own retry strategy with
 * exponential backoff and full jitter (throttling and transient errors are retried by the SDK, not by
 * us), and a user agent that names the tool in CloudTrail.
 */
export function awsClientConfig(region: string, retry: RetryOptions = DEFAULT_RETRY) {
  return {
    region,
    customUserAgent: "gitpod-dr",
    retryStrategy: new ConfiguredRetryStrategy(retry.maxAttempts, (attempt: number) =>
      Math.round(Math.random() * Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** attempt)),
    ),
  };
}
