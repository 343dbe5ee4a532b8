import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { Stack } from "sst/constructs";
import { acceptFinding } from "./nag.ts";

/**
 * The stage's alarms: every one is named `gitpod-dr-<stage>-<what>` (the Alerts stack lets CloudWatch
 * publish to the topic for exactly those names) and sends its ALARM and its OK to the alerts topic of
 * the stack's region, with a description that says what happened and where to look.
 */

/** `gitpod-dr-<stage>-<what>`: the name every alarm of the stage has. */
export const alarmName = (stage: string, what: string) => `gitpod-dr-${stage}-${what}`;

/** The ARNs of the stage's alarms in the stack's region: what the alerts topic and key let publish. */
export const stageAlarmArns = (stack: Stack) =>
  `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${alarmName(stack.stage, "*")}`;

/** `RdsSnapshot` → `rds-snapshot`: a construct id as it appears in an alarm name. */
export const kebab = (id: string) => id.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

const FIVE_MINUTES = Duration.minutes(5);

export interface StageAlarmProps {
  /** After `gitpod-dr-<stage>-`. */
  readonly what: string;
  readonly metric: cloudwatch.IMetric;
  /** What it means and where to look (the console shows it, the alarm message quotes it; ≤ 1024). */
  readonly description: string;
  readonly topic: sns.ITopic;
  /** Default: missing data is not breaching (the event-like alarms: no event, no datapoint). */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

/** An alarm that fires on any datapoint above 0, with its ALARM and OK actions to the alerts topic. */
export function stageAlarm(stack: Stack, id: string, props: StageAlarmProps): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(stack, id, {
    alarmName: alarmName(stack.stage, props.what),
    alarmDescription: props.description,
    metric: props.metric,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    threshold: 0,
    evaluationPeriods: 1,
    treatMissingData: props.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const toTopic = new actions.SnsAction(props.topic);
  alarm.addAlarmAction(toTopic);
  alarm.addOkAction(toTopic);
  return alarm;
}

/**
 * The alarms every gitpod-dr function has: `Errors` and `Throttles` above 0 in 5 minutes
 * (`gitpod-dr-<stage>-<function-id>-errors`, `-throttles`). Errors counts what the handler reported
 * (a message was sent too) and what it could not: out of memory, a crash at load, the hard timeout.
 */
export function functionAlarms(
  stack: Stack,
  id: string,
  props: { fn: lambda.IFunction; logGroup: logs.ILogGroup; description: string; topic: sns.ITopic },
): void {
  const { fn, logGroup, topic } = props;
  const what = `gitpod-dr ${stack.stage}: function ${id} (${props.description})`;
  stageAlarm(stack, `${id}ErrorsAlarm`, {
    what: `${kebab(id)}-errors`,
    metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    description: `${what} ended invocations in an error. One the handler caught is also reported by the job's failure message (a scheduled job) or the restore's failure message (a task, once its retries are spent); one Lambda stopped (out of memory, a crash at load, the hard timeout) by nothing from the handler: this alarm is its trace. Look in the log group ${logGroup.logGroupName} for the request ids, "Task timed out", "Runtime.ExitError" or "Error: Runtime exited". OK again after 5 minutes without an error.`,
    topic,
  });
  stageAlarm(stack, `${id}ThrottlesAlarm`, {
    what: `${kebab(id)}-throttles`,
    metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: cloudwatch.Stats.SUM }),
    description: `${what} was throttled: Lambda refused invocations for lack of concurrency (the account's concurrent-executions limit in this region, shared with every other function). A scheduled job is retried for up to an hour, then reported by its on-failure destination; a restore task is retried by the state machine. Check the account's ConcurrentExecutions in the Lambda console and what else uses them; log group ${logGroup.logGroupName}.`,
    topic,
  });
}

/**
 * A dead-letter queue for EventBridge targets, with the alarm on its depth: an event that EventBridge
 * could not deliver (after the target's retries) waits here, 14 days, with the error in its attributes.
 * Encrypted with SQS's own key (SSE-SQS), so that EventBridge needs no key grant; SSL-only; the only
 * sender is the rule that names it (the target adds that statement to the queue policy).
 */
export function deadLetterQueue(
  stack: Stack,
  id: string,
  props: { what: string; delivers: string; topic: sns.ITopic },
): sqs.Queue {
  const queue = new sqs.Queue(stack, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  acceptFinding(
    queue,
    "AwsSolutions-SQS3",
    "It is itself a dead-letter queue (of EventBridge targets); its depth is alarmed",
  );
  stageAlarm(stack, `${id}Alarm`, {
    what: `${props.what}-dlq`,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: FIVE_MINUTES,
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    description: `gitpod-dr ${stack.stage}: EventBridge could not ${props.delivers}, after its retries: that did not happen. Each undelivered event is a message in the SQS queue ${queue.queueName} (its ERROR_CODE and ERROR_MESSAGE attributes say why: a deleted or throttled target, a missing permission). Fix the cause, run what was missed by hand if needed, then purge the queue: the alarm is OK when the queue is empty.`,
    topic: props.topic,
  });
  return queue;
}
