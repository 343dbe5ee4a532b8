import { describe, expect, it } from "vitest";
import { requireJobCredentials } from "../../../packages/core/src/config/images.ts";
import {
  imageJobConfig,
  parseImageJobConfig,
  parseStageConfig,
  type StageConfigInput,
} from "../../../packages/core/src/config.ts";
import { ConfigError } from "../../../packages/core/src/errors.ts";
import { DOCKER_HUB } from "../../../packages/core/src/registry/reference.ts";

const KMS_KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const SOURCE_ECR = "123456789012.dkr.ecr.eu-west-1.amazonaws.com";
const DEST_ECR = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gitpod-dr/quay-AbCdEf";

/** The realistic stage of test/unit/config.test.ts, with an images section. */
const VALID = {
  database: { identifier: "gitpod-db" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: KMS_KEY_ARN },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
  notifications: { emails: ["oncall@example.com"] },
  images: {
    schedule: "rate(1 hour)",
    rules: [
      {
        name: "gitpod",
        source: { registry: SOURCE_ECR },
        repositories: ["gitpod/*"],
        destination: { registry: DEST_ECR, repositoryPrefix: "dr/" },
      },
    ],
  },
} satisfies StageConfigInput;

type Images = NonNullable<StageConfigInput["images"]>;
type Rule = Images["rules"][number];

/** A stage whose images section is `images` (loosely typed: the mistakes under test do not type-check). */
const stage = (images: Record<string, unknown>) => ({ ...structuredClone(VALID), images });
const withImages = (change: Partial<Images> | Record<string, unknown>) =>
  stage({ ...structuredClone(VALID.images), ...change });
const withRule = (change: Partial<Rule> | Record<string, unknown>) =>
  withImages({ rules: [{ ...structuredClone(VALID.images.rules[0]), ...change }] });

function issues(raw: unknown): string[] {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("parseStageConfig accepted an invalid configuration");
}

describe("the images section of the stage configuration", () => {
  it("accepts valid rules and fills in the defaults", () => {
    const config = parseStageConfig(VALID);

    expect(config.images).toEqual({
      schedule: "rate(1 hour)",
      concurrency: 6,
      imageConcurrency: 8,
      registries: {},
      insecureRegistries: [],
      repositoryDefaults: { tagMutability: "MUTABLE", scanOnPush: true, encryption: { type: "AES256" } },
      rules: [
        {
          name: "gitpod",
          source: { registry: SOURCE_ECR },
          repositories: ["gitpod/*"],
          destination: { registry: DEST_ECR, repositoryPrefix: "dr/" },
        },
      ],
    });
  });

  it("is optional: a stage without it has no image job", () => {
    const { images: _, ...withoutImages } = structuredClone(VALID);

    expect(parseStageConfig(withoutImages).images).toBeUndefined();
  });

  it("canonicalises Docker Hub's name and parses platforms", () => {
    const config = parseStageConfig(
      withRule({
        source: { registry: "docker.io" },
        repositories: ["ubuntu", "gitpod/workspace-full"],
        tags: { include: "22\\.04|24\\.04", exclude: ".*-rc.*" },
        platforms: ["linux/amd64", "linux/arm64/v8"],
      }),
    );

    expect(config.images?.rules[0]).toMatchObject({
      source: { registry: DOCKER_HUB },
      platforms: [
        { os: "linux", architecture: "amd64" },
        { os: "linux", architecture: "arm64", variant: "v8" },
      ],
    });
  });

  it.each<[string, string, Record<string, unknown>, RegExp]>([
    [
      "a bad regex in tags.include",
      "images.rules.0.tags.include",
      withRule({ tags: { include: "v(1" } }),
      /is not a valid regular expression/,
    ],
    [
      "newest with a source that is not ECR",
      "images.rules.0.tags.newest",
      withRule({ source: { registry: "quay.io" }, tags: { newest: 5 } }),
      /only ECR reports; quay\.io is not an ECR registry/,
    ],
    ["newest of 0", "images.rules.0.tags.newest", withRule({ tags: { newest: 0 } }), /at least 1/],
    [
      "a duplicate rule name",
      "images.rules.1.name",
      withImages({ rules: [VALID.images.rules[0], { ...VALID.images.rules[0], repositories: ["other"] }] }),
      /"gitpod" is used by two rules/,
    ],
    [
      "an identity copy (same registry, no prefix)",
      "images.rules.0.destination",
      withRule({ destination: { registry: SOURCE_ECR } }),
      /copies every repository onto itself/,
    ],
    [
      "a bad secret ARN",
      "images.registries.quay.io.credentialsSecretArn",
      withImages({ registries: { "quay.io": { credentialsSecretArn: "arn:aws:s3:::bucket/secret" } } }),
      /must be a Secrets Manager secret ARN/,
    ],
    [
      "a registries key that is no host",
      "images.registries.https://quay.io",
      withImages({ registries: { "https://quay.io": { credentialsSecretArn: SECRET_ARN } } }),
      /Invalid registry "https:\/\/quay\.io"/,
    ],
    [
      "a bad platform",
      "images.rules.0.platforms.1",
      withRule({ platforms: ["linux/amd64", "linux"] }),
      /Invalid platform "linux": expected os\/architecture\[\/variant\]/,
    ],
    ["concurrency 0", "images.concurrency", withImages({ concurrency: 0 }), /1/],
    ["concurrency 64", "images.concurrency", withImages({ concurrency: 64 }), /must be at most 32/],
    [
      "imageConcurrency 64",
      "images.imageConcurrency",
      withImages({ imageConcurrency: 64 }),
      /must be at most 32/,
    ],
    [
      "a source with a scheme",
      "images.rules.0.source.registry",
      withRule({ source: { registry: "https://quay.io" } }),
      /Invalid registry "https:\/\/quay\.io"/,
    ],
    [
      "an upper-case repository",
      "images.rules.0.repositories.0",
      withRule({ repositories: ["Gitpod/*"] }),
      /repository name/,
    ],
    ["no repositories", "images.rules.0.repositories", withRule({ repositories: [] }), /at least one/],
    [
      "a prefix without a trailing separator",
      "images.rules.0.destination.repositoryPrefix",
      withRule({ destination: { registry: DEST_ECR, repositoryPrefix: "dr" } }),
      /ending in \//,
    ],
    ["an upper-case rule name", "images.rules.0.name", withRule({ name: "Gitpod" }), /lower-case/],
    ["no rules", "images.rules", withImages({ rules: [] }), /at least one rule/],
    [
      "a bad schedule",
      "images.schedule",
      withImages({ schedule: "rate(1 hours)" }),
      /invalid schedule expression/,
    ],
    [
      "a KMS key that is not an ARN",
      "images.repositoryDefaults.encryption.kmsKeyArn",
      withImages({ repositoryDefaults: { encryption: { type: "KMS", kmsKeyArn: "alias/ecr" } } }),
      /must be a KMS key ARN/,
    ],
    ["an unknown field", "images", withImages({ schedul: "rate(1 hour)" }), /schedul/],
  ])("rejects %s, naming %s", (_, path, raw, reason) => {
    const found = issues(raw);

    const issue = found.find((i) => i.startsWith(`${path}: `));
    expect(issue, `issues were: ${found.join(" | ")}`).toBeDefined();
    expect(issue).toMatch(reason);
  });

  it("accepts a non-ECR destination whose credentials are configured, under either Docker Hub name", () => {
    const config = parseStageConfig(
      withImages({
        registries: { "docker.io": { credentialsSecretArn: SECRET_ARN } },
        rules: [
          { ...VALID.images.rules[0], destination: { registry: "index.docker.io", repositoryPrefix: "dr/" } },
        ],
      }),
    );

    expect(config.images?.rules[0]?.destination.registry).toBe(DOCKER_HUB);
  });

  it("accepts the same registry as source and destination with a prefix", () => {
    const config = parseStageConfig(
      withRule({ destination: { registry: SOURCE_ECR, repositoryPrefix: "backup/" } }),
    );

    expect(config.images?.rules[0]?.destination).toEqual({
      registry: SOURCE_ECR,
      repositoryPrefix: "backup/",
    });
  });
});

describe("the image job's run-time configuration", () => {
  it("round-trips through imageJobConfig, JSON and parseImageJobConfig", () => {
    const parsed = parseStageConfig(
      withImages({
        concurrency: 12,
        registries: { "quay.io": { credentialsSecretArn: SECRET_ARN } },
        repositoryDefaults: {
          tagMutability: "IMMUTABLE",
          encryption: { type: "KMS", kmsKeyArn: KMS_KEY_ARN },
        },
        rules: [
          {
            ...VALID.images.rules[0],
            tags: { include: "v\\d+\\..*", newest: 3 },
            platforms: ["linux/arm/v7", "linux/amd64"],
          },
          {
            name: "quay",
            source: { registry: "quay.io" },
            repositories: ["gitpod/workspace-base"],
            destination: { registry: DEST_ECR, stripPrefix: "gitpod/", repositoryPrefix: "quay/" },
          },
        ],
      }),
    );
    const images = parsed.images;
    if (!images) throw new Error("images missing");

    const json = JSON.stringify(imageJobConfig("prod", images));
    const roundTripped = parseImageJobConfig(json);

    expect(roundTripped).toEqual({ stage: "prod", images });
    expect(roundTripped.images.rules[0]?.platforms).toEqual([
      { os: "linux", architecture: "arm", variant: "v7" },
      { os: "linux", architecture: "amd64" },
    ]);
  });

  it.each<[string, string | undefined, RegExp]>([
    ["missing", undefined, /GITPOD_DR_CONFIG is not set/],
    ["not JSON", "{stage:", /not valid JSON/],
    ["without images", JSON.stringify({ stage: "prod" }), /images: /],
    [
      "with an invalid rule",
      JSON.stringify({ stage: "prod", images: { ...VALID.images, concurrency: 0 } }),
      /images\.concurrency: /,
    ],
  ])("rejects a configuration that is %s with ConfigError", (_, json, message) => {
    expect(() => parseImageJobConfig(json)).toThrow(ConfigError);
    expect(() => parseImageJobConfig(json)).toThrow(message);
  });
});

describe("the scheduled job's credentials for destinations that are not ECR", () => {
  it("a stage file needs none (the CLI uses the docker login), but the job refuses it at synth", () => {
    const stage = parseStageConfig(
      withRule({ destination: { registry: "quay.io", repositoryPrefix: "dr/" } }),
    );
    const images = stage.images;
    if (!images) throw new Error("images missing");
    expect(() => requireJobCredentials(images)).toThrow(ConfigError);
    expect(() => requireJobCredentials(images)).toThrow(
      "images.rules.0.destination.registry: quay.io is not ECR, so the scheduled job needs credentials to push to it: add it under images.registries with a credentialsSecretArn",
    );
  });

  it("accepts ECR destinations and destinations listed under images.registries", () => {
    const ecr = parseStageConfig(VALID).images;
    const listed = parseStageConfig(
      withImages({
        registries: { "quay.io": { credentialsSecretArn: SECRET_ARN } },
        rules: [{ ...VALID.images.rules[0], destination: { registry: "quay.io", repositoryPrefix: "dr/" } }],
      }),
    ).images;
    if (!ecr || !listed) throw new Error("images missing");
    expect(() => requireJobCredentials(ecr)).not.toThrow();
    expect(() => requireJobCredentials(listed)).not.toThrow();
  });
});
