import { PublishCommand, type SNSClient } from "@aws-sdk/client-sns";
import { wrapAwsError } from "../aws/errors.ts";
import { GitpodDrError, NotificationError } from "../errors.ts";
import { redactKnown } from "./secrets.ts";

export interface FailureContext {
  /** The job's name, e.g. `rds-snapshot`. */
  job: string;
  stage: string;
  account: string;
  region: string;
  functionName: string;
  /** The AWS request id of the failed invocation. */
  requestId: string;
  logGroupName: string;
  logStreamName: string;
  time: Date;
}

export interface Notification {
  subject: string;
  message: string;
}

/** SNS subjects: ASCII, no line breaks, under 100 characters. */
const SUBJECT_MAX = 99;
/** SNS messages may be 256 KB; email clients give up long before that. */
const MESSAGE_MAX = 32_000;

/**
 * An SNS subject: credentials removed (the secrets this process read, `secrets`, and every shape
 * `redact` knows), ASCII only, cut to SNS's limit (a cut one ends in ".").
 */
export function snsSubject(text: string, secrets: readonly string[] = []): string {
  const ascii = redactKnown(text, secrets).replace(/[^\x20-\x7e]/g, "?");
  return ascii.length > SUBJECT_MAX ? `${ascii.slice(0, SUBJECT_MAX - 1)}.` : ascii;
}

/** An SNS message body: credentials removed (as {@link snsSubject}), cut to a length email clients still show. */
export function snsMessage(text: string, secrets: readonly string[] = []): string {
  const clean = redactKnown(text, secrets);
  return clean.length > MESSAGE_MAX
    ? `${clean.slice(0, MESSAGE_MAX)}\n[truncated: read the full error in the log]`
    : clean;
}

/**
 * The CloudWatch Logs console link for one log stream. The console expects each path part URI-encoded
 * twice with `%` written as `$` (what the console itself produces for `/aws/lambda/...`).
 */
export function logStreamUrl(region: string, logGroupName: string, logStreamName: string): string {
  const enc = (s: string) => encodeURIComponent(encodeURIComponent(s)).replace(/%/g, "$");
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#logsV2:log-groups/log-group/${enc(logGroupName)}/log-events/${enc(logStreamName)}`;
}

function advice(error: unknown): string {
  if (!(error instanceof GitpodDrError)) {
    return "This is an unexpected error: read the log below, and report it if it persists.";
  }
  switch (error.name) {
    case "ConfigError":
      return "Fix the stage configuration and deploy again; nothing runs until then.";
    case "InvalidInput":
      return "Fix the input of the invocation; nothing was changed.";
    case "AwsAccessDenied":
      return "Check the function's IAM role and the KMS key policies; the next scheduled run tries again.";
    case "JobTimeout":
      return "The job stopped before Lambda's time limit; the next scheduled run continues where it left off.";
    default:
      return error.retryable
        ? "This is usually temporary: the next scheduled run tries again. Act if it repeats."
        : "This needs a person: the next scheduled run fails the same way until it is fixed.";
  }
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "NonErrorThrown";
}

/**
 * The message published when a job invocation fails: what failed, where, and where to look.
 * Everything that came from the error is redacted, with every secret this process has read
 * (`notify/secrets.ts`) and `secrets`.
 */
export function buildFailureNotification(
  context: FailureContext,
  error: unknown,
  secrets: readonly string[] = [],
): Notification {
  const name = errorName(error);
  const rawMessage = error instanceof Error ? error.message : String(error);
  const message = redactKnown(rawMessage, secrets);
  const subject = snsSubject(`gitpod-dr [${context.stage}] ${context.job} failed: ${name}`, secrets);
  const causes: string[] = [];
  let cause = error instanceof Error ? error.cause : undefined;
  for (let depth = 0; cause instanceof Error && depth < 3; depth += 1) {
    causes.push(`${cause.name}: ${redactKnown(cause.message, secrets)}`);
    cause = cause.cause;
  }
  const lines = [
    `The gitpod-dr job "${context.job}" failed in stage "${context.stage}".`,
    "",
    `Error:      ${name}`,
    `Message:    ${message}`,
    ...(causes.length > 0 ? [`Caused by:  ${causes.join("\n            ")}`] : []),
    `Retryable:  ${error instanceof GitpodDrError && error.retryable ? "yes" : "no"}`,
    `What to do: ${advice(error)}`,
    "",
    `Account:    ${context.account}`,
    `Region:     ${context.region}`,
    `Function:   ${context.functionName}`,
    `Request id: ${context.requestId}`,
    `Time:       ${context.time.toISOString()}`,
    `Logs:       ${logStreamUrl(context.region, context.logGroupName, context.logStreamName)}`,
  ];
  return { subject, message: snsMessage(lines.join("\n"), secrets) };
}

/**
 * Publishes a notification to the alerts topic.
 * @throws NotificationError when SNS refuses it.
 */
export async function publishNotification(
  sns: SNSClient,
  topicArn: string,
  notification: Notification,
): Promise<string | undefined> {
  try {
    const out = await sns.send(
      new PublishCommand({
        TopicArn: topicArn,
        Subject: notification.subject,
        Message: notification.message,
      }),
    );
    return out.MessageId;
  } catch (err) {
    throw new NotificationError(`Unable to publish to ${topicArn}`, {
      cause: wrapAwsError("SNS Publish", err),
    });
  }
}
