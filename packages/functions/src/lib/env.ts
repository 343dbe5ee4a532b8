const read = () =>
  Object.freeze({
    stage: process.env.GITPOD_DR_STAGE ?? "unknown",
    topicArn: process.env.GITPOD_DR_TOPIC_ARN ?? "",
    config: process.env.GITPOD_DR_CONFIG,
    region: process.env.AWS_REGION ?? "",
  });

/**
 * The function's environment, read once per cold start. Values are validated where they are used
 * (inside the handler), so that a bad value fails an invocation visibly, with a notification, rather
 * than crashing the module load where nothing can report it.
 */
export let env = read();

/**
 * Reads the environment again (`gitpod-dr rehearse` sets the stack's environment for its run, then puts
 * it back). A deployed function never calls it: its environment does not change.
 */
export function reloadEnv(): void {
  env = read();
}
