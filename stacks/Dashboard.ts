import { rpoTargets } from "@gitpod-dr/core/config/catalog";
import { METRIC_NAMESPACE } from "@gitpod-dr/core/s3/metrics";
import { Stack as CdkStack, Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import { type StackContext, use } from "sst/constructs";
import { Application } from "./Application.ts";
import { Backups } from "./Backups.ts";
import { stageConfig } from "./context.ts";
import { Images } from "./Images.ts";
import { restoreMachineName } from "./Restore.ts";
import { Storage } from "./Storage.ts";

/** The tiers of the recovery-point metric (the RPO watchdog's `Tier` dimension). */
export const RECOVERY_POINT_TIERS = ["database", "objectStorage", "images", "application"] as const;

/** Each tier's colour: its line and its RPO target's annotation. */
const TIER_COLOURS: Record<(typeof RECOVERY_POINT_TIERS)[number], string> = {
  database: cloudwatch.Color.BLUE,
  objectStorage: cloudwatch.Color.GREEN,
  images: cloudwatch.Color.PURPLE,
  application: cloudwatch.Color.ORANGE,
};

const HOUR = Duration.hours(1);
const DAY = Duration.days(1);

/**
 * The stage's CloudWatch dashboard. In the primary region (`gitpod-dr-<stage>`): recovery-point age per
 * tier, every alarm of the stage in this region, each job's invocations and errors, the image bytes
 * copied, S3 replication latency and backlog, and the restore's executions in both regions. In the DR
 * region's standby (`gitpod-dr-<stage>-standby`; dashboard names are global to the account): what is
 * left to look at when the primary region is down — recovery-point age (the watchdog runs there), the
 * standby's alarms and the restore's executions. Its URL is the output `DashboardUrl`.
 */
export function Dashboard({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const primary = stack.region === config.regions.primary;
  const otherRegion = primary ? config.regions.dr : config.regions.primary;
  const dashboardName = primary ? `gitpod-dr-${app.stage}` : `gitpod-dr-${app.stage}-standby`;
  const dashboard = new cloudwatch.Dashboard(stack, "Dashboard", {
    dashboardName,
    defaultInterval: Duration.days(7),
  });

  const rows: cloudwatch.ConcreteWidget[][] = [
    [
      recoveryPointAge(app.stage, config.regions.dr, rpoTargets(config)),
      new cloudwatch.AlarmStatusWidget({
        title: `Alarms of stage ${app.stage} in ${stack.region} (the description of each says where to look)`,
        alarms: stageAlarms(stack),
        sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        width: 12,
        height: 6,
      }),
    ],
  ];
  if (primary) {
    const images = use(Images) as {
      imageSyncFunction?: lambda.IFunction;
      imageSyncLogGroup?: logs.ILogGroup;
    };
    const jobs: [string, lambda.IFunction | undefined][] = [
      ["RDS snapshot", use(Backups).rdsSnapshotFunction],
      ["S3 replication check", (use(Storage) as { s3CheckFunction?: lambda.IFunction }).s3CheckFunction],
      ["Image sync", images.imageSyncFunction],
      [
        "Velero backup",
        (use(Application) as { veleroBackupFunction?: lambda.IFunction }).veleroBackupFunction,
      ],
    ];
    rows.push(jobs.flatMap(([title, fn]) => (fn ? [jobRuns(title, fn)] : [])));
    rows.push([
      ...(images.imageSyncLogGroup ? [imageBytesCopied(images.imageSyncLogGroup)] : []),
      ...(config.storage ? replication(config.storage.buckets, config.storage.bucketPrefixes) : []),
    ]);
  }
  if (config.restore) {
    const machineArn = (region: string) =>
      `arn:${stack.partition}:states:${region}:${stack.account}:stateMachine:${restoreMachineName(app.stage)}`;
    rows.push([
      restoreExecutions(stack.region, machineArn(stack.region)),
      restoreExecutions(otherRegion, machineArn(otherRegion)),
    ]);
  }
  for (const row of rows.filter((r) => r.length > 0)) {
    // CDK declares IWidget.warnings as optional and its widgets' as `string[] | undefined`, which
    // exactOptionalPropertyTypes refuses: the same objects, only the declarations differ.
    dashboard.addWidgets(...(row as unknown as cloudwatch.IWidget[]));
  }

  const url = `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${dashboardName}`;
  stack.addOutputs({ DashboardUrl: url });
  return { dashboard };
}

/**
 * `RecoveryPointAge` (seconds, by Stage and Tier, published by the RPO watchdog in the DR region), in
 * hours, with each configured tier's RPO target (what its alarm compares with) as a horizontal line.
 */
function recoveryPointAge(
  stage: string,
  region: string,
  targets: ReturnType<typeof rpoTargets>,
): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: `Recovery-point age per tier, hours (${region}, the RPO watchdog's RecoveryPointAge)`,
    region,
    width: 12,
    height: 6,
    left: RECOVERY_POINT_TIERS.map(
      (tier) =>
        new cloudwatch.MathExpression({
          expression: `age_${tier} / 3600`,
          label: tier,
          color: TIER_COLOURS[tier],
          period: Duration.minutes(15),
          usingMetrics: {
            [`age_${tier}`]: new cloudwatch.Metric({
              namespace: METRIC_NAMESPACE,
              metricName: "RecoveryPointAge",
              dimensionsMap: { Stage: stage, Tier: tier },
              statistic: cloudwatch.Stats.MAXIMUM,
              period: Duration.minutes(15),
            }),
          },
        }),
    ),
    leftAnnotations: RECOVERY_POINT_TIERS.flatMap((tier) => {
      const target = targets[tier];
      if (target === undefined) return [];
      const hours = Math.round((target / 3_600_000) * 100) / 100;
      return [{ value: hours, label: `${tier} RPO target (${hours} h)`, color: TIER_COLOURS[tier] }];
    }),
    leftYAxis: { min: 0, label: "hours", showUnits: false },
  });
}

/**
 * Every alarm of the app in this stack's region, by the name it was given (an ARN built from it, so the
 * dashboard refers to no other stack's resource), after the stacks that create them.
 */
function stageAlarms(stack: CdkStack): cloudwatch.IAlarm[] {
  const alarms = stack.node.root.node
    .findAll()
    .filter(
      (c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm && CdkStack.of(c).region === stack.region,
    );
  return alarms.map((alarm, i) => {
    const owner = CdkStack.of(alarm);
    if (owner !== stack) stack.addDependency(owner);
    const name = (alarm.node.defaultChild as cloudwatch.CfnAlarm).alarmName as string;
    const arn = `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:${name}`;
    return cloudwatch.Alarm.fromAlarmArn(stack, `Alarm${i}`, arn);
  });
}

/** A job's last runs: invocations and errors per hour (an error bar is a failed run). */
function jobRuns(title: string, fn: lambda.IFunction): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({
    title: `${title}: runs and failures per hour`,
    width: 6,
    height: 6,
    left: [
      fn.metricInvocations({ period: HOUR, statistic: cloudwatch.Stats.SUM, label: "invocations" }),
      fn.metricErrors({ period: HOUR, statistic: cloudwatch.Stats.SUM, label: "errors", color: "#d62728" }),
    ],
    view: cloudwatch.GraphWidgetView.BAR,
  });
}

/**
 * The image sync publishes no metric: its "Image sync finished" log line carries `bytesMoved`, read here
 * with Logs Insights (billed per GB scanned when the dashboard is viewed; the job logs a few KB a run).
 */
function imageBytesCopied(logGroup: logs.ILogGroup): cloudwatch.LogQueryWidget {
  return new cloudwatch.LogQueryWidget({
    title: "Image sync: MiB copied per day (log line 'Image sync finished')",
    logGroupNames: [logGroup.logGroupName],
    queryLines: [
      "fields @timestamp, bytesMoved",
      'filter message = "Image sync finished"',
      "stats sum(bytesMoved) / 1048576 as MiB by bin(1d)",
    ],
    view: cloudwatch.LogQueryVisualizationType.BAR,
    width: 8,
    height: 6,
  });
}

/**
 * S3's replication metrics of the checked buckets (what core s3/cloudwatch.ts reads; S3 publishes them
 * for rules with replication metrics enabled), found by search because rule ids are not in the stage
 * configuration; with bucket prefixes, every rule of the region. And the check's own canary age.
 */
function replication(buckets: readonly string[], prefixes: readonly string[]): cloudwatch.GraphWidget[] {
  const only =
    prefixes.length === 0 && buckets.length > 0
      ? ` (${buckets.map((b) => `SourceBucket="${b}"`).join(" OR ")})`
      : "";
  const search = (metric: string, label: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="${metric}"${only}', 'Maximum', 300)`,
      label,
      period: Duration.minutes(5),
      usingMetrics: {},
    });
  return [
    new cloudwatch.GraphWidget({
      title: "S3 replication latency, seconds (per rule) and the check's canary age",
      width: 8,
      height: 6,
      left: [
        search("ReplicationLatency", "latency"),
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRIC_NAMESPACE},Bucket} MetricName="SecondsSinceReplicatedCanary"', 'Maximum', 300)`,
          label: "canary age",
          period: Duration.minutes(5),
          usingMetrics: {},
        }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: "S3 replication backlog (per rule)",
      width: 8,
      height: 6,
      left: [search("OperationsPendingReplication", "operations pending")],
      right: [search("BytesPendingReplication", "bytes pending")],
    }),
  ];
}

/** The restore state machine's executions in one region, per day, by how they ended. */
function restoreExecutions(region: string, machineArn: string): cloudwatch.GraphWidget {
  const metric = (metricName: string, label: string, color?: string) =>
    new cloudwatch.Metric({
      namespace: "AWS/States",
      metricName,
      dimensionsMap: { StateMachineArn: machineArn },
      statistic: cloudwatch.Stats.SUM,
      period: DAY,
      region,
      label,
      ...(color ? { color } : {}),
    });
  return new cloudwatch.GraphWidget({
    title: `Restore executions in ${region}, per day`,
    region,
    width: 12,
    height: 6,
    view: cloudwatch.GraphWidgetView.BAR,
    left: [
      metric("ExecutionsStarted", "started"),
      metric("ExecutionsSucceeded", "succeeded", "#2ca02c"),
      metric("ExecutionsFailed", "failed", "#d62728"),
      metric("ExecutionsTimedOut", "timed out", "#ff7f0e"),
      metric("ExecutionsAborted", "aborted", "#7f7f7f"),
    ],
  });
}
