import { GitpodDrError } from "../errors.ts";

/**
 * kotsadm did not take a request: unreachable (`status` undefined) or refused it. The restore reports
 * it as its own PointApplicationFailed; this name never reaches Step Functions.
 */
export class KotsApiError extends GitpodDrError {
  override readonly name = "KotsApiError";
  constructor(
    message: string,
    readonly status: number | undefined,
    options: { cause?: unknown; retryable?: boolean } = {},
  ) {
    super(message, options);
  }
}
