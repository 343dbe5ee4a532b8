import type { StageConfigInput } from "@gitpod-dr/core/config";
import { parseStageConfig, parseStorageJobConfig } from "@gitpod-dr/core/config";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth } from "../../packages/sim/src/synth.ts";
import { Storage } from "../../stacks/Storage.ts";

const HANDLER = "packages/functions/src/s3-check.handler";
const SOURCES = ["arn:aws:s3:::gitpod-workspace-backups", "arn:aws:s3:::gitpod-user-*"];
const DESTINATIONS = ["arn:aws:s3:::gitpod-workspace-backups-dr", "arn:aws:s3:::gitpod-user-dr-*"];
const CANARY = ".gitpod-dr/canary/*";
const KMS_KEY = `arn:aws:kms:eu-west-1:${ACCOUNT}:key/aaaaaaaa-1111-2222-3333-444444444444`;

type StorageInput = NonNullable<StageConfigInput["storage"]>;
const withStorage = (change: Partial<StorageInput>): StageConfigInput => ({
  ...exampleConfig,
  storage: { ...(exampleConfig.storage as StorageInput), ...change },
});

function s3CheckFunctions(template: Template) {
  return Object.entries(
    template.findResources("AWS::Lambda::Function", { Properties: { Handler: HANDLER } }),
  );
}

function s3CheckFunction(template: Template) {
  const found = s3CheckFunctions(template)[0];
  if (!found) throw new Error("the S3Check function is not in the template");
  return { logicalId: found[0], fn: found[1] };
}

function functionStatements(template: Template): Statement[] {
  const role = (s3CheckFunction(template).fn.Properties.Role["Fn::GetAtt"] as string[])[0];
  const policies = template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const resourcesFor = (statements: Statement[], action: string) =>
  statements
    .filter((s) => asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource).map(arn))
    .sort();

const actionsOf = (statements: Statement[]) => statements.flatMap((s) => asList(s.Action));

/** A CloudFormation value with the account and role ARNs filled in, as CloudFormation resolves them. */
function resolve(value: unknown): string {
  if (typeof value === "string") return value;
  const v = value as Record<string, unknown>;
  if (v.Ref === "AWS::AccountId") return ACCOUNT;
  if (v.Ref === "AWS::Partition") return "aws";
  if (v.Ref === "AWS::Region") return "eu-west-1";
  if (Array.isArray(v["Fn::GetAtt"])) {
    const [id, attribute] = v["Fn::GetAtt"] as [string, string];
    if (attribute === "Arn") return `arn:aws:iam::${ACCOUNT}:role/${id}`;
  }
  if (Array.isArray(v["Fn::Join"])) {
    const [sep, parts] = v["Fn::Join"] as [string, unknown[]];
    return parts.map(resolve).join(sep);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

describe("the example stage (storage section, repair off)", () => {
  let template: Template;
  let statements: Statement[];

  beforeAll(async () => {
    template = await synth(Storage, { stage: "storage", config: exampleConfig, withoutRestore: true });
    statements = functionStatements(template);
  });

  it("deploys the S3Check function with a configuration that parses at cold start", () => {
    expect(s3CheckFunctions(template)).toHaveLength(1);
    const vars = s3CheckFunction(template).fn.Properties.Environment.Variables;
    expect(vars.GITPOD_DR_STAGE).toBe("storage");
    expect(vars.GITPOD_DR_TOPIC_ARN).toBeDefined();

    const config = parseStorageJobConfig(resolve(vars.GITPOD_DR_CONFIG));

    expect(config).toEqual({
      stage: "storage",
      account: ACCOUNT,
      regions: { primary: "eu-west-1", dr: "eu-central-1" },
      storage: parseStageConfig(exampleConfig).storage,
      // The check records each named bucket's replication watermark in the stage's catalog.
      catalog: catalogConfig("storage", parseStageConfig(exampleConfig)),
    });
  });

  it("schedules the check from the stage's expression, targeting the function", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 hour)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [s3CheckFunction(template).logicalId, "Arn"] } })],
    });
  });

  it("audits only the configured source buckets", () => {
    for (const action of [
      "s3:GetReplicationConfiguration",
      "s3:GetBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:ListBucket",
    ]) {
      const expected =
        action === "s3:GetBucketVersioning" || action === "s3:ListBucket"
          ? [...SOURCES, ...DESTINATIONS]
          : SOURCES;
      expect(resourcesFor(statements, action), action).toEqual([...expected].sort());
    }
    expect(resourcesFor(statements, "s3:GetBucketLocation")).toEqual([...SOURCES, ...DESTINATIONS].sort());
  });

  it("writes and deletes objects only under the canary prefix", () => {
    expect(resourcesFor(statements, "s3:PutObject")).toEqual(SOURCES.map((b) => `${b}/${CANARY}`).sort());
    for (const action of ["s3:DeleteObject", "s3:DeleteObjectVersion"]) {
      expect(resourcesFor(statements, action), action).toEqual(
        [...SOURCES, ...DESTINATIONS].map((b) => `${b}/${CANARY}`).sort(),
      );
    }
  });

  it("reads objects (HEAD for the replication status) of sources and destinations", () => {
    expect(resourcesFor(statements, "s3:GetObject")).toEqual(
      [...SOURCES, ...DESTINATIONS].map((b) => `${b}/*`).sort(),
    );
  });

  it("lists all buckets because bucket prefixes are configured", () => {
    expect(resourcesFor(statements, "s3:ListAllMyBuckets")).toEqual(["*"]);
  });

  it("publishes metrics only to its own namespace", () => {
    const put = statements.filter((s) => asList(s.Action).includes("cloudwatch:PutMetricData"));

    expect(put).toHaveLength(1);
    expect(put[0]?.Condition).toEqual({ StringEquals: { "cloudwatch:namespace": "GitpodDR" } });
    expect(resourcesFor(statements, "cloudwatch:GetMetricData")).toEqual(["*"]);
  });

  it("allows no wildcard action, and only listing, metrics and tracing calls on *", () => {
    for (const action of actionsOf(statements)) {
      expect(action).not.toBe("*");
      expect(action).not.toMatch(/^s3:\*|:\*$/);
    }
    const onStar = statements
      .filter((s) => asList(s.Resource).includes("*"))
      .flatMap((s) => asList(s.Action))
      .sort();
    // X-Ray: SST turns on active tracing for every function.
    expect(onStar).toEqual([
      "cloudwatch:GetMetricData",
      "cloudwatch:PutMetricData",
      "s3:ListAllMyBuckets",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]);
  });

  it("starts no repair: no batch role, no PassRole, no CreateJob", () => {
    const actions = actionsOf(statements);

    expect(actions).not.toContain("iam:PassRole");
    expect(actions).not.toContain("s3:CreateJob");
    expect(actions).not.toContain("s3:ListJobs");
    expect(
      Object.keys(
        template.findResources("AWS::IAM::Role", {
          Properties: {
            AssumeRolePolicyDocument: {
              Statement: Match.arrayWith([
                Match.objectLike({ Principal: { Service: "batchoperations.s3.amazonaws.com" } }),
              ]),
            },
          },
        }),
      ),
    ).toEqual([]);
  });

  it("uses no KMS key but the alerts topic's and the catalog's (through DynamoDB) when no bucket key is configured", () => {
    const kms = statements.filter((s) => actionsOf([s]).some((a) => a.startsWith("kms:")));

    expect(kms.map((s) => s.Sid)).toEqual([
      "EncryptNotificationsWithTheTopicKey",
      "UseTheCatalogKeyThroughDynamoDb",
    ]);
  });
});

describe("a stage with repair on, SSE-KMS bucket keys, and no bucket prefixes", () => {
  let template: Template;
  let statements: Statement[];
  let batchRoleId: string;

  beforeAll(async () => {
    template = await synth(Storage, {
      stage: "storagerepair",
      config: withStorage({
        bucketPrefixes: [],
        destinations: { buckets: ["gitpod-workspace-backups-dr"] },
        repair: { enabled: true },
        kmsKeyArns: [KMS_KEY],
      }),
      withoutRestore: true,
    });
    statements = functionStatements(template);
    const roles = template.findResources("AWS::IAM::Role", {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Principal: { Service: "batchoperations.s3.amazonaws.com" } }),
          ]),
        },
      },
    });
    expect(Object.keys(roles)).toHaveLength(1);
    batchRoleId = Object.keys(roles)[0] as string;
  });

  it("passes the batch role ARN in the function's configuration", () => {
    const vars = s3CheckFunction(template).fn.Properties.Environment.Variables;

    const config = parseStorageJobConfig(resolve(vars.GITPOD_DR_CONFIG));

    expect(config.batchRoleArn).toBe(`arn:aws:iam::${ACCOUNT}:role/${batchRoleId}`);
    expect(config.storage.repair).toEqual({ enabled: true });
    expect(config.account).toBe(ACCOUNT);
  });

  it("lets S3 Batch Operations re-replicate objects of the source buckets only", () => {
    const policies = template.findResources("AWS::IAM::Policy", {
      Properties: { Roles: [{ Ref: batchRoleId }] },
    });
    const batch = Object.values(policies).flatMap(
      (p) => p.Properties.PolicyDocument.Statement as Statement[],
    );

    expect(resourcesFor(batch, "s3:InitiateReplication")).toEqual([
      "arn:aws:s3:::gitpod-workspace-backups/*",
    ]);
    expect(resourcesFor(batch, "s3:GetReplicationConfiguration")).toEqual([
      "arn:aws:s3:::gitpod-workspace-backups",
    ]);
    expect(actionsOf(batch).sort()).toEqual([
      "s3:GetReplicationConfiguration",
      "s3:InitiateReplication",
      "s3:PutInventoryConfiguration",
    ]);
  });

  it("may pass only that role, only to S3 Batch Operations, and create jobs", () => {
    const pass = statements.filter((s) => asList(s.Action).includes("iam:PassRole"));

    expect(pass).toHaveLength(1);
    expect(asList(pass[0]?.Resource)).toEqual([{ "Fn::GetAtt": [batchRoleId, "Arn"] }]);
    expect(pass[0]?.Condition).toEqual({
      StringEquals: { "iam:PassedToService": "batchoperations.s3.amazonaws.com" },
    });
    expect(resourcesFor(statements, "s3:CreateJob")).toEqual(["*"]);
    expect(resourcesFor(statements, "s3:ListJobs")).toEqual(["*"]);
  });

  it("lists no buckets when no prefix is configured", () => {
    expect(actionsOf(statements)).not.toContain("s3:ListAllMyBuckets");
    expect(resourcesFor(statements, "s3:GetReplicationConfiguration")).toEqual([
      "arn:aws:s3:::gitpod-workspace-backups",
    ]);
  });

  it("may encrypt canaries with the configured bucket keys, through S3 only", () => {
    const kms = statements.filter((s) => asList(s.Resource).includes(KMS_KEY));

    expect(kms).toHaveLength(1);
    expect(asList(kms[0]?.Action)).toEqual(["kms:GenerateDataKey"]);
    expect(kms[0]?.Condition).toEqual({ StringLike: { "kms:ViaService": "s3.*.amazonaws.com" } });
  });

  it("still allows no wildcard action", () => {
    for (const action of actionsOf(statements)) expect(action).not.toMatch(/^\*$|^s3:\*$/);
  });
});

describe("a stage without a storage section", () => {
  it("creates no S3Check function and no schedule for it", async () => {
    const { storage: _, ...without } = exampleConfig as StageConfigInput;

    const template = await synth(Storage, { stage: "nostorage", config: without, withoutRestore: true });

    expect(s3CheckFunctions(template)).toEqual([]);
    expect(Object.keys(template.findResources("AWS::Events::Rule"))).toEqual([]);
  });
});
