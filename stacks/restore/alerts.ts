import { NOTIFIED_MARK } from "@gitpod-dr/core/restore/states";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as sns from "aws-cdk-lib/aws-sns";
import type * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Stack } from "sst/constructs";

/**
 * An execution that ends without reaching Notify failure (a crash, a timeout, an abort) still alerts.
 * One that Notify failure reported ends with a cause marked "[notified]" and is not reported twice.
 */
export function restoreExecutionAlerts(
  stack: Stack,
  props: { machine: sfn.IStateMachine; topic: sns.ITopic },
): void {
  const executionEnded = (id: string, detail: Record<string, unknown>) =>
    new events.Rule(stack, id, {
      description: `gitpod-dr ${stack.stage}: restore executions that ended without their own failure message`,
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [props.machine.stateMachineArn], ...detail },
      },
      targets: [
        new targets.SnsTopic(props.topic, {
          message: events.RuleTargetInput.fromText(
            `gitpod-dr ${stack.stage}: restore execution ${events.EventField.fromPath("$.detail.name")} ended ${events.EventField.fromPath("$.detail.status")}. Error: ${events.EventField.fromPath("$.detail.error")}. Cause: ${events.EventField.fromPath("$.detail.cause")}. Resume by starting again with the same restoreId. Execution: ${events.EventField.fromPath("$.detail.executionArn")}`,
          ),
        }),
      ],
    });
  executionEnded("RestoreExecutionTimedOutOrAborted", { status: ["TIMED_OUT", "ABORTED"] });
  executionEnded("RestoreExecutionFailedUnreported", {
    status: ["FAILED"],
    // A FAILED event without a cause carries `"cause": null`, which anything-but does not match.
    cause: [null, { "anything-but": { prefix: NOTIFIED_MARK } }],
  });
}
