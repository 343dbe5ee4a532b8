import { RemovalPolicy } from "aws-cdk-lib";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type { Stack } from "sst/constructs";
import { acceptFinding, managedPolicy, roleOf } from "./nag.ts";

/**
 * SST creates a custom-resource function in every stack (`CustomResourceHandler`), logging to Lambda's
 * default group with no retention. It gets a log group of its own with a retention. Not the default
 * `/aws/lambda/<function>` by name: Lambda creates that group at the first invocation, so in a deployed
 * account it may exist, and CloudFormation would fail to create a group of the same name. A generated
 * name never clashes; an existing default group keeps what it holds and receives nothing more.
 */
export function customResourceHandlerLogs(stack: Stack): void {
  const handler = stack.customResourceHandler;
  const logGroup = new logs.LogGroup(stack, "CustomResourceHandlerLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  (handler.node.defaultChild as lambda.CfnFunction).loggingConfig = { logGroup: logGroup.logGroupName };

  acceptFinding(
    roleOf(handler),
    "AwsSolutions-IAM4",
    "SST's own role: AWSLambdaBasicExecutionRole grants only logs:CreateLogGroup/CreateLogStream/PutLogEvents",
    [managedPolicy("service-role/AWSLambdaBasicExecutionRole")],
  );
  acceptFinding(
    handler,
    "AwsSolutions-L1",
    "SST 2.49.8 sets nodejs22.x on its custom-resource function; a supported Lambda runtime, not ours to change",
  );
}
