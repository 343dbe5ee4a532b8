import { RemovalPolicy } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as sns from "aws-cdk-lib/aws-sns";
import { type FunctionProps, Function as SstFunction, type Stack } from "sst/constructs";
import { functionAlarms } from "./alarms.ts";
import { acceptFinding, managedPolicy, policyOf, roleOf } from "./nag.ts";

/** Subnets and security groups by id, so synthesis needs no VPC lookup (no AWS call). */
export interface VpcPlacement {
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
}

export interface JobFunctionProps {
  /** What the function does; the console shows it after `gitpod-dr <stage>: `. */
  readonly description: string;
  /** The handler module's name in packages/functions/src, e.g. `rds-snapshot`. */
  readonly handler: string;
  readonly timeout: NonNullable<FunctionProps["timeout"]>;
  readonly memorySize: number;
  readonly logRetention: logs.RetentionDays;
  /** The run-time configuration, passed as GITPOD_DR_CONFIG (the handler validates it at cold start). */
  readonly config: unknown;
  /** The alerts topic, passed as GITPOD_DR_TOPIC_ARN. */
  readonly topic: sns.ITopic;
  /** For a function that must reach a private cluster endpoint (or kotsadm behind an internal address). */
  readonly vpc?: VpcPlacement | undefined;
  /** Bundling options replacing the app's defaults (SST merges them shallowly: restate what is kept). */
  readonly nodejs?: FunctionProps["nodejs"];
}

/**
 * A gitpod-dr Lambda function: its retained log group (`<id>Logs`), the function (`<id>`), the three
 * environment variables every handler reads, and its `Errors` and `Throttles` alarms (to the topic). Created in the stack's scope with the ids the stacks have
 * always used, so the logical IDs of deployed functions and log groups stay what they are.
 */
export function jobFunction(
  stack: Stack,
  id: string,
  props: JobFunctionProps,
): { fn: SstFunction; logGroup: logs.LogGroup } {
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    retention: props.logRetention,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const fn = new SstFunction(stack, id, {
    description: `gitpod-dr ${stack.stage}: ${props.description}`,
    handler: `packages/functions/src/${props.handler}.handler`,
    timeout: props.timeout,
    memorySize: props.memorySize,
    logGroup,
    environment: {
      GITPOD_DR_STAGE: stack.stage,
      GITPOD_DR_TOPIC_ARN: props.topic.topicArn,
      GITPOD_DR_CONFIG: JSON.stringify(props.config),
    },
    ...(props.nodejs ? { nodejs: props.nodejs } : {}),
  });
  if (props.vpc) {
    // Set on the CloudFormation resource: the function's `vpc` prop would need an ec2.IVpc (a lookup).
    (fn.node.defaultChild as lambda.CfnFunction).vpcConfig = {
      subnetIds: props.vpc.subnetIds,
      securityGroupIds: props.vpc.securityGroupIds,
    };
    fn.role?.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaVPCAccessExecutionRole"),
    );
  }
  acceptFinding(
    fn,
    "AwsSolutions-L1",
    "nodejs22.x: a supported Lambda runtime and the Node the test suite runs the handlers on; moved with the tests",
  );
  acceptFinding(
    roleOf(fn),
    "AwsSolutions-IAM4",
    "AWS managed policies for Lambda's own needs: logs:CreateLogGroup/CreateLogStream/PutLogEvents, and ENI management in a VPC",
    [
      managedPolicy("service-role/AWSLambdaBasicExecutionRole"),
      managedPolicy("service-role/AWSLambdaVPCAccessExecutionRole"),
    ],
  );
  // A role's statements on "*" are only for actions with no resource-level permissions, each saying so
  // beside it; test/stacks/nag.test.ts pins every role's list of actions on "*".
  acceptFinding(
    policyOf(fn),
    "AwsSolutions-IAM5",
    'Resource "*" only for actions with no resource-level permissions (X-Ray trace writes; the rest are pinned in nag.test.ts)',
    ["Resource::*"],
  );
  functionAlarms(stack, id, { fn, logGroup, description: props.description, topic: props.topic });
  return { fn, logGroup };
}

/**
 * Maps a function's role to a Kubernetes group of a cluster in this stack's region (an EKS access
 * entry; the cluster's authentication mode must include API). The group's rights are in deploy/.
 */
export function kubernetesAccess(
  stack: Stack,
  id: string,
  access: { clusterName: string; principalArn: string; group: string },
): eks.CfnAccessEntry {
  return new eks.CfnAccessEntry(stack, id, {
    clusterName: access.clusterName,
    principalArn: access.principalArn,
    kubernetesGroups: [access.group],
    type: "STANDARD",
  });
}
