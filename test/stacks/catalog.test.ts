import type { StageConfigInput } from "@gitpod-dr/core/config";
import { Match, Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synthApp } from "../../packages/sim/src/synth.ts";
import { Application } from "../../stacks/Application.ts";
import { Backups } from "../../stacks/Backups.ts";
import { Catalog } from "../../stacks/Catalog.ts";
import { Images } from "../../stacks/Images.ts";
import { Storage } from "../../stacks/Storage.ts";

type Resource = { Properties: Record<string, unknown> };
const TABLE = "gitpod-dr-catalog-catalog";

function statementsOf(template: Template, handler: string): Statement[] {
  const fn = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Handler: `packages/functions/src/${handler}.handler` },
    }),
  )[0] as Resource | undefined;
  if (!fn) throw new Error(`no ${handler} function`);
  const role = ((fn.Properties.Role as Record<string, string[]>)["Fn::GetAtt"] as string[])[0];
  const policies = template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } });
  return Object.values(policies)
    .flatMap((p) => (p as Resource).Properties.PolicyDocument as { Statement: Statement[] })
    .flatMap((d) => d.Statement);
}

const onTable = (statements: Statement[]) =>
  statements.filter((s) => asList(s.Action).some((a) => a.startsWith("dynamodb:")));

describe("the recovery-point catalog in the DR region (standby)", () => {
  let template: Template;
  beforeAll(async () => {
    // No restore: the standby exists for the catalog anyway.
    const { restore: _restore, drill: _drill, ...config } = exampleConfig as StageConfigInput;
    const app = await synthApp({ stage: "catalog", config, region: "eu-central-1", kind: "standby" });
    template = Template.fromStack(getStack(Catalog));
    expect(getStack(Catalog).region).toBe("eu-central-1");
    expect(app.region).toBe("eu-central-1");
  }, 180_000);

  it("is a DynamoDB table with PITR, a customer managed key, deletion protection, retained, on demand", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        TableName: TABLE,
        BillingMode: "PAY_PER_REQUEST",
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: {
          SSEEnabled: true,
          SSEType: "KMS",
          KMSMasterKeyId: { "Fn::GetAtt": [Match.stringLikeRegexp("^CatalogKey"), "Arn"] },
        },
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      },
    });
    template.hasResource("AWS::KMS::Key", {
      DeletionPolicy: "Retain",
      Properties: { EnableKeyRotation: true },
    });
  });

  it("has an RPO alarm per configured tier, missing data breaching, alarm and OK actions to the alerts topic", () => {
    const alarms = Object.values(template.findResources("AWS::CloudWatch::Alarm")) as Resource[];
    const byName = Object.fromEntries(alarms.map((a) => [a.Properties.AlarmName, a.Properties]));
    // Besides the watchdog's own Errors/Throttles and schedule dead-letter alarms (every job has them).
    expect(
      Object.keys(byName)
        .filter((n) => n.includes("-rpo-") && !n.includes("-rpo-watchdog-"))
        .sort(),
    ).toEqual([
      "gitpod-dr-catalog-rpo-application",
      "gitpod-dr-catalog-rpo-database",
      "gitpod-dr-catalog-rpo-images",
      "gitpod-dr-catalog-rpo-objectStorage",
    ]);
    const thresholds = { database: 50, objectStorage: 3, images: 8, application: 50 };
    for (const [tier, hours] of Object.entries(thresholds)) {
      const alarm = byName[`gitpod-dr-catalog-rpo-${tier}`] as Record<string, unknown>;
      expect(alarm).toMatchObject({
        Namespace: "GitpodDR",
        MetricName: "RecoveryPointAge",
        Dimensions: [
          { Name: "Stage", Value: "catalog" },
          { Name: "Tier", Value: tier },
        ],
        Statistic: "Maximum",
        Threshold: hours * 3600,
        ComparisonOperator: "GreaterThanThreshold",
        TreatMissingData: "breaching",
      });
      expect(JSON.stringify(alarm.AlarmActions)).toMatch(/AlertsTopic/);
      expect(asList(alarm.AlarmActions as unknown[])).toHaveLength(1);
      expect(alarm.OKActions).toEqual(alarm.AlarmActions);
      expect(alarm.AlarmDescription).toContain(`older than its RPO target of ${hours}h`);
      expect(alarm.AlarmDescription).toContain("gitpod-dr status --config config/catalog.ts");
    }
  });

  it("runs the watchdog every 15 minutes with IAM scoped to the table and its key", () => {
    template.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(15 minutes)" });
    const statements = statementsOf(template, "rpo-watchdog");
    expect(onTable(statements)).toEqual([
      {
        Sid: "ReadAndConfirmTheCatalog",
        Effect: "Allow",
        Action: ["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"],
        Resource: { "Fn::GetAtt": [expect.stringMatching(/^CatalogTable/), "Arn"] },
      },
    ]);
    const key = statements.find((s) => s.Sid === "UseTheCatalogKey");
    expect(key?.Resource).toEqual({ "Fn::GetAtt": [expect.stringMatching(/^CatalogKey/), "Arn"] });
    const metrics = statements.find((s) => s.Sid === "PublishRecoveryPointAges");
    expect(metrics?.Condition).toEqual({ StringEquals: { "cloudwatch:namespace": "GitpodDR" } });
  });
});

describe("the primary region's jobs record in the catalog", () => {
  let templates: Record<string, Template>;
  beforeAll(async () => {
    await synthApp({ stage: "catalog-primary", config: exampleConfig, withoutRestore: true });
    templates = Object.fromEntries(
      [Backups, Storage, Images, Application].map((s) => [s.name, Template.fromStack(getStack(s))]),
    );
  }, 180_000);

  it.each([
    ["Backups", "rds-snapshot"],
    ["Storage", "s3-check"],
    ["Images", "image-sync"],
    ["Application", "velero-backup"],
  ])(
    "%s (%s): only the catalog table, and its key only through DynamoDB for that table",
    (stack, handler) => {
      const statements = statementsOf(templates[stack] as Template, handler);
      const table = `arn:aws:dynamodb:eu-central-1:${ACCOUNT}:table/gitpod-dr-catalog-primary-catalog`;
      expect(onTable(statements).map((s) => [asList(s.Action), asList(s.Resource).map(arn)])).toEqual([
        [["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"], [table]],
      ]);
      const key = statements.find((s) => s.Sid === "UseTheCatalogKeyThroughDynamoDb");
      expect(asList(key?.Resource).map(arn)).toEqual([`arn:aws:kms:eu-central-1:${ACCOUNT}:key/*`]);
      expect(key?.Condition).toEqual({
        StringEquals: {
          "kms:ViaService": "dynamodb.eu-central-1.amazonaws.com",
          "kms:EncryptionContext:aws:dynamodb:tableName": "gitpod-dr-catalog-primary-catalog",
        },
      });
    },
  );
});
