import type { StageConfigInput } from "@gitpod-dr/core/config";
import { Aspects } from "aws-cdk-lib";
import type { Template } from "aws-cdk-lib/assertions";
import {
  AwsSolutionsChecks,
  type INagLogger,
  type NagLoggerErrorData,
  type NagLoggerNonComplianceData,
} from "cdk-nag";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { catalogTableName } from "../../packages/core/src/config/catalog.ts";
import { asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth, synthApp } from "../../packages/sim/src/synth.ts";
import { Images } from "../../stacks/Images.ts";

const SOURCE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const IMAGES = {
  schedule: "rate(6 hours)",
  rules: [
    {
      name: "gitpod",
      source: { registry: SOURCE },
      repositories: ["gitpod/*", "workspace-images"],
      destination: { registry: DEST, repositoryPrefix: "dr/" },
    },
  ],
  fanOut: { maxConcurrency: 20, imagesPerChild: 8, toleratedFailurePercentage: 5 },
} satisfies StageConfigInput["images"];

type State = Record<string, unknown>;

/** The definition with its tokens as `<Ref>` / `<LogicalId.Arn>` text. */
function definitionOf(template: Template): { States: Record<string, State> } {
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  const body = machine?.Properties.DefinitionString as { "Fn::Join": [string, unknown[]] };
  const text = body["Fn::Join"][1]
    .map((part) => {
      if (typeof part === "string") return part;
      const ref = (part as { Ref?: string }).Ref;
      if (ref) return `<${ref}>`;
      const getAtt = (part as { "Fn::GetAtt"?: string[] })["Fn::GetAtt"];
      return getAtt ? `<${getAtt.join(".")}>` : "<token>";
    })
    .join("");
  return JSON.parse(text);
}

/** The statements of the role a resource's `Role` (or `RoleArn`) names. */
function roleStatements(template: Template, resource: { Properties: Record<string, unknown> }): Statement[] {
  const roleRef = (resource.Properties.Role ?? resource.Properties.RoleArn) as { "Fn::GetAtt": string[] };
  const role = roleRef["Fn::GetAtt"][0];
  const policies = template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const fnByHandler = (template: Template, handler: string) => {
  const [fn] = Object.values(
    template.findResources("AWS::Lambda::Function", {
      Properties: { Handler: `packages/functions/src/${handler}.handler` },
    }),
  );
  if (!fn) throw new Error(`no function for ${handler}`);
  return fn as { Properties: Record<string, unknown> };
};

const s3Resources = (statements: Statement[]) =>
  statements
    .filter((s) => asList(s.Action).some((a) => String(a).startsWith("s3:")))
    .flatMap((s) => asList(s.Resource).map((r) => JSON.stringify(r)));

describe("a stage with images.fanOut", () => {
  let template: Template;
  let states: Record<string, State>;

  beforeAll(async () => {
    template = await synth(Images, {
      stage: "fanout",
      config: { ...exampleConfig, images: IMAGES },
      withoutRestore: true,
    });
    states = definitionOf(template).States;
  }, 300_000);

  it("runs Plan, a Distributed Map reading the work list from S3, and Summarize", () => {
    const map = states["Copy in parallel"] as State;
    expect(map.Type).toBe("Map");
    expect(map.ItemProcessor).toMatchObject({
      ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
      StartAt: "Copy images",
    });
    expect(map.ItemReader).toEqual({
      Resource: "arn:<AWS::Partition>:states:::s3:getObject",
      ReaderConfig: { InputType: "JSON" },
      Parameters: { "Bucket.$": "$.plan.bucket", "Key.$": "$.plan.itemsKey" },
    });
    expect(map.ItemBatcher).toEqual({ MaxItemsPerBatch: 8 });
    expect(map.MaxConcurrency).toBe(20);
    expect(map.ToleratedFailurePercentage).toBe(5);
    expect(map.ResultWriter).toMatchObject({
      Parameters: { Prefix: "image-sync/results" },
    });
    expect(JSON.stringify(map.ResultWriter)).toContain("<ImageSyncWork");
    expect(map.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Summarize failure" },
    ]);
    const copy = (map.ItemProcessor as { States: Record<string, State> }).States["Copy images"] as State;
    expect(copy.Retry).toContainEqual(
      expect.objectContaining({ ErrorEquals: ["Transient"], MaxAttempts: 3 }),
    );
  });

  it("chooses the path by Plan's route: the Map above the threshold, one copy task at or below it", () => {
    expect(states.Plan?.Next).toBe("Which path?");
    expect(states["Which path?"]).toEqual({
      Type: "Choice",
      Choices: [
        { Variable: "$.plan.route", StringEquals: "map", Next: "Copy in parallel" },
        { Variable: "$.plan.route", StringEquals: "task", Next: "Copy in one task" },
      ],
      Default: "Nothing to copy",
    });
    // The same copy function as the Map's children, on the list Plan returned, with the same retries.
    const once = states["Copy in one task"] as State;
    const map = states["Copy in parallel"] as { ItemProcessor: { States: Record<string, State> } };
    const child = map.ItemProcessor.States["Copy images"] as State;
    // The function itself is the Resource (payloadResponseOnly): the children's.
    expect(once.Resource).toEqual(child.Resource);
    expect(JSON.stringify(once.Resource)).toContain("<ImageSyncCopy");
    expect(once.Parameters).toEqual({ "Items.$": "$.plan.Items" });
    expect(once.Retry).toEqual(child.Retry);
    expect(once.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.error", Next: "Summarize failure" },
    ]);
    expect(once.Next).toBe("Results of the one task");
    expect(states["Results of the one task"]).toMatchObject({
      Type: "Pass",
      Parameters: { "plan.$": "$.plan", "results.$": "States.Array($.copied)" },
      Next: "Summarize",
    });
    // Plan decides with the configured threshold (its configuration, GITPOD_DR_CONFIG).
    const env = (fnByHandler(template, "image-plan").Properties.Environment as { Variables: State })
      .Variables;
    expect(JSON.parse(env.GITPOD_DR_CONFIG as string).images.fanOut.threshold).toEqual({
      images: 10,
      gigabytes: 5,
    });
  });

  it("keeps the work files in a private, encrypted, TLS-only bucket that forgets them", () => {
    const [bucket] = Object.values(template.findResources("AWS::S3::Bucket"));
    expect(bucket?.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: "AES256" } }],
    });
    expect(bucket?.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket?.Properties.LifecycleConfiguration.Rules).toEqual([
      { ExpirationInDays: 14, Prefix: "image-sync/", Status: "Enabled" },
    ]);
    const [policy] = Object.values(template.findResources("AWS::S3::BucketPolicy"));
    expect(JSON.stringify(policy?.Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it("scopes every S3 grant to the work bucket's image-sync/ prefix", () => {
    const machine = Object.values(template.findResources("AWS::StepFunctions::StateMachine"))[0] as never;
    const roles = {
      machine: roleStatements(template, machine),
      plan: roleStatements(template, fnByHandler(template, "image-plan")),
      copy: roleStatements(template, fnByHandler(template, "image-copy")),
      summarize: roleStatements(template, fnByHandler(template, "image-summarize")),
    };
    for (const [role, statements] of Object.entries(roles)) {
      for (const resource of s3Resources(statements)) {
        expect(resource, role).toMatch(/ImageSyncWork[0-9A-F]{8}\.Arn|ImageSyncWork[0-9A-F]{8}","Arn/);
        expect(resource, role).toContain("/image-sync/");
      }
    }
    expect(s3Resources(roles.copy)).toEqual([]);
    const actions = (statements: Statement[]) =>
      statements.flatMap((s) => asList(s.Action)).filter((a) => String(a).startsWith("s3:"));
    expect(actions(roles.plan)).toEqual(["s3:PutObject"]);
    expect(actions(roles.summarize)).toEqual(["s3:GetObject"]);
    // The children and Plan may push to ECR (ListImages for the bulk comparison among them).
    expect(roles.copy.flatMap((s) => asList(s.Action))).toContain("ecr:PutImage");
    expect(roles.plan.flatMap((s) => asList(s.Action))).toContain("ecr:ListImages");
  });

  it("lets Summarize (only) record in the catalog table, and gives it the catalog's configuration", () => {
    const dynamo = (statements: Statement[]) =>
      statements.filter((s) => asList(s.Action).some((a) => String(a).startsWith("dynamodb:")));
    const summarize = fnByHandler(template, "image-summarize");
    const grants = dynamo(roleStatements(template, summarize));
    expect(grants).toHaveLength(1);
    expect(asList(grants[0]?.Action)).toEqual(["dynamodb:PutItem", "dynamodb:Query", "dynamodb:GetItem"]);
    // The one table's ARN, in the DR region (no wildcard).
    const resources = asList(grants[0]?.Resource).map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(1);
    expect(resources[0]).toContain(`:dynamodb:${exampleConfig.regions.dr}:`);
    expect(resources[0]).toContain(`:table/${catalogTableName("fanout")}`);
    expect(resources[0]).not.toContain("*");
    const key = roleStatements(template, summarize).find((s) => asList(s.Action).includes("kms:Encrypt"));
    expect(key?.Condition).toEqual({
      StringEquals: {
        "kms:ViaService": `dynamodb.${exampleConfig.regions.dr}.amazonaws.com`,
        "kms:EncryptionContext:aws:dynamodb:tableName": catalogTableName("fanout"),
      },
    });
    for (const handler of ["image-plan", "image-copy"]) {
      expect(dynamo(roleStatements(template, fnByHandler(template, handler))), handler).toEqual([]);
    }
    const configOf = (fn: { Properties: Record<string, unknown> }) =>
      JSON.parse(
        (fn.Properties.Environment as { Variables: Record<string, string> }).Variables
          .GITPOD_DR_CONFIG as string,
      );
    expect(configOf(summarize).catalog).toMatchObject({
      tableName: catalogTableName("fanout"),
      region: exampleConfig.regions.dr,
    });
    expect(configOf(fnByHandler(template, "image-plan")).catalog).toBeUndefined();
    // Its recovery time: the execution's start.
    for (const step of ["Summarize", "Summarize failure"]) {
      expect(states[step]?.Parameters, step).toMatchObject({ "startedAt.$": "$$.Execution.StartTime" });
    }
  });

  it("starts the workflow on the stage's schedule, instead of the single function", () => {
    const rules = Object.values(template.findResources("AWS::Events::Rule"));
    expect(rules).toHaveLength(1);
    expect(rules[0]?.Properties.ScheduleExpression).toBe("rate(6 hours)");
    expect(JSON.stringify(rules[0]?.Properties.Targets)).toContain("ImageSyncMachine");
    expect(
      Object.values(
        template.findResources("AWS::Lambda::Function", {
          Properties: { Handler: "packages/functions/src/image-sync.handler" },
        }),
      ),
    ).toEqual([]);
  });
});

describe("cdk-nag over a stage with images.fanOut", () => {
  it("reports nothing unsuppressed for the workflow's resources", async () => {
    const app = await synthApp({
      stage: "fanoutnag",
      config: { ...exampleConfig, images: IMAGES },
      withoutRestore: true,
    });
    const unsuppressed: string[] = [];
    const logger: INagLogger = {
      onNonCompliance: (d: NagLoggerNonComplianceData) =>
        void unsuppressed.push(`${d.ruleId} ${d.findingId} on ${d.resource.node.path}`),
      onError: (d: NagLoggerErrorData) =>
        void unsuppressed.push(`error ${d.ruleId} on ${d.resource.node.path}: ${d.errorMessage}`),
      onSuppressed: () => undefined,
      onSuppressedError: () => undefined,
      onCompliance: () => undefined,
      onNotApplicable: () => undefined,
    };
    Aspects.of(app).add(new AwsSolutionsChecks({ reports: false, additionalLoggers: [logger] }));
    app.synth();
    expect(unsuppressed.filter((f) => f.includes("ImageSync") || f.includes("Copy in parallel"))).toEqual([]);
  }, 300_000);
});
