import type { StageConfigInput } from "@gitpod-dr/core/config";
import { parseImageJobConfig, parseStageConfig } from "@gitpod-dr/core/config";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth } from "../../packages/sim/src/synth.ts";
import { Images } from "../../stacks/Images.ts";

const SOURCE = `${ACCOUNT}.dkr.ecr.eu-west-1.amazonaws.com`;
const DEST = `${ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com`;
const HANDLER = "packages/functions/src/image-sync.handler";
/** Without the random suffix Secrets Manager adds: the policy must also allow `<arn>-??????`. */
const DOCKERHUB_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:gitpod-dr/dockerhub`;
/** A complete ARN, with its suffix. */
const QUAY_SECRET = `arn:aws:secretsmanager:eu-west-1:${ACCOUNT}:secret:gitpod-dr/quay-AbCdEf`;
const ECR_KEY = `arn:aws:kms:eu-central-1:${ACCOUNT}:key/aaaaaaaa-1111-2222-3333-444444444444`;

const IMAGES = {
  schedule: "rate(6 hours)",
  registries: {
    "docker.io": { credentialsSecretArn: DOCKERHUB_SECRET },
    "quay.io": { credentialsSecretArn: QUAY_SECRET },
  },
  repositoryDefaults: { encryption: { type: "KMS", kmsKeyArn: ECR_KEY } },
  rules: [
    {
      name: "gitpod",
      source: { registry: SOURCE },
      repositories: ["gitpod/*"],
      destination: { registry: DEST, repositoryPrefix: "dr/" },
    },
    {
      name: "hub",
      source: { registry: "docker.io" },
      repositories: ["gitpod/workspace-full"],
      tags: { include: "2026-.*" },
      destination: { registry: DEST, repositoryPrefix: "dr/hub/" },
    },
  ],
} satisfies StageConfigInput["images"];

function imageSyncFunctions(template: Template) {
  return Object.entries(
    template.findResources("AWS::Lambda::Function", { Properties: { Handler: HANDLER } }),
  );
}

function functionStatements(template: Template): Statement[] {
  const fn = imageSyncFunctions(template)[0]?.[1];
  if (!fn) throw new Error("the image sync function is not in the template");
  const role = (fn.Properties.Role["Fn::GetAtt"] as string[])[0];
  const policies = template.findResources("AWS::IAM::Policy", { Properties: { Roles: [{ Ref: role }] } });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const resourcesOf = (statements: Statement[], sid: string) =>
  asList(statements.find((s) => s.Sid === sid)?.Resource ?? [])
    .map(arn)
    .sort();

const resourcesFor = (statements: Statement[], action: string) =>
  statements
    .filter((s) => asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource).map(arn))
    .sort();

describe("a stage with an images section", () => {
  let images: Template;
  let statements: Statement[];

  beforeAll(async () => {
    images = await synth(Images, {
      stage: "images",
      config: { ...exampleConfig, images: IMAGES },
      withoutRestore: true,
    });
    statements = functionStatements(images);
  });

  it("deploys the ImageSync function with Lambda's maximum timeout and a configuration that parses", () => {
    const fns = imageSyncFunctions(images);
    expect(fns).toHaveLength(1);
    const fn = fns[0]?.[1];
    expect(fn?.Properties.Timeout).toBe(900);
    expect(fn?.Properties.Runtime).toBe("nodejs22.x");
    const vars = fn?.Properties.Environment.Variables;
    expect(vars.GITPOD_DR_STAGE).toBe("images");
    expect(vars.GITPOD_DR_TOPIC_ARN).toBeDefined();

    const config = parseImageJobConfig(vars.GITPOD_DR_CONFIG);

    const stage = parseStageConfig({ ...exampleConfig, images: IMAGES });
    expect(config).toEqual({
      stage: "images",
      images: stage.images,
      // A complete sync is recorded in the stage's catalog, in the DR region.
      catalog: catalogConfig("images", stage),
    });
  });

  it("schedules the job from the stage's expression, targeting the function", () => {
    const [logicalId] = imageSyncFunctions(images)[0] ?? [];
    images.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(6 hours)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [logicalId, "Arn"] } })],
    });
  });

  it("allows ecr:GetAuthorizationToken as the only ECR action on *", () => {
    const ecrOnStar = statements
      .filter((s) => asList(s.Resource).includes("*"))
      .flatMap((s) => asList(s.Action))
      .filter((a) => a.startsWith("ecr:"));

    expect(ecrOnStar).toEqual(["ecr:GetAuthorizationToken"]);
    for (const s of statements) for (const action of asList(s.Action)) expect(action).not.toContain("*");
  });

  it("scopes pulls to the source repositories and pushes to the destination prefix", () => {
    const source = `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/gitpod/*`;
    const destinations = [
      `arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/dr/gitpod/*`,
      `arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/dr/hub/gitpod/workspace-full`,
    ];

    expect(resourcesOf(statements, "PullFromSourceRepositories")).toEqual([source]);
    for (const action of [
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
      "ecr:BatchCheckLayerAvailability",
    ]) {
      expect(resourcesFor(statements, action)).toEqual([source, ...destinations].sort());
    }
    for (const action of [
      "ecr:InitiateLayerUpload",
      "ecr:UploadLayerPart",
      "ecr:CompleteLayerUpload",
      "ecr:PutImage",
      "ecr:CreateRepository",
    ]) {
      expect(resourcesFor(statements, action)).toEqual(destinations);
    }
    // Listing repositories to match gitpod/* names only the source registry's repositories.
    expect(resourcesFor(statements, "ecr:DescribeRepositories")).toEqual([
      `arn:aws:ecr:eu-west-1:${ACCOUNT}:repository/*`,
    ]);
  });

  it("tags only the repositories it creates, with its own tag", () => {
    const tag = statements.find((s) => asList(s.Action).includes("ecr:TagResource"));

    expect(asList(tag?.Resource).map(arn).sort()).toEqual([
      `arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/dr/gitpod/*`,
      `arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/dr/hub/gitpod/workspace-full`,
    ]);
    expect(tag?.Condition).toEqual({
      StringEquals: { "aws:RequestTag/gitpod-dr:created-by": "gitpod-dr" },
      // Only that tag: no other key may be set through this permission.
      "ForAllValues:StringEquals": { "aws:TagKeys": ["gitpod-dr:created-by"] },
    });
  });

  it("reads only the configured secrets, matching an ARN without its suffix as Secrets Manager names it", () => {
    expect(resourcesFor(statements, "secretsmanager:GetSecretValue")).toEqual(
      [DOCKERHUB_SECRET, `${DOCKERHUB_SECRET}-??????`, QUAY_SECRET, `${QUAY_SECRET}-??????`].sort(),
    );
  });

  it("may use the repositories' KMS key, and publish only to the alerts topic", () => {
    expect(resourcesFor(statements, "kms:CreateGrant")).toEqual([ECR_KEY]);
    const publish = statements.filter((s) => asList(s.Action).includes("sns:Publish"));
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]?.Resource)).toMatch(/AlertsTopic/);
  });
});

describe("a Docker Hub rule with a one-component repository", () => {
  it("pushes to the library/ name Docker Hub serves it under, not the name as written", async () => {
    const images = await synth(Images, {
      stage: "hubimages",
      config: {
        ...exampleConfig,
        images: {
          ...IMAGES,
          rules: [
            {
              name: "ubuntu",
              source: { registry: "docker.io" },
              repositories: ["ubuntu"],
              destination: { registry: DEST, repositoryPrefix: "dr/" },
            },
          ],
        },
      },
      withoutRestore: true,
    });
    const statements = functionStatements(images);
    const destination = `arn:aws:ecr:eu-central-1:${ACCOUNT}:repository/dr/library/ubuntu`;

    for (const action of ["ecr:PutImage", "ecr:CreateRepository", "ecr:TagResource"]) {
      expect(resourcesFor(statements, action)).toEqual([destination]);
    }
  }, 300_000);
});

describe("a stage without an images section", () => {
  it("creates no ImageSync function and no schedule for it", async () => {
    const { images: _, ...withoutImages } = exampleConfig as StageConfigInput;
    const images = await synth(Images, { stage: "noimages", config: withoutImages, withoutRestore: true });

    expect(imageSyncFunctions(images)).toEqual([]);
    expect(Object.keys(images.findResources("AWS::Events::Rule"))).toEqual([]);
  }, 300_000);
});
