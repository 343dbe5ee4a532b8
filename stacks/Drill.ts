import { drillJobConfig } from "@gitpod-dr/core/config/drill";
import { DRILL_AGE_METRIC } from "@gitpod-dr/core/drill/result";
import { targetCluster } from "@gitpod-dr/core/restore/build-plan";
import { METRIC_NAMESPACE } from "@gitpod-dr/core/s3/metrics";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import * as actions from "aws-cdk-lib/aws-cloudwatch-actions";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { deadLetterQueue } from "./constructs/alarms.ts";
import { kubernetesAccess } from "./constructs/JobFunction.ts";
import { acceptFinding, policyOf } from "./constructs/nag.ts";
import { stageConfig } from "./context.ts";
import { drillDefinition } from "./drill/definition.ts";
import { DRILL_KUBERNETES_GROUP, drillFunctions } from "./drill/functions.ts";

export const DRILL_COMMENT =
  "gitpod-dr restore drill: restores the newest recovery point into scratch resources named from the drill id (database gitpod-dr-drill-<id>, namespaces <ns>-drill-<id>), verifies it, tears everything down, and sends one message. Start with {} (the input is ignored).";

/**
 * The scheduled restore drill (present when the stage configures `drill`; deployed where it restores:
 * the primary deployment for target primary, the DR standby for target dr): its functions and IAM
 * (drill/functions.ts), its graph (drill/definition.ts), the schedule, the clean-up of stopped drills,
 * and the `LastSuccessfulDrillAge` alarm.
 */
export function Drill({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const drill = config.drill;
  if (!drill || !config.restore) return {};
  const alerts = use(Alerts);
  // The drill reads the newest complete recovery point and records its result: Query and PutItem.
  const catalog = catalogAccess(stack, app.stage, config, ["dynamodb:Query", "dynamodb:PutItem"]);
  const jobConfig = drillJobConfig(app.stage, stack.account, config, catalog.config);
  const region = drill.target === "dr" ? config.regions.dr : config.regions.primary;
  const cluster = targetCluster(jobConfig, drill.target);
  const functions = drillFunctions(stack, {
    config,
    jobConfig,
    region,
    clusterArn: cluster
      ? `arn:${stack.partition}:eks:${region}:${stack.account}:cluster/${cluster}`
      : undefined,
    alerts,
  });
  grantCatalog(stack, { function: functions.drill.fn }, catalog);
  // The drill function's cluster access: its role mapped to the drill's group (deploy/rbac-drill.yaml,
  // whose admission policy lets the group delete only gitpod-drill-* namespaces).
  if (cluster && config.application) {
    const principalArn = (functions.drill.fn.role as iam.IRole).roleArn;
    if (region === stack.region) {
      kubernetesAccess(stack, "DrillAccessEntry", {
        clusterName: cluster,
        principalArn,
        group: DRILL_KUBERNETES_GROUP,
      });
    } else {
      new CfnOutput(stack, "DrillAccessEntry", {
        description: `Run once: map the drill function's role to ${DRILL_KUBERNETES_GROUP} in ${cluster} (${region})`,
        value: `aws eks create-access-entry --region ${region} --cluster-name ${cluster} --principal-arn ${principalArn} --kubernetes-groups ${DRILL_KUBERNETES_GROUP}`,
      });
    }
  }
  const machineLogs = new logs.LogGroup(stack, "DrillMachineLogs", {
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const machine = new sfn.StateMachine(stack, "DrillMachine", {
    stateMachineName: `gitpod-dr-${app.stage}-drill`,
    comment: DRILL_COMMENT,
    definitionBody: sfn.DefinitionBody.fromChainable(
      drillDefinition(stack, drill, functions, {
        database: config.restore.database.pollSeconds,
        application: config.restore.application.pollSeconds,
      }),
    ),
    timeout: Duration.minutes(drill.deadlineMinutes),
    tracingEnabled: true,
    logs: { destination: machineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
  });
  // What EventBridge could not deliver (a drill not started, a cleanup not run) waits here, alarmed.
  const dlq = deadLetterQueue(stack, "DrillRulesDlq", {
    what: "drill-rules",
    delivers: "start a drill, the cleanup after a stopped drill, or the daily drill-age publisher",
    topic: alerts.topic,
  });
  const delivery = { deadLetterQueue: dlq, retryAttempts: 2, maxEventAge: Duration.hours(1) };
  new events.Rule(stack, "DrillSchedule", {
    ruleName: `gitpod-dr-${app.stage}-drill-schedule`,
    description: `gitpod-dr ${app.stage}: start a restore drill`,
    schedule: events.Schedule.expression(drill.schedule),
    targets: [
      new targets.SfnStateMachine(machine, { input: events.RuleTargetInput.fromObject({}), ...delivery }),
    ],
  });
  // A drill aborted or timed out never reached its own teardown: clean up after it.
  new events.Rule(stack, "DrillStoppedCleanup", {
    ruleName: `gitpod-dr-${app.stage}-drill-cleanup`,
    description: `gitpod-dr ${app.stage}: tear down after an aborted or timed-out drill`,
    eventPattern: {
      source: ["aws.states"],
      detailType: ["Step Functions Execution Status Change"],
      detail: { stateMachineArn: [machine.stateMachineArn], status: ["ABORTED", "TIMED_OUT"] },
    },
    targets: [
      new targets.LambdaFunction(functions.drill.fn, {
        event: events.RuleTargetInput.fromObject({
          action: "cleanup",
          executionName: events.EventField.fromPath("$.detail.name"),
          status: events.EventField.fromPath("$.detail.status"),
          executionArn: events.EventField.fromPath("$.detail.executionArn"),
        }),
        ...delivery,
      }),
    ],
  });
  // The age of the last successful drill, daily, so the alarm has data between drills.
  new events.Rule(stack, "DrillAgeDaily", {
    ruleName: `gitpod-dr-${app.stage}-drill-age`,
    description: `gitpod-dr ${app.stage}: publish ${DRILL_AGE_METRIC}`,
    schedule: events.Schedule.rate(Duration.days(1)),
    targets: [
      new targets.LambdaFunction(functions.drill.fn, {
        event: events.RuleTargetInput.fromObject({ action: "age" }),
        ...delivery,
      }),
    ],
  });
  const alarm = new cloudwatch.Alarm(stack, "DrillAgeAlarm", {
    alarmName: `gitpod-dr-${app.stage}-drill-age`,
    alarmDescription: `No restore drill of stage ${app.stage} has succeeded within ${drill.maxAgeDays} days (or the daily age publisher stopped). Look at the last executions of gitpod-dr-${app.stage}-drill.`,
    metric: new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName: DRILL_AGE_METRIC,
      dimensionsMap: { Stage: app.stage },
      statistic: "Minimum",
      period: Duration.days(1),
    }),
    threshold: drill.maxAgeDays * 86_400,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(alerts.topic));
  alarm.addOkAction(new actions.SnsAction(alerts.topic));
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    "CDK's LambdaInvoke grants the two drill functions with their versions (<function ARN>:*), nothing else",
    [{ regex: "/^Resource::<Drill(Database)?[0-9A-F]{8}\\.Arn>:\\*$/" }],
  );
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    'X-Ray and CloudWatch Logs delivery have no resource-level permissions: Resource "*"',
    ["Resource::*"],
  );
  acceptFinding(
    machine,
    "AwsSolutions-SF1",
    "Logs ERROR events without execution data on purpose: the execution history holds each state",
  );
  stack.addOutputs({ DrillStateMachineArn: machine.stateMachineArn });
  return { drillMachine: machine };
}
