import { restoreJobConfig } from "@gitpod-dr/core/config/restore";
import { targetCluster } from "@gitpod-dr/core/restore/build-plan";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import { type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { catalogAccess, grantCatalog } from "./Catalog.ts";
import { acceptFinding, policyOf } from "./constructs/nag.ts";
import { stageConfig } from "./context.ts";
import { restoreExecutionAlerts } from "./restore/alerts.ts";
import { restoreDefinition } from "./restore/definition.ts";
import { RESTORE_KUBERNETES_GROUP, type RestoreCluster, restoreFunctions } from "./restore/functions.ts";

/** What the console shows as the state machine's Comment: the input, documented with examples. */
export const RESTORE_COMMENT = [
  "gitpod-dr restore. Start with {} to restore the newest good copy of every configured tier into the primary region.",
  'Input (all optional): restoreId (default: the execution name; the same id again adopts what exists), target ("primary" | "dr"),',
  'dbSnapshot ("latest" | snapshot id), veleroBackup ("latest" | backup name), tiers (["database","images","application"]),',
  "targetDbIdentifier, dryRun (publish the plan, change nothing), allowPartialRestore (accept a PartiallyFailed Velero restore).",
  'Examples: {"target":"dr"} when the primary region is lost; {"dbSnapshot":"gitpod-dr-gitpod-2026-11-26-0300","tiers":["database"]} after bad data; {"dryRun":true}.',
].join(" ");

/** The state machine's name: fixed, so that the dashboards can show both regions' executions by ARN. */
export const restoreMachineName = (stage: string) => `gitpod-dr-${stage}-restore`;

/**
 * The restore state machine and its task functions (present when the stage configures `restore`):
 * the functions and their IAM (restore/functions.ts), the graph (restore/definition.ts), and the
 * alerts for executions that end without their own failure message (restore/alerts.ts).
 */
export function Restore({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const restore = config.restore;
  if (!restore) return {};
  const alerts = use(Alerts);
  // The plan reads the newest complete recovery point for `{}`.
  const catalog = catalogAccess(stack, app.stage, config, ["dynamodb:Query"]);
  const jobConfig = restoreJobConfig(app.stage, stack.account, config, catalog.config);
  const clusters: RestoreCluster[] = (["primary", "dr"] as const).flatMap((t) => {
    const name = targetCluster(jobConfig, t);
    const region = t === "primary" ? config.regions.primary : config.regions.dr;
    return name && restore.targets[t]
      ? [
          {
            target: t,
            name,
            region,
            arn: `arn:${stack.partition}:eks:${region}:${stack.account}:cluster/${name}`,
          },
        ]
      : [];
  });

  const { functions, kubeRoles } = restoreFunctions(stack, { config, restore, jobConfig, clusters, alerts });
  grantCatalog(stack, { function: functions.plan.fn }, catalog);

  const machineLogs = new logs.LogGroup(stack, "RestoreMachineLogs", {
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const machine = new sfn.StateMachine(stack, "RestoreMachine", {
    stateMachineName: restoreMachineName(app.stage),
    comment: RESTORE_COMMENT,
    definitionBody: sfn.DefinitionBody.fromChainable(restoreDefinition(stack, { restore, functions })),
    timeout: Duration.minutes(restore.timeoutMinutes),
    tracingEnabled: true,
    logs: { destination: machineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
  });
  restoreExecutionAlerts(stack, { machine, topic: alerts.topic });
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    "CDK's LambdaInvoke grants the five task functions with their versions (<function ARN>:*), nothing else",
    [{ regex: "/^Resource::<Restore(Plan|Database|Image|Application|Notify)[0-9A-F]{8}\\.Arn>:\\*$/" }],
  );
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    'X-Ray trace writes and CloudWatch Logs delivery setup have no resource-level permissions: Resource "*"',
    ["Resource::*"],
  );
  acceptFinding(
    machine,
    "AwsSolutions-SF1",
    "Logs ERROR events without execution data on purpose: every failure is logged, the execution history holds each state",
  );

  const consoleUrl = `https://${stack.region}.console.aws.amazon.com/states/home?region=${stack.region}#/statemachines/view/${machine.stateMachineArn}`;
  stack.addOutputs({ RestoreStateMachineArn: machine.stateMachineArn, RestoreConsoleUrl: consoleUrl });
  // A cluster in another region cannot be reached from this stack: its access entries are commands to run.
  for (const c of clusters.filter((c) => c.region !== stack.region)) {
    new CfnOutput(stack, `RestoreAccessEntries${c.target}`, {
      description: `Run once: map the restore functions' roles to ${RESTORE_KUBERNETES_GROUP} in ${c.name} (${c.region})`,
      value: kubeRoles
        .map(
          (arn) =>
            `aws eks create-access-entry --region ${c.region} --cluster-name ${c.name} --principal-arn ${arn} --kubernetes-groups ${RESTORE_KUBERNETES_GROUP}`,
        )
        .join(" && "),
    });
  }
  return { restoreMachine: machine };
}
