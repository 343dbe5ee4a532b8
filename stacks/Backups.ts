import { rdsJobConfig } from "@gitpod-dr/core/config/rds";
import { snapshotPrefix, TAG_CREATED_BY, TAG_CREATED_BY_VALUE, TAG_SOURCE } from "@gitpod-dr/core/rds/naming";
import { Duration, RemovalPolicy, Token } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import { Function as SstFunction, type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { stageConfig } from "./context.ts";

/** The scheduled backup jobs. For now: the RDS snapshot job. */
export function Backups({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { topic, key: topicKey } = use(Alerts);
  const { primary, dr } = config.regions;
  const partition = stack.partition;
  const account = stack.account;
  const db = config.database.identifier;
  const kind = config.database.kind;
  const rdsArn = (region: string, type: string, name: string) =>
    `arn:${partition}:rds:${region}:${account}:${type}:${name}`;
  const prefix = `${snapshotPrefix(db)}*`;

  const logGroup = new logs.LogGroup(stack, "RdsSnapshotLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const fn = new SstFunction(stack, "RdsSnapshot", {
    description: `gitpod-dr ${app.stage}: RDS snapshot of ${db}, copies to ${dr}, retention`,
    handler: "packages/functions/src/rds-snapshot.handler",
    timeout: "5 minutes",
    memorySize: 512,
    logGroup,
    environment: {
      GITPOD_DR_STAGE: app.stage,
      GITPOD_DR_TOPIC_ARN: topic.topicArn,
      GITPOD_DR_CONFIG: JSON.stringify(rdsJobConfig(app.stage, config)),
    },
  });
  // A failed invocation is retried once by Lambda (the job is idempotent per window); each failed
  // attempt publishes its own notification. Overlapping runs (a retry meeting the next schedule, a CLI
  // run) are safe by construction, so no reserved concurrency: reserving it fails deployments in
  // accounts at the minimum unreserved concurrency (new accounts have a limit of 10).
  fn.configureAsyncInvoke({ retryAttempts: 1, maxEventAge: Duration.hours(1) });

  const statements: iam.PolicyStatement[] = [];
  const allow = (sid: string, actions: string[], resources: string[], conditions?: Record<string, unknown>) =>
    statements.push(
      new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
    );

  // Tags only as part of creating or copying one of ours: the request must carry the tool's tags, so
  // the role cannot tag somebody else's snapshot into one it may delete.
  const ownTags = {
    StringEquals: {
      [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE,
      [`aws:RequestTag/${TAG_SOURCE}`]: db,
    },
  };

  // The two RDS API families: the same statements, with each family's actions and ARN resource types.
  const families = [
    {
      use: kind !== "cluster",
      name: "Db",
      describe: "rds:DescribeDBInstances",
      database: "db",
      snapshot: "snapshot",
      action: (verb: string) => `rds:${verb}DBSnapshot`,
    },
    {
      use: kind !== "instance",
      name: "Cluster",
      describe: "rds:DescribeDBClusters",
      database: "cluster",
      snapshot: "cluster-snapshot",
      action: (verb: string) => `rds:${verb}DBClusterSnapshot`,
    },
  ];
  for (const f of families.filter((family) => family.use)) {
    const snapshots = [rdsArn(primary, f.snapshot, prefix), rdsArn(dr, f.snapshot, prefix)];
    allow(`Describe${f.name}TheDatabase`, [f.describe], [rdsArn(primary, f.database, db)]);
    // Listing every manual snapshot of a region (to page through them and to count copies in
    // progress, which need not be ours) names no snapshot: it is authorized against "*".
    allow(`List${f.name}ManualSnapshots`, [`${f.action("Describe")}s`], ["*"]);
    allow(
      `Create${f.name}Snapshots`,
      [f.action("Create")],
      [rdsArn(primary, f.database, db), snapshots[0] as string],
    );
    // A cross-region copy is authorized on both ends: the source (through the presigned URL) and the target.
    allow(`Copy${f.name}SnapshotsToTheDrRegion`, [f.action("Copy")], snapshots);
    allow(`Tag${f.name}SnapshotsItCreates`, ["rds:AddTagsToResource"], snapshots, ownTags);
    allow(`Delete${f.name}SnapshotsTaggedByGitpodDr`, [f.action("Delete")], snapshots, {
      StringEquals: {
        [`rds:${f.snapshot}-tag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE,
        [`rds:${f.snapshot}-tag/${TAG_SOURCE}`]: db,
      },
    });
  }
  // RDS uses the caller's grants to re-encrypt a copy with the DR key.
  const keys = [config.dr.kmsKeyArn, ...(config.database.kmsKeyArn ? [config.database.kmsKeyArn] : [])];
  allow("DescribeTheKeysOfCopies", ["kms:DescribeKey"], keys);
  // RDS creates the grant it needs on the caller's behalf; no grant for anything else.
  allow("LetRdsUseTheKeysForCopies", ["kms:CreateGrant"], keys, {
    Bool: { "kms:GrantIsForAWSResource": "true" },
  });
  const drKeyAccount = config.dr.kmsKeyArn.split(":")[4];
  if (Token.isUnresolved(account) || drKeyAccount !== account) {
    // Only for a DR key in another account: the job asks KMS whether a snapshot's key is the AWS managed
    // key aws/rds (which cannot be shared across accounts). The snapshot's key is not known at deploy time.
    allow(
      "RecogniseTheAwsManagedRdsKey",
      ["kms:DescribeKey"],
      [`arn:${partition}:kms:${primary}:${account}:key/*`],
    );
  }
  allow("PublishFailureNotifications", ["sns:Publish"], [topic.topicArn]);
  // The topic is encrypted: publishing encrypts with its key (SNS asks KMS on the caller's behalf).
  allow("EncryptNotificationsWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [topicKey.keyArn]);
  for (const statement of statements) fn.addToRolePolicy(statement);

  const rule = new events.Rule(stack, "RdsSnapshotSchedule", {
    description: `gitpod-dr ${app.stage}: RDS snapshot job`,
    schedule: events.Schedule.expression(config.schedules.rdsSnapshot),
  });
  rule.addTarget(new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(1) }));

  stack.addOutputs({ RdsSnapshotFunction: fn.functionName });
  return { rdsSnapshotFunction: fn };
}
