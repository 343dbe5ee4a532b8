import { Aspects, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import {
  AwsSolutionsChecks,
  type INagLogger,
  type NagLoggerErrorData,
  type NagLoggerNonComplianceData,
  type NagLoggerSuppressedData,
} from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { synthApp } from "../../packages/sim/src/synth.ts";

/** One cdk-nag result: the rule, and the resource by its stack and construct path. */
interface Finding {
  readonly rule: string;
  readonly finding: string;
  readonly stack: string;
  readonly path: string;
  readonly reason?: string;
}

/** Collects what cdk-nag reports, instead of reading it back from the annotations of every node. */
class Collector implements INagLogger {
  readonly unsuppressed: Finding[] = [];
  readonly suppressed: Finding[] = [];
  readonly errors: string[] = [];

  onNonCompliance(data: NagLoggerNonComplianceData): void {
    this.unsuppressed.push(finding(data));
  }
  onSuppressed(data: NagLoggerSuppressedData): void {
    this.suppressed.push({ ...finding(data), reason: data.suppressionReason });
  }
  onError(data: NagLoggerErrorData): void {
    this.errors.push(`${data.ruleId} on ${data.resource.node.path}: ${data.errorMessage}`);
  }
  onSuppressedError(): void {}
  onCompliance(): void {}
  onNotApplicable(): void {}
}

function finding(data: NagLoggerNonComplianceData): Finding {
  return {
    rule: data.ruleId,
    finding: data.findingId,
    stack: Stack.of(data.resource).stackName,
    path: data.resource.node.path,
  };
}

/** The AwsSolutions pack over every stack of a synthesized deployment of the example stage. */
async function nag(region: string, kind: "primary" | "standby") {
  const stage = kind === "primary" ? "example" : "example-standby";
  const app = await synthApp({ stage, config: exampleConfig, region, kind });
  const collector = new Collector();
  Aspects.of(app).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [collector] }));
  app.synth();
  return { collector, onEverything: actionsOnEverything(app) };
}

interface PolicyDocument {
  Statement: { Effect: string; Action: string | string[]; Resource: unknown }[];
}

/**
 * Each role policy's actions allowed on Resource "*", by the policy's path below its stack. cdk-nag
 * reports one "Resource::*" finding per policy, however many statements say "*"; this pins them all.
 */
function actionsOnEverything(app: Parameters<typeof Stack.of>[0]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const policy of app.node.findAll().filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)) {
    const document = Stack.of(policy).resolve(policy.policyDocument) as PolicyDocument;
    const actions = document.Statement.filter(
      (s) => s.Effect === "Allow" && [s.Resource].flat().includes("*"),
    ).flatMap((s) => [s.Action].flat());
    if (actions.length > 0) out[policy.node.path.split("/").slice(1).join("/")] = actions.sort();
  }
  return out;
}

const XRAY = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"];
/** The reviewed actions on "*": none supports resource-level permissions (see each statement's comment). */
const RESTORE_ON_EVERYTHING: Record<string, string[]> = {
  "RestorePlan/ServiceRole/DefaultPolicy/Resource": [
    ...XRAY,
    "ec2:DescribeSecurityGroups",
    "rds:DescribeDBClusterSnapshots",
    "rds:DescribeDBSnapshots",
  ],
  "RestoreDatabase/ServiceRole/DefaultPolicy/Resource": XRAY,
  "RestoreImage/ServiceRole/DefaultPolicy/Resource": [...XRAY, "ecr:GetAuthorizationToken"],
  "RestoreApplication/ServiceRole/DefaultPolicy/Resource": [...XRAY, "cloudwatch:GetMetricData"],
  "RestoreNotify/ServiceRole/DefaultPolicy/Resource": XRAY,
  "RestoreMachine/Role/DefaultPolicy/Resource": [
    "logs:CreateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:DescribeLogGroups",
    "logs:DescribeResourcePolicies",
    "logs:GetLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:UpdateLogDelivery",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    ...XRAY,
  ],
};
/** The standby's: the restore's, and the RPO watchdog's DR copy check and metric publishing. */
const STANDBY_ON_EVERYTHING: Record<string, string[]> = {
  "RpoWatchdog/ServiceRole/DefaultPolicy/Resource": [
    ...XRAY,
    "cloudwatch:PutMetricData",
    "rds:DescribeDBSnapshots",
  ],
  ...RESTORE_ON_EVERYTHING,
};
/** The drill (the example's targets dr: in the standby). */
const DRILL_ON_EVERYTHING: Record<string, string[]> = {
  "Drill/ServiceRole/DefaultPolicy/Resource": [
    ...XRAY,
    "cloudwatch:PutMetricData",
    "ecr:GetAuthorizationToken",
    "secretsmanager:ListSecrets",
  ],
  "DrillDatabase/ServiceRole/DefaultPolicy/Resource": [...XRAY],
  "DrillMachine/Role/DefaultPolicy/Resource": [
    ...(RESTORE_ON_EVERYTHING["RestoreMachine/Role/DefaultPolicy/Resource"] ?? []),
  ],
};

const PRIMARY_ON_EVERYTHING: Record<string, string[]> = {
  "RdsSnapshot/ServiceRole/DefaultPolicy/Resource": [...XRAY, "rds:DescribeDBSnapshots"],
  "S3Check/ServiceRole/DefaultPolicy/Resource": [
    ...XRAY,
    "cloudwatch:GetMetricData",
    "cloudwatch:PutMetricData",
    "s3:ListAllMyBuckets",
  ],
  "ImageSync/ServiceRole/DefaultPolicy/Resource": [...XRAY, "ecr:GetAuthorizationToken"],
  "VeleroBackup/ServiceRole/DefaultPolicy/Resource": XRAY,
  ...RESTORE_ON_EVERYTHING,
};

function byRule(findings: readonly Finding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const f of findings) counts[f.rule] = (counts[f.rule] ?? 0) + 1;
  return counts;
}

const readable = (findings: readonly Finding[]) =>
  findings.map((f) => `${f.rule} ${f.path}${f.finding ? ` (${f.finding})` : ""}`);

describe.each([
  ["primary", "eu-west-1"],
  ["standby", "eu-central-1"],
] as const)("cdk-nag AwsSolutions checks on the example stage (%s)", (kind, region) => {
  let result: Collector;
  let onEverything: Record<string, string[]>;

  beforeAll(async () => {
    ({ collector: result, onEverything } = await nag(region, kind));
    // The counts by rule, for the closing note of a change to the stacks.
    console.info(kind, "unsuppressed", byRule(result.unsuppressed), "suppressed", byRule(result.suppressed));
  }, 300_000);

  it("leaves no finding unsuppressed", () => {
    expect(readable(result.unsuppressed)).toEqual([]);
  });

  it('allows on Resource "*" only the reviewed actions, none of which has resource-level permissions', () => {
    const expected =
      kind === "primary" ? PRIMARY_ON_EVERYTHING : { ...STANDBY_ON_EVERYTHING, ...DRILL_ON_EVERYTHING };
    const sorted = (r: Record<string, string[]>) =>
      Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...v].sort()]));
    expect(onEverything).toEqual(sorted(expected));
  });

  it("evaluates every rule on every resource (no rule errors)", () => {
    expect(result.errors).toEqual([]);
  });

  it("gives every suppression a reason a reviewer can check (a sentence, not a placeholder)", () => {
    const vague = result.suppressed.filter((f) => !f.reason || f.reason.trim().split(/\s+/).length < 6);
    expect(readable(vague)).toEqual([]);
  });
});
