import { veleroJobConfig } from "@gitpod-dr/core/config/application";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as SstFunction, type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { stageConfig } from "./context.ts";

/** The Kubernetes group deploy/rbac.yaml grants; the function's role is mapped to it. */
export const KUBERNETES_GROUP = "gitpod-dr";

/** The scheduled Velero backup of the EKS cluster (present when the stage configures `application`). */
export function Application({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const application = config.application;
  if (!application) return {};
  const { topic, key: topicKey } = use(Alerts);
  const region = config.regions.primary;
  const clusterName = application.cluster.name;
  const clusterArn = `arn:${stack.partition}:eks:${region}:${stack.account}:cluster/${clusterName}`;
  const jobConfig = veleroJobConfig(app.stage, config);

  const logGroup = new logs.LogGroup(stack, "VeleroBackupLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const fn = new SstFunction(stack, "VeleroBackup", {
    description: `gitpod-dr ${app.stage}: Velero backup of EKS cluster ${clusterName}`,
    handler: "packages/functions/src/velero-backup.handler",
    timeout: "2 minutes",
    memorySize: 512,
    logGroup,
    environment: {
      GITPOD_DR_STAGE: app.stage,
      GITPOD_DR_TOPIC_ARN: topic.topicArn,
      GITPOD_DR_CONFIG: JSON.stringify(jobConfig),
    },
  });
  // Idempotent per window (the Backup's name); a retry adopts what the first attempt created.
  fn.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.hours(1) });

  if (application.vpc) {
    // A private-endpoint cluster is reachable only from its VPC. Subnets and security groups are given
    // by id, so synthesis needs no VPC lookup (no AWS call).
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    cfn.vpcConfig = {
      subnetIds: application.vpc.subnetIds,
      securityGroupIds: application.vpc.securityGroupIds,
    };
    fn.role?.addManagedPolicy(
      iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaVPCAccessExecutionRole"),
    );
  }

  const allow = (sid: string, actions: string[], resources: string[]) =>
    fn.addToRolePolicy(new iam.PolicyStatement({ sid, actions, resources }));
  allow("DescribeTheCluster", ["eks:DescribeCluster"], [clusterArn]);
  allow("PublishFailureNotifications", ["sns:Publish"], [topic.topicArn]);
  allow("EncryptNotificationsWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [topicKey.keyArn]);

  // The cluster maps the function's role to the Kubernetes group that deploy/rbac.yaml grants. The
  // cluster's authentication mode must include API (EKS access entries).
  new eks.CfnAccessEntry(stack, "VeleroBackupAccessEntry", {
    clusterName,
    principalArn: (fn.role as iam.IRole).roleArn,
    kubernetesGroups: [KUBERNETES_GROUP],
    type: "STANDARD",
  });

  const rule = new events.Rule(stack, "VeleroBackupSchedule", {
    description: `gitpod-dr ${app.stage}: Velero backup job`,
    schedule: events.Schedule.expression(application.schedule),
  });
  rule.addTarget(new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) }));
  stack.addOutputs({ VeleroBackupFunction: fn.functionName });
  return { veleroBackupFunction: fn };
}
