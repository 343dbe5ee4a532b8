import { GitpodDrError } from "../errors.ts";

/**
 * kotsadm did not take a request: unreachable (`status` undefined) or refused it. The restore reports
 * it as its own PointApplicationFailed; this name never reaches Step Functions.
 */
export class KotsApiError extends GitpodDrError {
  override readonly name = "KotsApiError";
  /** kotsadm's own `error` text of a refusal (e.g. `failed to get app from app slug`), when it gave one. */
  readonly kotsError: string | undefined;
  constructor(
    message: string,
    readonly status: number | undefined,
    options: { cause?: unknown; retryable?: boolean; kotsError?: string | undefined } = {},
  ) {
    const { kotsError, ...rest } = options;
    super(message, rest);
    this.kotsError = kotsError;
  }
}
