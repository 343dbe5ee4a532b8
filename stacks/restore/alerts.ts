import { NOTIFIED_MARK } from "@gitpod-dr/core/restore/states";
import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Stack } from "sst/constructs";
import { deadLetterQueue } from "../constructs/alarms.ts";

/**
 * The names of the rules that publish to the alerts topic: named, so that the Alerts stack can condition
 * EventBridge's grants on their ARNs without referring to this stack (which depends on it).
 */
export function restoreAlertRuleNames(stage: string): { stopped: string; failed: string } {
  const names = {
    stopped: `gitpod-dr-${stage}-restore-stopped`,
    failed: `gitpod-dr-${stage}-restore-failed`,
  };
  for (const name of Object.values(names)) {
    if (name.length > 64)
      throw new Error(`The stage name "${stage}" is too long for the rule name ${name} (64)`);
  }
  return names;
}

/**
 * An execution that ends without reaching Notify failure (a crash, a timeout, an abort) still alerts.
 * One that Notify failure reported ends with a cause marked "[notified]" and is not reported twice.
 */
export function restoreExecutionAlerts(
  stack: Stack,
  props: { machine: sfn.IStateMachine; topic: sns.ITopic },
): void {
  const names = restoreAlertRuleNames(stack.stage);
  // The topic by ARN: the SnsTopic target would otherwise grant events.amazonaws.com publish and key use
  // with no condition. The Alerts stack grants both, only for these rules (aws:SourceArn).
  const topic = sns.Topic.fromTopicArn(stack, "AlertsTopicForRules", props.topic.topicArn);
  // A message EventBridge cannot publish (the key or topic policy broken, SNS throttling) after its
  // retries waits in the queue, and the queue's alarm says so (through the same topic: if the topic
  // itself is what fails, the alarm is still in the console and on the dashboard).
  const dlq = deadLetterQueue(stack, "RestoreAlertRulesDlq", {
    what: "restore-alert-rules",
    delivers: "publish a restore execution's end (timed out, aborted, failed unreported) to the alerts topic",
    topic: props.topic,
  });
  const executionEnded = (id: string, ruleName: string, detail: Record<string, unknown>) =>
    new events.Rule(stack, id, {
      ruleName,
      description: `gitpod-dr ${stack.stage}: restore executions that ended without their own failure message`,
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [props.machine.stateMachineArn], ...detail },
      },
      targets: [
        new targets.SnsTopic(topic, {
          retryAttempts: 8,
          maxEventAge: Duration.hours(6),
          deadLetterQueue: dlq,
          message: events.RuleTargetInput.fromText(
            `gitpod-dr ${stack.stage}: restore execution ${events.EventField.fromPath("$.detail.name")} ended ${events.EventField.fromPath("$.detail.status")}. Error: ${events.EventField.fromPath("$.detail.error")}. Cause: ${events.EventField.fromPath("$.detail.cause")}. Resume by starting again with the same restoreId. Execution: ${events.EventField.fromPath("$.detail.executionArn")}`,
          ),
        }),
      ],
    });
  executionEnded("RestoreExecutionTimedOutOrAborted", names.stopped, { status: ["TIMED_OUT", "ABORTED"] });
  executionEnded("RestoreExecutionFailedUnreported", names.failed, {
    status: ["FAILED"],
    // A FAILED event without a cause carries `"cause": null`, which anything-but does not match.
    cause: [null, { "anything-but": { prefix: NOTIFIED_MARK } }],
  });
}
