import type { StageConfigInput } from "@gitpod-dr/core/config";
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type App, getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth, synthApp } from "../../packages/sim/src/synth.ts";
import { Alerts } from "../../stacks/Alerts.ts";
import { Restore } from "../../stacks/Restore.ts";

/** A resource of the template, as `findResources` returns it. */
type Resource = ReturnType<Template["findResources"]>[string];
type PolicyStatement = Statement & { Effect: string; Principal?: { Service?: string | string[] } };

const servicePrincipals = (s: PolicyStatement) => asList(s.Principal?.Service ?? []);

function keyStatements(alerts: Template): PolicyStatement[] {
  const keys = Object.values(alerts.findResources("AWS::KMS::Key")) as Resource[];
  expect(keys).toHaveLength(1);
  return keys[0]?.Properties.KeyPolicy.Statement as PolicyStatement[];
}

function topicStatements(alerts: Template): PolicyStatement[] {
  const policies = Object.values(alerts.findResources("AWS::SNS::TopicPolicy")) as Resource[];
  return policies.flatMap((p) => p.Properties.PolicyDocument.Statement as PolicyStatement[]);
}

/** The ARNs of the restore's EventBridge rules, from their names in the Restore template. */
function ruleArns(restore: Template, region: string): string[] {
  const rules = Object.values(restore.findResources("AWS::Events::Rule")) as Resource[];
  return rules.map((r) => `arn:aws:events:${region}:${ACCOUNT}:rule/${r.Properties.Name}`).sort();
}

const sourceArns = (s: PolicyStatement) =>
  asList(
    (s.Condition?.ArnEquals?.["aws:SourceArn"] ?? s.Condition?.ArnLike?.["aws:SourceArn"] ?? []) as
      | string
      | string[],
  )
    .map(arn)
    .sort();

function roleStatements(template: Template, handler: string): Statement[] {
  const fn = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Handler: `packages/functions/src/${handler}.handler` },
    }),
  )[0] as Resource;
  const role = (fn.Properties.Role["Fn::GetAtt"] as string[])[0];
  return Object.values(
    template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } }),
  ).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const restoreDatabaseStatements = (template: Template) => roleStatements(template, "restore-database");

const groupResources = (statements: Statement[]) =>
  statements
    .flatMap((s) => asList(s.Resource).map(arn))
    .filter((r) => /:rds:[^:]+:\d+:(pg|cluster-pg|og):/.test(r))
    .sort();

describe.each([
  ["primary", "eu-west-1"],
  ["standby", "eu-central-1"],
] as const)("the alerts topic's policies (%s)", (kind, region) => {
  let alerts: Template;
  let restore: Template;

  beforeAll(async () => {
    await synthApp({ stage: `policies-${kind}`, config: exampleConfig, region, kind });
    alerts = Template.fromStack(getStack(Alerts));
    restore = Template.fromStack(getStack(Restore));
  }, 300_000);

  it("lets EventBridge use the key only for the restore's alert rules", () => {
    const forEvents = keyStatements(alerts).filter((s) =>
      servicePrincipals(s).includes("events.amazonaws.com"),
    );
    expect(forEvents).toHaveLength(1);
    expect(sourceArns(forEvents[0] as PolicyStatement)).toEqual(ruleArns(restore, region));
    expect(forEvents[0]?.Condition?.StringEquals).toEqual({ "aws:SourceAccount": ACCOUNT });
    expect(asList(forEvents[0]?.Action).sort()).toEqual(["kms:Decrypt", "kms:GenerateDataKey"]);
  });

  it("grants no AWS service the key without a source condition", () => {
    for (const s of keyStatements(alerts).filter((s) => servicePrincipals(s).length > 0)) {
      expect(sourceArns(s), JSON.stringify(s)).not.toEqual([]);
    }
  });

  it("lets EventBridge publish only for the restore's alert rules, and CloudWatch only for the stage's alarms", () => {
    const allows = topicStatements(alerts).filter((s) => s.Effect === "Allow");
    expect(allows.map(servicePrincipals)).toEqual([["events.amazonaws.com"], ["cloudwatch.amazonaws.com"]]);
    expect(sourceArns(allows[0] as PolicyStatement)).toEqual(ruleArns(restore, region));
    expect(ruleArns(restore, region)).toHaveLength(2);
    expect(sourceArns(allows[1] as PolicyStatement)).toEqual([
      `arn:aws:cloudwatch:${region}:${ACCOUNT}:alarm:gitpod-dr-policies-${kind}-*`,
    ]);
  });
});

describe("the alerts topic of a stage without a restore", () => {
  it("lets no AWS service but CloudWatch, for the stage's alarms, publish or use the key (no rule publishes)", async () => {
    const alerts = await synth(Alerts, {
      stage: "policies-norestore",
      config: exampleConfig,
      withoutRestore: true,
    });
    const alarms = [`arn:aws:cloudwatch:eu-west-1:${ACCOUNT}:alarm:gitpod-dr-policies-norestore-*`];
    for (const statements of [
      keyStatements(alerts).filter((s) => servicePrincipals(s).length > 0),
      topicStatements(alerts).filter((s) => s.Effect === "Allow"),
    ]) {
      expect(statements.map(servicePrincipals)).toEqual([["cloudwatch.amazonaws.com"]]);
      expect(sourceArns(statements[0] as PolicyStatement)).toEqual(alarms);
    }
  }, 300_000);
});

describe("the RestoreDatabase role", () => {
  it("acts only on the default parameter and option groups when none is configured", async () => {
    const template = await synth(Restore, { stage: "policies-defaults", config: exampleConfig });
    const statements = restoreDatabaseStatements(template);
    expect(groupResources(statements)).toEqual(
      [
        "arn:aws:rds:eu-west-1:123456789012:pg:default.*",
        "arn:aws:rds:eu-central-1:123456789012:pg:default.*",
        "arn:aws:rds:eu-west-1:123456789012:cluster-pg:default.*",
        "arn:aws:rds:eu-central-1:123456789012:cluster-pg:default.*",
        "arn:aws:rds:eu-west-1:123456789012:og:default:*",
        "arn:aws:rds:eu-central-1:123456789012:og:default:*",
      ].sort(),
    );
  }, 300_000);

  it("acts only on the configured parameter groups, in their target's region", async () => {
    const config = structuredClone(exampleConfig) as StageConfigInput;
    const targets = (config.restore as NonNullable<StageConfigInput["restore"]>).targets;
    Object.assign(targets.primary.database, { parameterGroupName: "gitpod-mysql80" });
    Object.assign(targets.dr?.database ?? {}, { clusterParameterGroupName: "gitpod-aurora" });
    const template = await synth(Restore, { stage: "policies-configured", config });
    expect(groupResources(restoreDatabaseStatements(template))).toEqual(
      [
        "arn:aws:rds:eu-west-1:123456789012:pg:gitpod-mysql80",
        "arn:aws:rds:eu-central-1:123456789012:pg:default.*",
        "arn:aws:rds:eu-west-1:123456789012:cluster-pg:default.*",
        "arn:aws:rds:eu-central-1:123456789012:cluster-pg:gitpod-aurora",
        "arn:aws:rds:eu-west-1:123456789012:og:default:*",
        "arn:aws:rds:eu-central-1:123456789012:og:default:*",
      ].sort(),
    );
  }, 300_000);

  it("names every KMS action it may use through RDS (no wildcard action)", async () => {
    const template = await synth(Restore, { stage: "policies-kms", config: exampleConfig });
    const statements = restoreDatabaseStatements(template);
    const kms = statements.filter((s) => asList(s.Action).some((a) => a.startsWith("kms:")));
    expect(kms).toHaveLength(1);
    expect(asList(kms[0]?.Action).sort()).toEqual(
      [
        "kms:CreateGrant",
        "kms:Decrypt",
        "kms:DescribeKey",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
      ].sort(),
    );
    expect(statements.flatMap((s) => asList(s.Action)).filter((a) => a.includes("*"))).toEqual([]);
  }, 300_000);
});

describe("the RestorePlan role", () => {
  it("may describe what Build plan checks before creating: the configured parameter groups, the target keys", async () => {
    const config = structuredClone(exampleConfig) as StageConfigInput;
    const targets = (config.restore as NonNullable<StageConfigInput["restore"]>).targets;
    Object.assign(targets.primary.database, { parameterGroupName: "gitpod-mysql80" });
    Object.assign(targets.dr?.database ?? {}, { clusterParameterGroupName: "gitpod-aurora" });
    const template = await synth(Restore, { stage: "policies-plan", config });
    const statements = roleStatements(template, "restore-plan");
    const resourcesOf = (action: string) =>
      statements.filter((s) => asList(s.Action).includes(action)).flatMap((s) => asList(s.Resource).map(arn));
    expect(resourcesOf("rds:DescribeDBParameterGroups")).toEqual([
      "arn:aws:rds:eu-west-1:123456789012:pg:gitpod-mysql80",
    ]);
    expect(resourcesOf("rds:DescribeDBClusterParameterGroups")).toEqual([
      "arn:aws:rds:eu-central-1:123456789012:cluster-pg:gitpod-aurora",
    ]);
    expect(resourcesOf("kms:DescribeKey")).toEqual([
      "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555",
    ]);
  }, 300_000);
});

describe("the SST custom-resource functions", () => {
  let app: App;
  beforeAll(async () => {
    app = await synthApp({ stage: "policies-logs", config: exampleConfig });
  }, 300_000);

  it("log to a log group of their own with a retention, in every stack", () => {
    const stacks = app.node.children.filter((c): c is Stack => Stack.isStack(c));
    expect(stacks).toHaveLength(7);
    for (const stack of stacks) {
      const template = Template.fromStack(stack);
      const handler = Object.entries(template.findResources("AWS::Lambda::Function")).find(([id]) =>
        id.startsWith("CustomResourceHandler"),
      );
      expect(handler, stack.stackName).toBeDefined();
      const group = handler?.[1].Properties.LoggingConfig?.LogGroup as { Ref: string } | undefined;
      expect(group, stack.stackName).toBeDefined();
      const logGroup = template.findResources("AWS::Logs::LogGroup")[group?.Ref ?? ""];
      expect(logGroup?.Properties.RetentionInDays, stack.stackName).toBe(90);
      // No explicit name: /aws/lambda/<function> may already exist in a deployed account.
      expect(logGroup?.Properties.LogGroupName, stack.stackName).toBeUndefined();
    }
  });
});
