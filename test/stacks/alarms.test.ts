import { Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import type { App } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { arn, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synthApp } from "../../packages/sim/src/synth.ts";

/**
 * "Silence is the worst failure": every function alarmed, every asynchronous invocation with an on-failure
 * destination, every EventBridge target with a retry policy and an alarmed dead-letter queue, the alerts
 * topic and key open to the stage's alarms only, and the dashboard — asserted over every stack of the
 * example stage's two deployments.
 */

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation, read field by field and asserted
type Json = any;
type Resource = { Type: string; Properties: Record<string, Json> };
type Templates = Record<string, Template>;

const STAGE = "alarms";
const PRIMARY = "eu-west-1";
const DR = "eu-central-1";

function templatesOf(app: App): Templates {
  const out: Templates = {};
  for (const child of app.node.children) {
    if (child instanceof Stack) out[child.stackName] = Template.fromStack(child);
  }
  return out;
}

function resources(templates: Templates, type: string): [string, string, Resource][] {
  return Object.entries(templates).flatMap(([stack, t]) =>
    Object.entries(t.findResources(type) as Record<string, Resource>).map(
      ([id, r]) => [stack, id, r] as [string, string, Resource],
    ),
  );
}

/** Our functions: SST's own custom-resource function (deploy time only, reported by CloudFormation) aside. */
const ourFunctions = (templates: Templates) =>
  resources(templates, "AWS::Lambda::Function").filter(([, id]) => !id.startsWith("CustomResourceHandler"));

/** The alerts topic as each stack refers to it: a Ref in the Alerts stack, an import elsewhere. */
function isAlertsTopic(value: unknown): boolean {
  const v = value as Record<string, unknown>;
  const ref = (v.Ref ?? v["Fn::ImportValue"]) as string | undefined;
  return typeof ref === "string" && /AlertsTopic/.test(ref);
}

const kebab = (id: string) => id.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();

/** The logical id a function's resource got from its construct id (`RdsSnapshot1D22E660` → `RdsSnapshot`). */
const constructId = (logicalId: string) => logicalId.replace(/[0-9A-F]{8}$/, "");

/** A CloudFormation string with its tokens written as `<Ref:X>`, `<Import:X>`, `<GetAtt:X.Y>`. */
function flatten(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if (Array.isArray(v["Fn::Join"])) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map(flatten).join(sep);
  }
  if (v.Ref) return `<Ref:${v.Ref}>`;
  if (v["Fn::ImportValue"]) return `<Import:${v["Fn::ImportValue"]}>`;
  if (v["Fn::GetAtt"]) return `<GetAtt:${(v["Fn::GetAtt"] as string[]).join(".")}>`;
  return JSON.stringify(value);
}

function checkFunctionAlarms(templates: Templates, stage: string) {
  const functions = ourFunctions(templates);
  expect(functions.length).toBeGreaterThan(0);
  const alarms = resources(templates, "AWS::CloudWatch::Alarm");
  for (const [stack, id] of functions) {
    for (const metric of ["Errors", "Throttles"]) {
      const found = alarms.filter(
        ([s, , a]) =>
          s === stack &&
          a.Properties.Namespace === "AWS/Lambda" &&
          a.Properties.MetricName === metric &&
          a.Properties.Dimensions?.[0]?.Value?.Ref === id,
      );
      expect(found, `${metric} alarm of ${stack}/${id}`).toHaveLength(1);
      const p = (found[0] as [string, string, Resource])[2].Properties;
      expect(p.AlarmName).toBe(`gitpod-dr-${stage}-${kebab(constructId(id))}-${metric.toLowerCase()}`);
      expect(p).toMatchObject({
        Statistic: "Sum",
        Period: 300,
        EvaluationPeriods: 1,
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
      });
      expect(p.AlarmActions).toHaveLength(1);
      expect(isAlertsTopic(p.AlarmActions[0])).toBe(true);
      expect(p.OKActions).toEqual(p.AlarmActions);
      // Says which function and where to look.
      const description = flatten(p.AlarmDescription);
      expect(description).toContain(`function ${constructId(id)}`);
      expect(description).toMatch(/log group <Ref:[A-Za-z0-9]+Logs[0-9A-F]{8}>/);
      expect(description.length).toBeLessThanOrEqual(1024);
    }
  }
}

function checkRuleTargets(templates: Templates, stage: string) {
  const rules = resources(templates, "AWS::Events::Rule");
  expect(rules.length).toBeGreaterThan(0);
  const queues = resources(templates, "AWS::SQS::Queue");
  const alarms = resources(templates, "AWS::CloudWatch::Alarm");
  const policies = resources(templates, "AWS::SQS::QueuePolicy");
  for (const [stack, ruleId, rule] of rules) {
    for (const target of rule.Properties.Targets) {
      expect(target.RetryPolicy, `retry policy of ${ruleId}`).toEqual({
        MaximumRetryAttempts: expect.any(Number),
        MaximumEventAgeInSeconds: expect.any(Number),
      });
      const queueId = (target.DeadLetterConfig?.Arn?.["Fn::GetAtt"] as string[] | undefined)?.[0];
      expect(queueId, `dead-letter queue of ${ruleId}`).toBeDefined();
      const queue = queues.find(([s, id]) => s === stack && id === queueId);
      expect(queue?.[2].Properties).toMatchObject({
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 1209600,
      });
      // Only this rule may send to it, only over TLS.
      const statements = policies
        .filter(([s, , p]) => s === stack && p.Properties.Queues.some((q: Json) => q.Ref === queueId))
        .flatMap(([, , p]) => p.Properties.PolicyDocument.Statement as (Statement & Record<string, Json>)[]);
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: "Allow",
          Action: "sqs:SendMessage",
          Principal: { Service: "events.amazonaws.com" },
          Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": [ruleId, "Arn"] } } },
        }),
      );
      expect(statements).toContainEqual(
        expect.objectContaining({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
      );
      const depth = alarms.filter(
        ([s, , a]) =>
          s === stack &&
          a.Properties.MetricName === "ApproximateNumberOfMessagesVisible" &&
          a.Properties.Dimensions?.[0]?.Value?.["Fn::GetAtt"]?.[0] === queueId,
      );
      expect(depth, `depth alarm of ${queueId}`).toHaveLength(1);
      const p = (depth[0] as [string, string, Resource])[2].Properties;
      expect(p).toMatchObject({
        Namespace: "AWS/SQS",
        Statistic: "Maximum",
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "notBreaching",
        AlarmName: expect.stringMatching(new RegExp(`^gitpod-dr-${stage}-[a-z0-9-]+-dlq$`)),
      });
      expect(isAlertsTopic(p.AlarmActions[0])).toBe(true);
      expect(p.OKActions).toEqual(p.AlarmActions);
      expect(flatten(p.AlarmDescription)).toContain(`SQS queue <GetAtt:${queueId}.QueueName>`);
    }
  }
}

function checkOnFailureDestinations(templates: Templates) {
  // Asynchronously invoked: the functions an EventBridge rule targets.
  const targeted = resources(templates, "AWS::Events::Rule").flatMap(([stack, , r]) =>
    (r.Properties.Targets as Json[])
      .map((t) => t.Arn?.["Fn::GetAtt"]?.[0] as string | undefined)
      .filter(
        (id): id is string =>
          id !== undefined && templates[stack]?.toJSON().Resources[id]?.Type === "AWS::Lambda::Function",
      )
      .map((id) => [stack, id] as const),
  );
  const configs = resources(templates, "AWS::Lambda::EventInvokeConfig");
  for (const [stack, id] of targeted) {
    const config = configs.find(([s, , c]) => s === stack && c.Properties.FunctionName.Ref === id);
    expect(config, `invoke configuration of ${id}`).toBeDefined();
    const destination = config?.[2].Properties.DestinationConfig?.OnFailure?.Destination;
    expect(isAlertsTopic(destination), `on-failure destination of ${id}`).toBe(true);
  }
  return targeted;
}

/** The dashboard body with its tokens written out, parsed. */
function dashboardBody(template: Template, name: string): { widgets: Json[] } {
  const dashboards = Object.values(template.findResources("AWS::CloudWatch::Dashboard")) as Resource[];
  expect(dashboards.map((d) => d.Properties.DashboardName)).toEqual([name]);
  return JSON.parse(flatten((dashboards[0] as Resource).Properties.DashboardBody));
}

const metricsOf = (widget: Json): unknown[][] => widget.properties.metrics ?? [];

describe("alarms, destinations and the dashboard (example stage, primary region)", () => {
  let templates: Templates;

  beforeAll(async () => {
    templates = templatesOf(await synthApp({ stage: STAGE, config: exampleConfig, region: PRIMARY }));
  }, 300_000);

  it("gives every function an Errors and a Throttles alarm, named, with ALARM and OK to the alerts topic", () => {
    expect(
      ourFunctions(templates)
        .map(([, id]) => constructId(id))
        .sort(),
    ).toEqual(
      [
        "ImageSync",
        "RdsSnapshot",
        "RestoreApplication",
        "RestoreDatabase",
        "RestoreImage",
        "RestoreNotify",
        "RestorePlan",
        "S3Check",
        "VeleroBackup",
      ].sort(),
    );
    checkFunctionAlarms(templates, STAGE);
  });

  it("sends what Lambda gives up on, for every asynchronously invoked function, to the alerts topic", () => {
    const targeted = checkOnFailureDestinations(templates);
    expect(targeted.map(([, id]) => constructId(id)).sort()).toEqual(
      ["ImageSync", "RdsSnapshot", "S3Check", "VeleroBackup"].sort(),
    );
  });

  it("gives every EventBridge target a retry policy and an encrypted, alarmed dead-letter queue", () => {
    checkRuleTargets(templates, STAGE);
    // The four schedules and the restore's two alert rules (one queue for both).
    expect(resources(templates, "AWS::Events::Rule")).toHaveLength(6);
    expect(resources(templates, "AWS::SQS::Queue")).toHaveLength(5);
  });

  it("lets only the stage's alarms of this account and region publish to the topic and use its key", () => {
    const alerts = templates[`${STAGE}-gitpod-dr-Alerts`] as Template;
    const condition = {
      ArnLike: {
        "aws:SourceArn": `arn:aws:cloudwatch:${PRIMARY}:${ACCOUNT}:alarm:gitpod-dr-${STAGE}-*`,
      },
      StringEquals: { "aws:SourceAccount": ACCOUNT },
    };
    const resolve = (c: Json) => JSON.parse(JSON.stringify(c), (_k, v) => (v?.["Fn::Join"] ? arn(v) : v));
    const keyStatements = (Object.values(alerts.findResources("AWS::KMS::Key"))[0] as Resource).Properties
      .KeyPolicy.Statement as Json[];
    const forAlarms = keyStatements.filter((s) => s.Principal?.Service === "cloudwatch.amazonaws.com");
    expect(forAlarms).toHaveLength(1);
    expect(forAlarms[0]).toMatchObject({ Effect: "Allow", Action: ["kms:Decrypt", "kms:GenerateDataKey"] });
    expect(resolve(forAlarms[0].Condition)).toEqual(condition);

    const topicStatements = (
      Object.values(alerts.findResources("AWS::SNS::TopicPolicy")) as Resource[]
    ).flatMap((p) => p.Properties.PolicyDocument.Statement as Json[]);
    const publish = topicStatements.filter((s) => s.Principal?.Service === "cloudwatch.amazonaws.com");
    expect(publish).toHaveLength(1);
    expect(publish[0]).toMatchObject({ Effect: "Allow", Action: "sns:Publish" });
    expect(isAlertsTopic(publish[0].Resource)).toBe(true);
    expect(resolve(publish[0].Condition)).toEqual(condition);

    // Every alarm of the deployment is named so that the grant covers it.
    for (const [, id, a] of resources(templates, "AWS::CloudWatch::Alarm")) {
      expect(a.Properties.AlarmName, id).toMatch(new RegExp(`^gitpod-dr-${STAGE}-`));
    }
  });

  it("alarms on a failure notification that could not be published (the metric the middleware leaves)", () => {
    const alerts = templates[`${STAGE}-gitpod-dr-Alerts`] as Template;
    alerts.hasResourceProperties("AWS::CloudWatch::Alarm", {
      AlarmName: `gitpod-dr-${STAGE}-notification-publish-failed`,
      Namespace: "GitpodDR",
      MetricName: "NotificationPublishFailed",
      Dimensions: [{ Name: "Stage", Value: STAGE }],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
      AlarmActions: [{ Ref: Match.stringLikeRegexp("^AlertsTopic") }],
      OKActions: [{ Ref: Match.stringLikeRegexp("^AlertsTopic") }],
    });
  });

  it("has a dashboard with recovery-point age, alarms, job runs, image bytes, replication and restores", () => {
    const template = templates[`${STAGE}-gitpod-dr-Dashboard`] as Template;
    const { widgets } = dashboardBody(template, `gitpod-dr-${STAGE}`);
    const titled = (pattern: RegExp) => widgets.filter((w) => pattern.test(w.properties.title ?? ""));

    // Recovery-point age: the watchdog's metric, per tier, from the DR region where it runs.
    const [age] = titled(/^Recovery-point age/);
    expect(age.properties.region).toBe(DR);
    for (const tier of ["database", "objectStorage", "images", "application"]) {
      expect(metricsOf(age)).toContainEqual([
        "GitpodDR",
        "RecoveryPointAge",
        "Stage",
        STAGE,
        "Tier",
        tier,
        expect.objectContaining({ stat: "Maximum", visible: false }),
      ]);
    }
    // Each tier's RPO target (what its alarm compares with) as a horizontal line in hours, in the tier's
    // colour: the example's database target (50h), the others' defaults (schedule's gap + 2h; the
    // application's twice its daily gap + 2h).
    const colours = Object.fromEntries(
      metricsOf(age).flatMap((m) => {
        const options = m.at(-1) as { label?: string; color?: string };
        return options.label && options.color ? [[options.label, options.color]] : [];
      }),
    );
    expect(age.properties.annotations.horizontal).toEqual(
      (
        [
          ["database", 50],
          ["objectStorage", 3],
          ["images", 8],
          ["application", 50],
        ] as const
      ).map(([tier, hours]) => ({
        value: hours,
        label: `${tier} RPO target (${hours} h)`,
        color: colours[tier],
        yAxis: "left",
      })),
    );
    expect(Object.keys(colours).sort()).toEqual(["application", "database", "images", "objectStorage"]);
    // Every alarm of the region, by ARN.
    const [status] = widgets.filter((w) => w.type === "alarm");
    const alarmNames = resources(templates, "AWS::CloudWatch::Alarm").map(
      ([, , a]) => a.Properties.AlarmName,
    );
    expect(status.properties.alarms.sort()).toEqual(
      alarmNames.map((n) => `arn:<Ref:AWS::Partition>:cloudwatch:${PRIMARY}:${ACCOUNT}:alarm:${n}`).sort(),
    );
    // Each job's invocations and errors.
    for (const job of ["RDS snapshot", "S3 replication check", "Image sync", "Velero backup"]) {
      const [runs] = titled(new RegExp(`^${job}: runs and failures`));
      expect(metricsOf(runs).map((m) => m[1])).toEqual(["Invocations", "Errors"]);
    }
    // Image bytes copied: the job's log line, read with Logs Insights.
    const [bytes] = widgets.filter((w) => w.type === "log");
    expect(bytes.properties.query).toContain('filter message = "Image sync finished"');
    expect(bytes.properties.query).toContain("sum(bytesMoved)");
    expect(bytes.properties.query).toMatch(/SOURCE '<Import:[^>]*ImageSyncLogs/);
    // S3 replication latency and backlog.
    const expressions = widgets.flatMap((w) => metricsOf(w).map((m) => JSON.stringify(m)));
    for (const metric of ["ReplicationLatency", "OperationsPendingReplication", "BytesPendingReplication"]) {
      expect(expressions.some((e) => e.includes(`MetricName=\\"${metric}\\"`))).toBe(true);
    }
    expect(expressions.some((e) => e.includes("SecondsSinceReplicatedCanary"))).toBe(true);
    // Restore executions in both regions.
    for (const region of [PRIMARY, DR]) {
      const [restores] = titled(new RegExp(`^Restore executions in ${region}`));
      expect(metricsOf(restores).map((m) => m[1])).toEqual([
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
      ]);
      expect(metricsOf(restores)[0]?.[3]).toBe(
        `arn:<Ref:AWS::Partition>:states:${region}:${ACCOUNT}:stateMachine:gitpod-dr-${STAGE}-restore`,
      );
    }
    template.hasOutput("DashboardUrl", {
      Value: `https://${PRIMARY}.console.aws.amazon.com/cloudwatch/home?region=${PRIMARY}#dashboards/dashboard/gitpod-dr-${STAGE}`,
    });
  });
});

describe("alarms, destinations and the dashboard (restore standby in the DR region)", () => {
  let templates: Templates;

  beforeAll(async () => {
    templates = templatesOf(
      await synthApp({ stage: `${STAGE}-standby`, config: exampleConfig, region: DR, kind: "standby" }),
    );
  }, 300_000);

  it("alarms on the restore's, the watchdog's and the drill's functions and on every rule's dead-letter queue there too", () => {
    // The restore's 5 tasks, the RPO watchdog, and the example drill's 2 (it targets dr: in the standby).
    expect(ourFunctions(templates)).toHaveLength(8);
    checkFunctionAlarms(templates, `${STAGE}-standby`);
    checkRuleTargets(templates, `${STAGE}-standby`);
  });

  it("has a dashboard of its own (names are global to the account) with what the DR region shows", () => {
    const stage = `${STAGE}-standby`;
    const template = templates[`${stage}-gitpod-dr-Dashboard`] as Template;
    const { widgets } = dashboardBody(template, `gitpod-dr-${stage}-standby`);
    const titles = widgets.map((w) => w.properties.title);
    expect(titles).toEqual([
      expect.stringMatching(new RegExp(`^Recovery-point age per tier, hours \\(${DR}`)),
      expect.stringMatching(new RegExp(`^Alarms of stage ${stage} in ${DR}`)),
      `Restore executions in ${DR}, per day`,
      `Restore executions in ${PRIMARY}, per day`,
    ]);
    const status = widgets.find((w) => w.type === "alarm");
    expect(status.properties.alarms).toHaveLength(resources(templates, "AWS::CloudWatch::Alarm").length);
    template.hasOutput("DashboardUrl", {
      Value: Match.stringLikeRegexp(`#dashboards/dashboard/gitpod-dr-${stage}-standby$`),
    });
  });
});
