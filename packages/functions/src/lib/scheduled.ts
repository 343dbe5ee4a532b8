import { snsClient } from "./clients.ts";
import { env } from "./env.ts";
import { logger } from "./logger.ts";
import { type JobHandlerOptions, jobHandler } from "./middleware.ts";

/**
 * The handler of an EventBridge-scheduled job: {@link jobHandler} with what every job takes from its
 * function (the stage, the logger, the alerts topic); the job gives its name, its input parser and its
 * one core call.
 */
export function scheduledJobHandler<I, O>(
  options: Pick<JobHandlerOptions<I, O>, "job" | "parseInput" | "run">,
) {
  return jobHandler({
    ...options,
    stage: env.stage,
    logger,
    alerts: () => ({ sns: snsClient(), topicArn: env.topicArn }),
  });
}
