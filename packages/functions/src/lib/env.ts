/**
 * The function's environment, read once per cold start. Values are validated where they are used
 * (inside the handler), so that a bad value fails an invocation visibly, with a notification, rather
 * than crashing the module load where nothing can report it.
 */
export const env = Object.freeze({
  stage: process.env.GITPOD_DR_STAGE ?? "unknown",
  topicArn: process.env.GITPOD_DR_TOPIC_ARN ?? "",
  config: process.env.GITPOD_DR_CONFIG,
  region: process.env.AWS_REGION ?? "",
});
