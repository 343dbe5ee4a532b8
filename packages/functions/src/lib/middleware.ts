import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { SNSClient } from "@aws-sdk/client-sns";
import { JobTimeoutError } from "@gitpod-dr/core/errors";
import { buildFailureNotification, publishNotification } from "@gitpod-dr/core/notify/failure";
import { publishFailedRecord } from "@gitpod-dr/core/notify/metric";
import { redactError, redactKnown } from "@gitpod-dr/core/notify/secrets";
import middy, { type MiddlewareObj } from "@middy/core";
import type { Context } from "aws-lambda";

/** Time kept back before Lambda's own timeout so that the failure can still be reported. */
export const TIMEOUT_EARLY_MS = 10_000;

export interface JobHandlerOptions<I, O> {
  /** The job's name in notifications and logs, e.g. `rds-snapshot`. */
  job: string;
  stage: string;
  logger: Logger;
  /** Gives the SNS client and topic for failure notifications; called only when an invocation fails. */
  alerts: () => { sns: SNSClient; topicArn: string };
  /** Validates the event. Throws InvalidInputError naming the field; nothing has been done yet. */
  parseInput: (event: unknown) => I;
  /** The one core call. `signal` is aborted when the early timeout has given up on the invocation. */
  run: (input: I, context: Context, signal: AbortSignal) => Promise<O>;
}

/** Replaces the raw event with the parsed input before the handler runs. */
function parseInput<I>(parse: (event: unknown) => I): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    before: (request) => {
      request.event = parse(request.event);
    },
  };
}

/**
 * On failure: logs the error, publishes exactly one message to the alerts topic, and leaves the error in
 * place so that middy re-throws it and Lambda's retries and Errors metric see the failure. If the publish
 * itself fails, that is logged, the NotificationPublishFailed metric records it (alarmed), and the
 * original error still propagates.
 */
function notifyOnFailure(
  options: Pick<JobHandlerOptions<unknown, unknown>, "job" | "stage" | "logger" | "alerts">,
): MiddlewareObj<unknown, unknown, Error, Context> {
  return {
    onError: async (request) => {
      const { error, context } = request;
      const { logger } = options;
      // The runtime logs the re-thrown error to CloudWatch: scrub credentials from it (and its causes)
      // first, with every secret this invocation's code read.
      redactError(error);
      logger.error("Job failed", {
        error: {
          name: error?.name,
          message: redactKnown(error?.message ?? String(error)),
          retryable: (error as { retryable?: boolean } | null)?.retryable ?? false,
        },
      });
      const arn = context.invokedFunctionArn?.split(":") ?? [];
      const notification = buildFailureNotification(
        {
          job: options.job,
          stage: options.stage,
          account: arn[4] ?? "unknown",
          region: arn[3] ?? "unknown",
          functionName: context.functionName,
          requestId: context.awsRequestId,
          logGroupName: context.logGroupName,
          logStreamName: context.logStreamName,
          time: new Date(),
        },
        error,
      );
      try {
        const { sns, topicArn } = options.alerts();
        const messageId = await publishNotification(sns, topicArn, notification);
        logger.info("Failure notification published", { messageId });
      } catch (publishError) {
        // Straight to stdout, a line of its own: CloudWatch Logs extracts an EMF record only from a log
        // event that is the JSON document itself (console.log would prefix the time and request id), and
        // independent of the logger's level (POWERTOOLS_LOG_LEVEL may silence it).
        process.stdout.write(`${publishFailedRecord(options.stage, options.job, new Date())}\n`);
        logger.error("Unable to publish the failure notification", {
          error: {
            name: (publishError as Error).name,
            message: redactKnown((publishError as Error).message),
            cause: redactKnown(String((publishError as Error).cause ?? "")),
          },
        });
      }
      // No response is set: middy re-throws request.error.
    },
  };
}

/**
 * The middleware chain every gitpod-dr job handler uses: Powertools logger with the Lambda context,
 * input validation, an early timeout that fails with JobTimeout while there is still time to report it,
 * and one failure notification per failed invocation.
 */
export function jobHandler<I, O>(options: JobHandlerOptions<I, O>) {
  return middy<unknown, O, Error, Context>({
    timeoutEarlyInMillis: TIMEOUT_EARLY_MS,
    timeoutEarlyResponse: () => {
      throw new JobTimeoutError(
        `The ${options.job} job stopped ${TIMEOUT_EARLY_MS / 1000} s before the Lambda timeout`,
      );
    },
  })
    .use(injectLambdaContext(options.logger, { resetKeys: true }))
    .use(notifyOnFailure(options))
    .use(parseInput(options.parseInput))
    .handler((event, context, { signal }) => options.run(event as I, context, signal));
}
