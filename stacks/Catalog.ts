import { type CatalogConfig, catalogConfig, rpoTargets } from "@gitpod-dr/core/config/catalog";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { watchdogJobConfig } from "@gitpod-dr/core/config/watchdog";
import { METRIC_NAMESPACE, RECOVERY_POINT_AGE } from "@gitpod-dr/core/metrics";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import { type Function as SstFunction, type Stack, type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { rpoAlarmDescription } from "./catalog/alarms.ts";
import { statement } from "./constructs/iam.ts";
import { acceptWildcards } from "./constructs/nag.ts";
import { ScheduledJob } from "./constructs/ScheduledJob.ts";
import { stageConfig } from "./context.ts";

/** The table's actions the jobs and the watchdog use: record (PutItem), read newest (Query), one item (GetItem). */
const TABLE_ACTIONS = ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"];
/** What DynamoDB asks KMS on the caller's behalf for a table encrypted with a customer managed key. */
const KEY_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"];

/**
 * The catalog's access for a job in the primary region: its run-time `catalog` configuration and the
 * statements for its role. The table has a deterministic name in the DR region, so its ARN is known
 * without a cross-region reference; its key's id is not, so the key statement names the DR region's keys
 * and holds only when DynamoDB uses one for this table (kms:ViaService, the table name in the
 * encryption context DynamoDB sends).
 */
export function catalogAccess(
  stack: Stack,
  stage: string,
  config: StageConfig,
  actions: readonly string[] = TABLE_ACTIONS,
): { config: CatalogConfig; statements: iam.PolicyStatement[]; anyDrKey: string } {
  const catalog = catalogConfig(stage, config);
  const dr = config.regions.dr;
  const table = `arn:${stack.partition}:dynamodb:${dr}:${stack.account}:table/${catalog.tableName}`;
  const anyDrKey = `arn:${stack.partition}:kms:${dr}:${stack.account}:key/*`;
  return {
    config: catalog,
    anyDrKey,
    statements: [
      statement(
        actions.includes("dynamodb:PutItem")
          ? "RecordAndReadTheRecoveryPointCatalog"
          : "ReadTheRecoveryPointCatalog",
        [...actions],
        [table],
      ),
      statement(
        "UseTheCatalogKeyThroughDynamoDb",
        actions.includes("dynamodb:PutItem") ? KEY_ACTIONS : ["kms:Decrypt"],
        [anyDrKey],
        {
          StringEquals: {
            "kms:ViaService": `dynamodb.${dr}.amazonaws.com`,
            "kms:EncryptionContext:aws:dynamodb:tableName": catalog.tableName,
          },
        },
      ),
    ],
  };
}

/**
 * Lets a primary-region job record in the catalog: the statements of `catalogAccess`, and the reason its
 * key statement may name the DR region's keys (cdk-nag AwsSolutions-IAM5).
 */
export function grantCatalog(
  stack: Stack,
  job: { readonly function: SstFunction },
  access: ReturnType<typeof catalogAccess>,
): void {
  for (const s of access.statements) job.function.addToRolePolicy(s);
  acceptWildcards(
    stack,
    job.function,
    "The catalog's key lives in the DR region's deployment (no cross-region reference): used only through DynamoDB (kms:ViaService) for the catalog table (its name in the encryption context)",
    [access.anyDrKey],
  );
}

/**
 * The recovery-point catalog, in the DR region's deployment (it must survive the loss of the primary
 * region): the table, its key, the RPO watchdog (every 15 minutes) and an alarm per tier on the
 * watchdog's RecoveryPointAge, with missing data treated as breaching (the watchdog stopped: it fires).
 */
export function Catalog({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const alerts = use(Alerts);
  const catalog = catalogConfig(app.stage, config);

  const key = new kms.Key(stack, "CatalogKey", {
    description: `gitpod-dr ${app.stage}: encrypts the recovery-point catalog`,
    enableKeyRotation: true,
    pendingWindow: Duration.days(30),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const table = new dynamodb.Table(stack, "CatalogTable", {
    tableName: catalog.tableName,
    partitionKey: { name: "pk", type: dynamodb.AttributeType.STRING },
    sortKey: { name: "sk", type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });

  const db = config.database;
  const watchdog = new ScheduledJob(stack, "RpoWatchdog", {
    description: "RPO watchdog: publishes each tier's RecoveryPointAge from the catalog",
    handler: "rpo-watchdog",
    timeout: "1 minute",
    memorySize: 256,
    config: watchdogJobConfig(app.stage, config, catalog),
    schedule: "rate(15 minutes)",
    scheduleDescription: "RPO watchdog",
    // Not retried: the next run is 15 minutes away, and a run that fails publishes nothing, which the
    // alarms count as breaching.
    retryAttempts: 0,
    alerts,
    policy: [
      statement("ReadAndConfirmTheCatalog", TABLE_ACTIONS, [table.tableArn]),
      statement("UseTheCatalogKey", KEY_ACTIONS, [key.keyArn]),
      // Describing one snapshot by identifier: as the restore's plan (nag.test.ts pins it), on "*":
      // which ARN RDS authorizes it on cannot be checked offline, and a wrong guess stops the watchdog.
      statement(
        "CheckTheDrCopies",
        [
          ...(db.kind !== "cluster" ? ["rds:DescribeDBSnapshots"] : []),
          ...(db.kind !== "instance" ? ["rds:DescribeDBClusterSnapshots"] : []),
        ],
        ["*"],
      ),
      // PutMetricData has no resource level: held to our namespace.
      statement("PublishRecoveryPointAges", ["cloudwatch:PutMetricData"], ["*"], {
        StringEquals: { "cloudwatch:namespace": METRIC_NAMESPACE },
      }),
    ],
  });

  const targets = rpoTargets(config);
  const alarms = Object.entries(targets).map(([tier, ms]) => {
    const alarm = new cloudwatch.Alarm(stack, `Rpo${tier[0]?.toUpperCase()}${tier.slice(1)}Alarm`, {
      alarmName: `gitpod-dr-${app.stage}-rpo-${tier}`,
      alarmDescription: rpoAlarmDescription({ stage: app.stage, tier, targetMs: ms, config }),
      metric: new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: RECOVERY_POINT_AGE,
        dimensionsMap: { Stage: app.stage, Tier: tier },
        statistic: "Maximum",
        // The watchdog publishes every 15 minutes: every 30-minute period holds two values.
        period: Duration.minutes(30),
      }),
      threshold: Math.round(ms / 1000),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      // No value in a period: the watchdog stopped, or the tier has no copy at all.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(alerts.topic));
    alarm.addOkAction(new SnsAction(alerts.topic));
    return alarm;
  });

  new CfnOutput(stack, "CatalogTableName", { value: table.tableName });
  return { catalogTable: table, catalogKey: key, rpoWatchdogFunction: watchdog.function, rpoAlarms: alarms };
}
