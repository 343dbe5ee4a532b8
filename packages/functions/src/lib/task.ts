import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { JobTimeoutError } from "@gitpod-dr/core/errors";
import { redactError } from "@gitpod-dr/core/notify/secrets";
import { TransientError } from "@gitpod-dr/core/restore/errors";
import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";
import { TIMEOUT_EARLY_MS } from "./middleware.ts";

/**
 * The middleware chain of the restore state machine's task functions. Unlike the scheduled jobs they
 * publish nothing themselves (the machine's Catch → "Notify failure" does, once); a failure is logged
 * with its secrets scrubbed and re-thrown under its own name, which becomes the state's error name, or
 * as `Transient` when trying again may succeed, which the state's Retry matches.
 */
function taskErrors(logger: Logger): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    onError: (request) => {
      const error = request.error;
      if (!(error instanceof Error)) return;
      // Its message becomes the Fail state's cause, which the execution history keeps: scrubbed of every
      // secret this invocation read (Secrets Manager, the EKS token, kotsadm's auth, database passwords).
      redactError(error);
      const retryable = (error as { retryable?: boolean }).retryable === true;
      logger.error("Task failed", { error: { name: error.name, message: error.message, retryable } });
      if (retryable && error.name !== "Transient") {
        request.error = new TransientError(`${error.name}: ${error.message}`, { cause: error });
      }
    },
  };
}

/**
 * The chain every restore task function uses: logger context, the early timeout of the scheduled jobs
 * (JobTimeout, retryable, so the state's Retry runs the step again rather than Lambda cutting it off),
 * and the error mapping above. `signal` is aborted when the early timeout has given up on the invocation.
 */
export function taskHandler<O>(
  logger: Logger,
  run: (event: unknown, context: Context, signal: AbortSignal) => Promise<O>,
) {
  return middy<unknown, O, Error, Context>({
    timeoutEarlyInMillis: TIMEOUT_EARLY_MS,
    timeoutEarlyResponse: () => {
      throw new JobTimeoutError(`The task stopped ${TIMEOUT_EARLY_MS / 1000} s before the Lambda timeout`);
    },
  })
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(taskErrors(logger))
    .handler((event, context, { signal }) => run(event, context, signal));
}
