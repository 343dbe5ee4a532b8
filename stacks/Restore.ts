import { type RestoreJobConfig, restoreJobConfigInput, restoreJobConfigSchema } from "@gitpod-dr/core/config";
import { ecrRegistry, parseReference } from "@gitpod-dr/core/registry/reference";
import { targetCluster } from "@gitpod-dr/core/restore/build-plan";
import { NOTIFIED_MARK, STATES, TIER_FAILED } from "@gitpod-dr/core/restore/states";
import { TAG_CREATED_BY, TAG_CREATED_BY_VALUE } from "@gitpod-dr/core/tags";
import { CfnOutput, Duration, RemovalPolicy } from "aws-cdk-lib";
import * as eks from "aws-cdk-lib/aws-eks";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Function as SstFunction, type StackContext, use } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { stageConfig } from "./context.ts";

/** The Kubernetes group deploy/rbac-restore.yaml grants; the restore functions' roles map to it. */
export const RESTORE_KUBERNETES_GROUP = "gitpod-dr-restore";

/** What the console shows as the state machine's Comment: the input, documented with examples. */
export const RESTORE_COMMENT = [
  "gitpod-dr restore. Start with {} to restore the newest good copy of every configured tier into the primary region.",
  'Input (all optional): restoreId (default: the execution name; the same id again adopts what exists), target ("primary" | "dr"),',
  'dbSnapshot ("latest" | snapshot id), veleroBackup ("latest" | backup name), tiers (["database","images","application"]),',
  "targetDbIdentifier, dryRun (publish the plan, change nothing), allowPartialRestore (accept a PartiallyFailed Velero restore).",
  'Examples: {"target":"dr"} when the primary region is lost; {"dbSnapshot":"gitpod-dr-gitpod-2026-11-26-0300","tiers":["database"]} after bad data; {"dryRun":true}.',
].join(" ");

/** The restore state machine and its task functions (present when the stage configures `restore`). */
export function Restore({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const restore = config.restore;
  if (!restore) return {};
  const { topic, key: topicKey } = use(Alerts);
  const partition = stack.partition;
  const account = stack.account;
  const regions = [config.regions.primary, config.regions.dr];
  const jobConfig: RestoreJobConfig = restoreJobConfigSchema.parse(
    restoreJobConfigInput(app.stage, account, config),
  );
  const rdsArn = (region: string, type: string, name: string) =>
    `arn:${partition}:rds:${region}:${account}:${type}:${name}`;
  const inRegions = (type: string, name: string) => regions.map((r) => rdsArn(r, type, name));
  const clusters = (["primary", "dr"] as const).flatMap((t) => {
    const name = targetCluster(jobConfig, t);
    const region = t === "primary" ? config.regions.primary : config.regions.dr;
    return name && restore.targets[t]
      ? [{ target: t, name, region, arn: `arn:${partition}:eks:${region}:${account}:cluster/${name}` }]
      : [];
  });

  const environment = {
    GITPOD_DR_STAGE: app.stage,
    GITPOD_DR_TOPIC_ARN: topic.topicArn,
    GITPOD_DR_CONFIG: JSON.stringify(jobConfig),
  };
  const vpc = config.application?.vpc;
  const makeFunction = (
    id: string,
    handler: string,
    description: string,
    timeoutSeconds: number,
    memorySize = 512,
    inVpc = false,
  ) => {
    const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
      retention: logs.RetentionDays.ONE_YEAR,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const fn = new SstFunction(stack, id, {
      description: `gitpod-dr ${app.stage}: restore — ${description}`,
      handler: `packages/functions/src/${handler}.handler`,
      timeout: timeoutSeconds,
      memorySize,
      logGroup,
      environment,
    });
    if (inVpc && vpc) {
      // A private cluster endpoint (and kotsadm behind an internal address) are reachable only from the VPC.
      (fn.node.defaultChild as lambda.CfnFunction).vpcConfig = {
        subnetIds: vpc.subnetIds,
        securityGroupIds: vpc.securityGroupIds,
      };
      fn.role?.addManagedPolicy(
        iam.ManagedPolicy.fromAwsManagedPolicyName("service-role/AWSLambdaVPCAccessExecutionRole"),
      );
    }
    return { fn, timeoutSeconds };
  };
  const allow = (
    fn: SstFunction,
    sid: string,
    actions: string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ) =>
    fn.addToRolePolicy(
      new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
    );

  const plan = makeFunction(
    "RestorePlan",
    "restore-plan",
    "validate input and build the plan",
    120,
    512,
    true,
  );
  const database = makeFunction("RestoreDatabase", "restore-database", "restore and check the database", 60);
  const image = makeFunction(
    "RestoreImage",
    "restore-image",
    "ensure one image in the target registry",
    900,
    1024,
  );
  const application = makeFunction(
    "RestoreApplication",
    "restore-application",
    "Velero restore, point, redeploy, verify",
    120,
    512,
    true,
  );
  const notify = makeFunction(
    "RestoreNotify",
    "restore-notify",
    "plan, success and failure messages",
    60,
    512,
    true,
  );

  // --- IAM: each function has what its steps call, no more. ---
  const subnetGroups = (["primary", "dr"] as const).flatMap((t) => {
    const target = restore.targets[t];
    const region = t === "primary" ? config.regions.primary : config.regions.dr;
    return target ? [rdsArn(region, "subgrp", target.database.subnetGroupName)] : [];
  });
  // Validate: snapshots (listing names no snapshot: "*"), whether the target identifier is taken, the subnet group.
  allow(plan.fn, "ListSnapshots", ["rds:DescribeDBSnapshots", "rds:DescribeDBClusterSnapshots"], ["*"]);
  allow(
    plan.fn,
    "DescribeTargetDatabases",
    ["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    [...inRegions("db", "*"), ...inRegions("cluster", "*")],
  );
  allow(plan.fn, "DescribeSubnetGroups", ["rds:DescribeDBSubnetGroups"], subnetGroups);
  // EC2 Describe* actions support no resource-level permissions.
  allow(plan.fn, "DescribeSecurityGroups", ["ec2:DescribeSecurityGroups"], ["*"]);

  // Restore: only into new databases tagged as the tool's (the request must carry the tag).
  const ownTag = { StringEquals: { [`aws:RequestTag/${TAG_CREATED_BY}`]: TAG_CREATED_BY_VALUE } };
  const parameterGroups = [...inRegions("pg", "*"), ...inRegions("cluster-pg", "*"), ...inRegions("og", "*")];
  allow(
    database.fn,
    "RestoreIntoNewTaggedDatabases",
    [
      "rds:RestoreDBInstanceFromDBSnapshot",
      "rds:RestoreDBClusterFromSnapshot",
      "rds:CreateDBInstance",
      "rds:AddTagsToResource",
    ],
    [...inRegions("db", "*"), ...inRegions("cluster", "*")],
    ownTag,
  );
  allow(
    database.fn,
    "RestoreFromSnapshotsIntoTheConfiguredNetwork",
    ["rds:RestoreDBInstanceFromDBSnapshot", "rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance"],
    [
      ...inRegions("snapshot", "*"),
      ...inRegions("cluster-snapshot", "*"),
      ...subnetGroups,
      ...parameterGroups,
    ],
  );
  allow(
    database.fn,
    "DescribeRestoredDatabases",
    ["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    [...inRegions("db", "*"), ...inRegions("cluster", "*")],
  );
  const keys = [
    config.database.kmsKeyArn,
    config.dr.kmsKeyArn,
    restore.targets.primary.database.kmsKeyArn,
    restore.targets.dr?.database.kmsKeyArn,
  ].filter((k): k is string => Boolean(k));
  if (keys.length > 0) {
    // Restoring an encrypted snapshot: RDS uses the key on the caller's behalf.
    allow(
      database.fn,
      "UseTheDatabaseKeysThroughRds",
      ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"],
      [...new Set(keys)],
      {
        StringLike: { "kms:ViaService": regions.map((r) => `rds.${r}.amazonaws.com`) },
      },
    );
  }

  // Images: pull and push exactly the configured repositories in the targets' ECR registries.
  if (restore.images) {
    const repositoryArns = new Set<string>();
    for (const t of ["primary", "dr"] as const) {
      const registry = restore.targets[t]?.registry;
      const ecr = registry ? ecrRegistry(registry) : undefined;
      if (!registry || !ecr) continue;
      for (const ref of restore.images.references) {
        const repo = parseReference(`${registry}/${ref}`).repository;
        repositoryArns.add(`arn:${partition}:ecr:${ecr.region}:${ecr.account}:repository/${repo}`);
      }
    }
    allow(image.fn, "EcrLogin", ["ecr:GetAuthorizationToken"], ["*"]);
    if (repositoryArns.size > 0) {
      allow(
        image.fn,
        "PullAndPushTheApplicationImages",
        [
          "ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer",
          "ecr:BatchCheckLayerAvailability",
          "ecr:InitiateLayerUpload",
          "ecr:UploadLayerPart",
          "ecr:CompleteLayerUpload",
          "ecr:PutImage",
        ],
        [...repositoryArns],
      );
    }
    const secrets = Object.values(jobConfig.registrySecrets);
    if (secrets.length > 0) {
      allow(
        image.fn,
        "ReadRegistryCredentials",
        ["secretsmanager:GetSecretValue"],
        secrets.flatMap((arn) => [arn, `${arn}-??????`]),
      );
    }
  }

  for (const fn of [plan.fn, application.fn, notify.fn]) {
    if (clusters.length > 0)
      allow(
        fn,
        "DescribeTheClusters",
        ["eks:DescribeCluster"],
        clusters.map((c) => c.arn),
      );
  }
  // The S3 check's last verdict (replication lag); GetMetricData supports no resource-level permissions.
  allow(application.fn, "ReadReplicationLag", ["cloudwatch:GetMetricData"], ["*"]);
  // Failure: what this restore already created is looked up, read-only.
  allow(
    notify.fn,
    "DescribeRestoredDatabases",
    ["rds:DescribeDBInstances", "rds:DescribeDBClusters"],
    [...inRegions("db", "*"), ...inRegions("cluster", "*")],
  );
  allow(notify.fn, "PublishRestoreMessages", ["sns:Publish"], [topic.topicArn]);
  allow(
    notify.fn,
    "EncryptMessagesWithTheTopicKey",
    ["kms:Decrypt", "kms:GenerateDataKey"],
    [topicKey.keyArn],
  );

  // The primary cluster maps the functions' roles to the restore group (deploy/rbac-restore.yaml). A
  // cluster in another region cannot be reached from this stack: its access entries are output as commands.
  const kubeRoles = [plan.fn, application.fn, notify.fn].map((fn) => (fn.role as iam.IRole).roleArn);
  for (const c of clusters) {
    if (c.region === stack.region) {
      kubeRoles.forEach((principalArn, i) => {
        new eks.CfnAccessEntry(stack, `RestoreAccessEntry${c.target}${i}`, {
          clusterName: c.name,
          principalArn,
          kubernetesGroups: [RESTORE_KUBERNETES_GROUP],
          type: "STANDARD",
        });
      });
    }
  }

  // --- The state machine. ---
  const lambdaErrors = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
  ];
  const task = (
    name: string,
    f: { fn: SstFunction; timeoutSeconds: number },
    payload: Record<string, unknown>,
    resultPath: string | undefined,
  ) => {
    const t = new tasks.LambdaInvoke(stack, name, {
      stateName: name,
      lambdaFunction: f.fn,
      payloadResponseOnly: true,
      payload: sfn.TaskInput.fromObject(payload),
      ...(resultPath ? { resultPath } : {}),
      taskTimeout: sfn.Timeout.duration(Duration.seconds(f.timeoutSeconds + 30)),
      retryOnServiceExceptions: false,
    });
    t.addRetry({
      errors: lambdaErrors,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    t.addRetry({
      errors: ["Transient"],
      interval: Duration.seconds(10),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    return t;
  };
  const $ = (path: string) => sfn.JsonPath.stringAt(path);
  const obj = (path: string) => sfn.JsonPath.objectAt(path);
  const base = { request: obj("$.request"), plan: obj("$.plan") };

  // Failures: a caught error is recorded under $.failed.<state key>; Notify failure reads it.
  const notifyFailure = task(
    STATES.notifyFailure,
    notify,
    {
      kind: "failure",
      state: obj("$"),
      executionName: $("$$.Execution.Name"),
      executionArn: $("$$.Execution.Id"),
      executionStartedAt: $("$$.Execution.StartTime"),
    },
    "$.notified",
  );
  const failed = new sfn.Fail(stack, STATES.failed, {
    stateName: STATES.failed,
    errorPath: "$.notified.error",
    causePath: "$.notified.cause",
  });
  notifyFailure.addCatch(
    new sfn.Fail(stack, "Restore failed (not notified)", {
      stateName: "Restore failed (not notified)",
      error: "NotificationFailed",
      cause: "The restore failed and its failure message could not be published; see the execution's events",
    }),
    { resultPath: "$.notifyError" },
  );
  notifyFailure.next(failed);
  const catchTo = <T extends sfn.TaskStateBase | sfn.Parallel | sfn.Map>(
    state: T,
    key: keyof typeof STATES,
    next: sfn.IChainable = notifyFailure,
  ) => {
    state.addCatch(next, { errors: ["States.ALL"], resultPath: `$.failed.${key}` });
    return state;
  };
  const branchFailure = (id: string) =>
    new sfn.Pass(stack, `${id} branch failed`, {
      stateName: `${id} branch failed`,
      parameters: { "cause.$": "States.JsonToString($.failed)" },
    }).next(
      new sfn.Fail(stack, `${id} not restored`, {
        stateName: `${id} not restored`,
        error: TIER_FAILED,
        causePath: "$.cause",
      }),
    );

  // 1. Validate input, Build plan.
  const validate = task(
    STATES.validate,
    plan,
    {
      action: "validate",
      input: obj("$$.Execution.Input"),
      executionName: $("$$.Execution.Name"),
      executionStartedAt: $("$$.Execution.StartTime"),
    },
    // The result replaces the state (no ResultPath: the default "$").
    undefined,
  );
  // The raw input may be anything (a string, a list): the caught error replaces it rather than being
  // merged into it, and "Input rejected" records it as Validate's failure.
  validate.addCatch(
    new sfn.Pass(stack, "Input rejected", {
      stateName: "Input rejected",
      parameters: { failed: { "validate.$": "$" } },
    }).next(notifyFailure),
    { errors: ["States.ALL"] },
  );
  const buildPlan = catchTo(
    task(STATES.plan, plan, { action: "plan", request: obj("$.request") }, "$.plan"),
    "plan",
  );
  const notifyPlan = catchTo(
    task(STATES.notifyPlan, notify, { kind: "plan", ...base }, "$.notified"),
    "notifyPlan",
  );

  // 2. The tiers in parallel.
  const dbFail = branchFailure("Database");
  const dbPayload = {
    restoreId: $("$.request.restoreId"),
    region: $("$.plan.region"),
    database: obj("$.plan.database"),
  };
  const restoreDb = catchTo(
    task(STATES.restoreDatabase, database, { action: "start", ...dbPayload }, "$.db"),
    "restoreDatabase",
    dbFail,
  );
  const waitDb = new sfn.Wait(stack, STATES.waitDatabase, {
    stateName: STATES.waitDatabase,
    time: sfn.WaitTime.duration(Duration.seconds(restore.database.pollSeconds)),
  });
  const checkDb = catchTo(
    task(STATES.checkDatabase, database, { action: "check", ...dbPayload, started: obj("$.db") }, "$.db"),
    "checkDatabase",
    dbFail,
  );
  const dbBranch = new sfn.Choice(stack, "Restore the database?", { stateName: "Restore the database?" })
    .when(
      sfn.Condition.isPresent("$.plan.database"),
      restoreDb
        .next(waitDb)
        .next(checkDb)
        .next(
          new sfn.Choice(stack, "Database available?", { stateName: "Database available?" })
            .when(
              sfn.Condition.booleanEquals("$.db.done", true),
              new sfn.Pass(stack, "Database restored", {
                stateName: "Database restored",
                outputPath: "$.db",
              }),
            )
            .otherwise(waitDb),
        ),
    )
    .otherwise(
      new sfn.Pass(stack, "Database not asked for", {
        stateName: "Database not asked for",
        result: sfn.Result.fromObject({ skipped: true }),
      }),
    );

  const imagesFail = branchFailure("Images");
  const ensureImages = new sfn.Map(stack, STATES.ensureImages, {
    stateName: STATES.ensureImages,
    itemsPath: "$.plan.images.items",
    itemSelector: { item: obj("$$.Map.Item.Value") },
    maxConcurrency: restore.images?.concurrency ?? 4,
  });
  ensureImages.itemProcessor(task(STATES.ensureImage, image, { item: obj("$.item") }, undefined));
  catchTo(ensureImages, "ensureImages", imagesFail);
  const imagesBranch = new sfn.Choice(stack, "Restore images?", { stateName: "Restore images?" })
    .when(sfn.Condition.isPresent("$.plan.images"), ensureImages)
    .otherwise(
      new sfn.Pass(stack, "Images not asked for", {
        stateName: "Images not asked for",
        result: sfn.Result.fromObject({ skipped: true }),
      }),
    );

  const appFail = branchFailure("Application");
  const restoreApp = catchTo(
    task(STATES.restoreApplication, application, { action: "start", ...base }, "$.app"),
    "restoreApplication",
    appFail,
  );
  const waitApp = new sfn.Wait(stack, STATES.waitApplication, {
    stateName: STATES.waitApplication,
    time: sfn.WaitTime.duration(Duration.seconds(restore.application.pollSeconds)),
  });
  const checkApp = catchTo(
    task(STATES.checkApplication, application, { action: "check", ...base, started: obj("$.app") }, "$.app"),
    "checkApplication",
    appFail,
  );
  const appBranch = new sfn.Choice(stack, "Restore the application?", {
    stateName: "Restore the application?",
  })
    .when(
      sfn.Condition.isPresent("$.plan.application"),
      restoreApp
        .next(waitApp)
        .next(checkApp)
        .next(
          new sfn.Choice(stack, "Application restored?", { stateName: "Application restored?" })
            .when(
              sfn.Condition.booleanEquals("$.app.done", true),
              new sfn.Pass(stack, "Application restored", {
                stateName: "Application restored",
                outputPath: "$.app",
              }),
            )
            .otherwise(waitApp),
        ),
    )
    .otherwise(
      new sfn.Pass(stack, "Application not asked for", {
        stateName: "Application not asked for",
        result: sfn.Result.fromObject({ skipped: true }),
      }),
    );

  const parallel = new sfn.Parallel(stack, STATES.tiers, {
    stateName: STATES.tiers,
    resultPath: "$.tiers",
    resultSelector: { database: obj("$[0]"), images: obj("$[1]"), application: obj("$[2]") },
  })
    .branch(dbBranch)
    .branch(imagesBranch)
    .branch(appBranch);
  catchTo(parallel, "tiers");

  // 3.-5. Point, redeploy, verify.
  const point = catchTo(
    task(
      STATES.point,
      application,
      { action: "point", ...base, database: obj("$.tiers.database") },
      "$.point",
    ),
    "point",
  );
  const checkConfig = catchTo(
    task(
      STATES.checkConfig,
      application,
      { action: "check-config", ...base, point: obj("$.point") },
      "$.pointed",
    ),
    "checkConfig",
  );
  const waitConfig = new sfn.Wait(stack, STATES.waitConfig, {
    stateName: STATES.waitConfig,
    time: sfn.WaitTime.duration(Duration.seconds(15)),
  });
  const redeploy = catchTo(
    task(STATES.redeploy, application, { action: "redeploy", ...base }, "$.redeploy"),
    "redeploy",
  );
  const waitRollout = new sfn.Wait(stack, STATES.waitRollout, {
    stateName: STATES.waitRollout,
    time: sfn.WaitTime.duration(Duration.seconds(restore.application.pollSeconds)),
  });
  const checkRollout = catchTo(
    task(
      STATES.checkRollout,
      application,
      { action: "check-rollout", ...base, redeploy: obj("$.redeploy") },
      "$.rollout",
    ),
    "checkRollout",
  );
  const verify = catchTo(
    task(STATES.verify, application, { action: "verify", ...base }, "$.verify"),
    "verify",
  );
  const notifySuccess = catchTo(
    task(
      STATES.notifySuccess,
      notify,
      {
        kind: "success",
        state: {
          ...base,
          tiers: obj("$.tiers"),
          point: obj("$.point"),
          pointed: obj("$.pointed"),
          redeploy: obj("$.redeploy"),
          rollout: obj("$.rollout"),
          verify: obj("$.verify"),
        },
      },
      "$.notified",
    ),
    "notifySuccess",
  );
  const notifySuccessTiersOnly = catchTo(
    task(
      "Notify success (tiers only)",
      notify,
      { kind: "success", state: { ...base, tiers: obj("$.tiers") } },
      "$.notified",
    ),
    "notifySuccess",
  );
  const succeed = new sfn.Succeed(stack, STATES.succeeded, { stateName: STATES.succeeded });

  const definition = validate.next(buildPlan).next(
    new sfn.Choice(stack, STATES.dryRun, { stateName: STATES.dryRun })
      .when(
        sfn.Condition.booleanEquals("$.request.dryRun", true),
        notifyPlan.next(new sfn.Succeed(stack, STATES.dryRunDone, { stateName: STATES.dryRunDone })),
      )
      .otherwise(
        parallel.next(
          new sfn.Choice(stack, "Application to update?", { stateName: "Application to update?" })
            .when(
              sfn.Condition.or(
                sfn.Condition.isPresent("$.plan.database"),
                sfn.Condition.isPresent("$.plan.application"),
              ),
              point.next(checkConfig).next(
                new sfn.Choice(stack, "Configuration applied?", { stateName: "Configuration applied?" })
                  .when(
                    sfn.Condition.booleanEquals("$.pointed.done", true),
                    redeploy
                      .next(waitRollout)
                      .next(checkRollout)
                      .next(
                        new sfn.Choice(stack, "Rollout done?", { stateName: "Rollout done?" })
                          .when(
                            sfn.Condition.booleanEquals("$.rollout.done", true),
                            verify.next(notifySuccess).next(succeed),
                          )
                          .otherwise(waitRollout),
                      ),
                  )
                  .otherwise(waitConfig.next(checkConfig)),
              ),
            )
            .otherwise(notifySuccessTiersOnly.next(succeed)),
        ),
      ),
  );

  const machineLogs = new logs.LogGroup(stack, "RestoreMachineLogs", {
    retention: logs.RetentionDays.ONE_YEAR,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const machine = new sfn.StateMachine(stack, "RestoreMachine", {
    stateMachineName: `gitpod-dr-${app.stage}-restore`,
    comment: RESTORE_COMMENT,
    definitionBody: sfn.DefinitionBody.fromChainable(definition),
    timeout: Duration.minutes(restore.timeoutMinutes),
    tracingEnabled: true,
    logs: { destination: machineLogs, level: sfn.LogLevel.ERROR, includeExecutionData: false },
  });

  // An execution that ends without reaching Notify failure (a crash, a timeout, an abort) still alerts.
  // One that Notify failure reported ends with a cause marked "[notified]" and is not reported twice.
  const executionEnded = (id: string, detail: Record<string, unknown>) =>
    new events.Rule(stack, id, {
      description: `gitpod-dr ${app.stage}: restore executions that ended without their own failure message`,
      eventPattern: {
        source: ["aws.states"],
        detailType: ["Step Functions Execution Status Change"],
        detail: { stateMachineArn: [machine.stateMachineArn], ...detail },
      },
      targets: [
        new targets.SnsTopic(topic, {
          message: events.RuleTargetInput.fromText(
            `gitpod-dr ${app.stage}: restore execution ${events.EventField.fromPath("$.detail.name")} ended ${events.EventField.fromPath("$.detail.status")}. Error: ${events.EventField.fromPath("$.detail.error")}. Cause: ${events.EventField.fromPath("$.detail.cause")}. Resume by starting again with the same restoreId. Execution: ${events.EventField.fromPath("$.detail.executionArn")}`,
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

  const consoleUrl = `https://${stack.region}.console.aws.amazon.com/states/home?region=${stack.region}#/statemachines/view/${machine.stateMachineArn}`;
  stack.addOutputs({ RestoreStateMachineArn: machine.stateMachineArn, RestoreConsoleUrl: consoleUrl });
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
