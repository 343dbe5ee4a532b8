import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import type * as sns from "aws-cdk-lib/aws-sns";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Stack } from "sst/constructs";
import { type catalogAccess, grantCatalog } from "../Catalog.ts";
import { statement } from "../constructs/iam.ts";
import { jobFunction } from "../constructs/JobFunction.ts";
import { acceptFinding, acceptWildcards, policyOf, resourcesOf } from "../constructs/nag.ts";
import type { RestoreFunction } from "../restore/functions.ts";
import { $, lambdaTask, obj } from "../restore/steps.ts";

/** The only prefix the workflow's files live under (core `workKeys`), and the ResultWriter's below it. */
export const WORK_PREFIX = "image-sync/";

/**
 * CDK's ResultWriter grants the machine s3:PutObject/GetObject on the whole bucket (`<bucket>/*`; its
 * V2 with a bucket path on "*"): this one grants the same actions on the run files' prefix only.
 */
class PrefixResultWriter extends sfn.ResultWriter {
  constructor(
    private readonly objects: string,
    props: sfn.ResultWriterProps,
  ) {
    super(props);
  }

  override providePolicyStatements(): iam.PolicyStatement[] {
    return [
      statement(
        "WriteTheMapResults",
        ["s3:PutObject", "s3:GetObject", "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
        [this.objects],
      ),
    ];
  }
}

export interface ImageSyncWorkflowProps {
  /** The image job's run-time configuration (GITPOD_DR_CONFIG of the three functions; Summarize's with the catalog). */
  readonly config: object;
  /** The recovery-point catalog, where Summarize records a complete run. */
  readonly catalog: ReturnType<typeof catalogAccess>;
  readonly fanOut: {
    readonly maxConcurrency: number;
    readonly imagesPerChild: number;
    readonly toleratedFailurePercentage: number;
  };
  readonly schedule: string;
  readonly alerts: { readonly topic: sns.ITopic; readonly key: kms.IKey };
  /** The image tier's registry and ECR statements (Plan and the children need them). */
  readonly registryPolicy: readonly iam.PolicyStatement[];
  readonly wildcardReason: string;
}

/**
 * The image sync as a Step Functions workflow for big registries (issue 18 §3): Plan → a Distributed Map
 * over the work list in S3 (children copying `imagesPerChild` images each, at most `maxConcurrency` at
 * once), or one copy task when Plan found no more than the configured threshold to copy → Summarize,
 * which reports and fails the execution on any failure. The work bucket is private,
 * encrypted, TLS-only, and forgets a run's files after 14 days.
 */
export function imageSyncWorkflow(stack: Stack, props: ImageSyncWorkflowProps) {
  const { topic, key } = props.alerts;
  const bucket = new s3.Bucket(stack, "ImageSyncWork", {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    lifecycleRules: [{ prefix: WORK_PREFIX, expiration: Duration.days(14) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acceptFinding(
    bucket,
    "AwsSolutions-S1",
    "Work files of the image sync (lists of images to copy, their outcomes), written and read only by its own roles; they expire after 14 days",
  );
  const workObjects = bucket.arnForObjects(`${WORK_PREFIX}*`);

  const fn = (
    id: string,
    handler: string,
    description: string,
    timeoutSeconds: number,
    memorySize: number,
    config: object = props.config,
  ) => {
    const f: RestoreFunction = {
      fn: jobFunction(stack, id, {
        description: `image sync — ${description}`,
        handler,
        timeout: timeoutSeconds,
        memorySize,
        logRetention: logs.RetentionDays.THREE_MONTHS,
        config,
        topic,
      }).fn,
      timeoutSeconds,
    };
    return f;
  };
  const plan = fn("ImageSyncPlan", "image-plan", "plan the copies", 900, 1024);
  const copy = fn("ImageSyncCopy", "image-copy", "copy a batch of images", 900, 1024);
  const summarize = fn("ImageSyncSummarize", "image-summarize", "report and record the run", 300, 512, {
    ...props.config,
    catalog: props.catalog.config,
  });
  grantCatalog(stack, { function: summarize.fn }, props.catalog);
  for (const f of [plan, copy]) {
    for (const s of props.registryPolicy) f.fn.addToRolePolicy(s);
    acceptWildcards(stack, f.fn, props.wildcardReason, resourcesOf(props.registryPolicy));
  }
  plan.fn.addToRolePolicy(statement("WriteTheWorkList", ["s3:PutObject"], [workObjects]));
  summarize.fn.addToRolePolicy(statement("ReadTheRunsFiles", ["s3:GetObject"], [workObjects]));
  summarize.fn.addToRolePolicy(statement("PublishFailureNotifications", ["sns:Publish"], [topic.topicArn]));
  summarize.fn.addToRolePolicy(
    statement("EncryptNotificationsWithTheTopicKey", ["kms:Decrypt", "kms:GenerateDataKey"], [key.keyArn]),
  );
  for (const f of [plan, summarize]) {
    acceptFinding(
      policyOf(f.fn),
      "AwsSolutions-IAM5",
      "The run's own files, under the work bucket's image-sync/ prefix (named by the execution at run time)",
      [{ regex: "/^Resource::<ImageSyncWork[0-9A-F]{8}\\.Arn>\\/image-sync\\/\\*$/" }],
    );
  }

  const planStep = lambdaTask(stack, {
    name: "Plan",
    fn: plan,
    payload: { bucket: bucket.bucketName, runId: $("$$.Execution.Name") },
    resultPath: "$.plan",
  });
  const summarizeStep = lambdaTask(stack, {
    name: "Summarize",
    fn: summarize,
    payload: { plan: obj("$.plan"), results: obj("$.results"), startedAt: $("$$.Execution.StartTime") },
  });
  const summarizeFailure = lambdaTask(stack, {
    name: "Summarize failure",
    fn: summarize,
    // After a failed Plan there is no plan: Summarize then reports the error alone.
    payload: { "plan.$": "$.plan", error: obj("$.error"), startedAt: $("$$.Execution.StartTime") },
  });
  const copyStep = lambdaTask(stack, { name: "Copy images", fn: copy, payload: { Items: obj("$.Items") } });
  const map = new sfn.DistributedMap(stack, "Copy in parallel", {
    stateName: "Copy in parallel",
    itemReader: new sfn.S3JsonItemReader({ bucketNamePath: $("$.plan.bucket"), key: $("$.plan.itemsKey") }),
    itemBatcher: new sfn.ItemBatcher({ maxItemsPerBatch: props.fanOut.imagesPerChild }),
    maxConcurrency: props.fanOut.maxConcurrency,
    toleratedFailurePercentage: props.fanOut.toleratedFailurePercentage,
    resultWriter: new PrefixResultWriter(workObjects, { bucket, prefix: `${WORK_PREFIX}results` }),
    resultPath: "$.results",
    mapExecutionType: sfn.StateMachineType.STANDARD,
  });
  map.itemProcessor(copyStep);
  map.addCatch(summarizeFailure, { errors: ["States.ALL"], resultPath: "$.error" });
  planStep.addCatch(summarizeFailure, { errors: ["States.ALL"], resultPath: "$.error" });
  // At or below the threshold (Plan's `route`, config images.fanOut.threshold): the same function, once,
  // on the list Plan returned; its result handed to Summarize as the one element of the results.
  const copyOnce = lambdaTask(stack, {
    name: "Copy in one task",
    fn: copy,
    payload: { Items: obj("$.plan.Items") },
    resultPath: "$.copied",
  });
  copyOnce.addCatch(summarizeFailure, { errors: ["States.ALL"], resultPath: "$.error" });
  const asResults = new sfn.Pass(stack, "Results of the one task", {
    stateName: "Results of the one task",
    parameters: { "plan.$": "$.plan", "results.$": "States.Array($.copied)" },
  });
  const route = new sfn.Choice(stack, "Which path?", { stateName: "Which path?" })
    .when(sfn.Condition.stringEquals("$.plan.route", "map"), map.next(summarizeStep))
    .when(sfn.Condition.stringEquals("$.plan.route", "task"), copyOnce.next(asResults).next(summarizeStep))
    .otherwise(
      new sfn.Pass(stack, "Nothing to copy", {
        stateName: "Nothing to copy",
        result: sfn.Result.fromArray([]),
        resultPath: "$.results",
      }).next(summarizeStep),
    );

  const machineLogs = new logs.LogGroup(stack, "ImageSyncMachineLogs", {
    retention: logs.RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const machine = new sfn.StateMachine(stack, "ImageSyncMachine", {
    stateMachineName: `gitpod-dr-${stack.stage}-image-sync`,
    comment: "gitpod-dr image sync: Plan, copy (one task, or in parallel in a Distributed Map), Summarize",
    definitionBody: sfn.DefinitionBody.fromChainable(planStep.next(route)),
    timeout: Duration.hours(23),
    tracingEnabled: true,
    logs: { destination: machineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
  });
  // The Map reads the work list by a path (so CDK adds no bucket-wide grant): scoped here to the prefix.
  machine.addToRolePolicy(statement("ReadTheWorkList", ["s3:GetObject"], [workObjects]));
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    "The work bucket's image-sync/ prefix (the run's files), the three functions with their versions, the Map's own child executions",
    [
      { regex: "/^Resource::<ImageSyncWork[0-9A-F]{8}\\.Arn>/.*$/" },
      { regex: "/^Resource::<ImageSync(Plan|Copy|Summarize)[0-9A-F]{8}\\.Arn>:\\*$/" },
      { regex: "/^Resource::arn:<AWS::Partition>:states:.*$/" },
    ],
  );
  acceptFinding(
    policyOf(machine),
    "AwsSolutions-IAM5",
    'X-Ray trace writes and CloudWatch Logs delivery setup have no resource-level permissions: Resource "*"',
    ["Resource::*"],
  );
  acceptFinding(
    machine.node.findChild("DistributedMapPolicy"),
    "AwsSolutions-IAM5",
    "CDK's grant for the Distributed Map to start, describe and stop its own child executions (execution:<this machine>:*)",
    [{ regex: "/^Resource::arn:<AWS::Partition>:states:.*:execution:.*$/" }],
  );
  acceptFinding(
    machine,
    "AwsSolutions-SF1",
    "Logs ERROR events without execution data on purpose: every failure is logged, the execution history holds each state",
  );

  const rule = new events.Rule(stack, "ImageSyncSchedule", {
    description: `gitpod-dr ${stack.stage}: image sync workflow`,
    schedule: events.Schedule.expression(props.schedule),
  });
  rule.addTarget(new targets.SfnStateMachine(machine, { retryAttempts: 2, maxEventAge: Duration.hours(1) }));
  stack.addOutputs({ ImageSyncStateMachineArn: machine.stateMachineArn });
  return { machine, bucket, functions: { plan, copy, summarize } };
}
