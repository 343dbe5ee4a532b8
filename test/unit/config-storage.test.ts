import { describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import {
  parseStageConfig,
  parseStorageJobConfig,
  type StageConfigInput,
  storageConfigSchema,
} from "../../packages/core/src/config.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";

type StorageInput = NonNullable<StageConfigInput["storage"]>;

const MINIMAL = {
  schedule: "rate(1 hour)",
  buckets: ["gitpod-workspace-backups"],
  destinations: { buckets: ["gitpod-workspace-backups-dr"] },
} satisfies StorageInput;

/** A stage whose storage section is `storage` (loosely typed: the mistakes under test do not type-check). */
const stage = (storage: Record<string, unknown>) => ({ ...structuredClone(exampleConfig), storage });

/** The `path: reason` lines of the ConfigError parseStageConfig throws; fails the test if it accepts. */
function issues(storage: Record<string, unknown>): string[] {
  try {
    parseStageConfig(stage(storage));
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("parseStageConfig accepted an invalid storage section");
}

const JOB = {
  stage: "prod",
  account: "123456789012",
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  storage: MINIMAL,
};

function jobConfigError(json: string | undefined): ConfigError {
  try {
    parseStorageJobConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("parseStorageJobConfig accepted an invalid configuration");
}

describe("the storage section of the stage configuration", () => {
  it("fills in the defaults around one named bucket", () => {
    const storage = parseStageConfig(stage(MINIMAL)).storage;

    expect(storage).toEqual({
      schedule: "rate(1 hour)",
      buckets: ["gitpod-workspace-backups"],
      bucketPrefixes: [],
      destinations: { buckets: ["gitpod-workspace-backups-dr"], bucketPrefixes: [] },
      prefixes: [],
      canary: {
        prefix: ".gitpod-dr/canary/",
        stalledAfterMinutes: 60,
        keepMinutes: 1440,
        discoveredPerRun: 20,
      },
      expect: { deleteMarkerReplication: "any", replicationTimeControl: false, replicationMetrics: false },
      thresholds: {
        latencySeconds: 900,
        operationsPending: 10_000,
        bytesPending: 10 * 1024 ** 3,
        operationsFailed: 0,
      },
      sampling: { prefix: "", size: 20, listLimit: 1000 },
      repair: { enabled: false },
      kmsKeyArns: [],
    });
  });

  it("fills in the defaults inside a section given in part", () => {
    const storage = storageConfigSchema.parse({
      ...MINIMAL,
      canary: { keepMinutes: 60 },
      sampling: { size: 5 },
    });

    expect(storage.canary).toEqual({
      prefix: ".gitpod-dr/canary/",
      stalledAfterMinutes: 60,
      keepMinutes: 60,
      discoveredPerRun: 20,
    });
    expect(storage.sampling).toEqual({ prefix: "", size: 5, listLimit: 1000 });
  });

  it("accepts the example's storage section as written", () => {
    expect(parseStageConfig(exampleConfig).storage).toMatchObject({
      buckets: ["gitpod-workspace-backups"],
      bucketPrefixes: ["gitpod-user-"],
    });
  });

  it("accepts a stage without storage (no check deployed)", () => {
    const { storage: _, ...without } = structuredClone(exampleConfig) as StageConfigInput;

    expect(parseStageConfig(without).storage).toBeUndefined();
  });

  it("asks for at least one bucket or bucket prefix, and for the destinations", () => {
    expect(issues({ schedule: "rate(1 hour)" })).toEqual([
      "storage.buckets: name at least one bucket, or a bucket name prefix in bucketPrefixes",
      "storage.destinations: name the destination buckets (or their name prefixes): the check reads them, and its IAM policy allows only those",
    ]);
    expect(
      issues({
        schedule: "rate(1 hour)",
        buckets: [],
        bucketPrefixes: [],
        destinations: MINIMAL.destinations,
      }),
    ).toEqual(["storage.buckets: name at least one bucket, or a bucket name prefix in bucketPrefixes"]);
    expect(
      parseStageConfig(
        stage({
          schedule: "rate(1 hour)",
          bucketPrefixes: ["gitpod-user-"],
          destinations: MINIMAL.destinations,
        }),
      ).storage?.buckets,
    ).toEqual([]);
  });

  it("rejects bucket names S3 does not allow, by their position", () => {
    const bad = issues({
      ...MINIMAL,
      buckets: ["gitpod-ok", "Gitpod_Backups", "ab", "-leading-hyphen", `a${"b".repeat(63)}`],
      bucketPrefixes: ["Gitpod-User-"],
      destinations: { buckets: ["dr_bucket"] },
    });

    const reason = "must be an S3 bucket name (3-63 lower-case letters, digits, . and -)";
    expect(bad).toEqual([
      `storage.buckets.1: ${reason}`,
      `storage.buckets.2: ${reason}`,
      `storage.buckets.3: ${reason}`,
      `storage.buckets.4: ${reason}`,
      "storage.bucketPrefixes.0: must be the start of an S3 bucket name (lower-case letters, digits, . and -)",
      `storage.destinations.buckets.0: ${reason}`,
    ]);
  });

  it("refuses a * in the canary prefix: it would be a wildcard in the IAM policy", () => {
    expect(issues({ ...MINIMAL, canary: { prefix: "*/" } })).toEqual([
      "storage.canary.prefix: must be a key prefix ending in / (letters, digits, ! _ . ' ( ) / -)",
    ]);
  });

  it("wants the canary prefix to end in /", () => {
    expect(issues({ ...MINIMAL, canary: { prefix: ".gitpod-dr/canary" } })).toEqual([
      "storage.canary.prefix: must be a key prefix ending in / (letters, digits, ! _ . ' ( ) / -)",
    ]);
    expect(
      parseStageConfig(stage({ ...MINIMAL, canary: { prefix: "ops/canaries/" } })).storage?.canary.prefix,
    ).toBe("ops/canaries/");
  });

  it("wants the canary prefix under a prefix replication covers, or canaries never replicate", () => {
    expect(issues({ ...MINIMAL, prefixes: ["workspaces/", "registry/"] })).toEqual([
      "storage.canary.prefix: must lie under one of the prefixes replication covers (workspaces/, registry/), or canaries never replicate",
    ]);
    expect(
      parseStageConfig(
        stage({ ...MINIMAL, prefixes: ["workspaces/"], canary: { prefix: "workspaces/.gitpod-dr/canary/" } }),
      ).storage?.canary.prefix,
    ).toBe("workspaces/.gitpod-dr/canary/");
  });

  it("rejects negative thresholds and out-of-range settings, by path", () => {
    const bad = issues({
      ...MINIMAL,
      canary: { stalledAfterMinutes: 4, keepMinutes: -1, discoveredPerRun: 501 },
      thresholds: { latencySeconds: 0, operationsPending: -1, bytesPending: -1, operationsFailed: -1 },
      sampling: { size: 201, listLimit: 0 },
    });

    expect(bad.map((line) => line.split(":")[0])).toEqual([
      "storage.canary.stalledAfterMinutes",
      "storage.canary.keepMinutes",
      "storage.canary.discoveredPerRun",
      "storage.thresholds.latencySeconds",
      "storage.thresholds.operationsPending",
      "storage.thresholds.bytesPending",
      "storage.thresholds.operationsFailed",
      "storage.sampling.size",
      "storage.sampling.listLimit",
    ]);
  });

  it("wants the SSE-KMS bucket keys as key ARNs", () => {
    expect(issues({ ...MINIMAL, kmsKeyArns: ["alias/gitpod-backups"] })).toEqual([
      "storage.kmsKeyArns.0: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)",
    ]);
  });

  it("rejects an unknown delete-marker expectation and an invalid schedule", () => {
    const bad = issues({
      ...MINIMAL,
      schedule: "rate(1 fortnight)",
      expect: { deleteMarkerReplication: "yes" },
    });

    expect(bad.map((line) => line.split(":")[0])).toEqual([
      "storage.schedule",
      "storage.expect.deleteMarkerReplication",
    ]);
  });

  it("rejects unknown keys at every level, so a typo is not silently ignored", () => {
    const bad = issues({
      ...MINIMAL,
      bucket: "gitpod-workspace-backups",
      canary: { stalledAfterMinute: 30 },
      repair: { enable: true },
      destinations: { bucket: ["x-dr"] },
    });

    expect(bad).toEqual([
      'storage.destinations: Unrecognized key: "bucket"',
      'storage.canary: Unrecognized key: "stalledAfterMinute"',
      'storage.repair: Unrecognized key: "enable"',
      'storage: Unrecognized key: "bucket"',
      "storage.destinations: name the destination buckets (or their name prefixes): the check reads them, and its IAM policy allows only those",
    ]);
  });
});

describe("parseStorageJobConfig", () => {
  it("round-trips the configuration the stack writes, defaults included", () => {
    const written = {
      ...JOB,
      batchRoleArn: "arn:aws:iam::123456789012:role/repair",
      storage: storageConfigSchema.parse(exampleConfig.storage),
    };

    const parsed = parseStorageJobConfig(JSON.stringify(written));

    expect(parsed).toEqual(written);
    expect(parseStorageJobConfig(JSON.stringify(parsed))).toEqual(parsed);
  });

  it("fills in the storage defaults of a minimal configuration", () => {
    const parsed = parseStorageJobConfig(JSON.stringify(JOB));

    expect(parsed.storage.canary.prefix).toBe(".gitpod-dr/canary/");
    expect(parsed.batchRoleArn).toBeUndefined();
  });

  it("reports a missing configuration", () => {
    expect(jobConfigError(undefined).message).toBe(
      "The S3 replication check configuration is missing (GITPOD_DR_CONFIG is not set)",
    );
    expect(jobConfigError("").message).toContain("is missing");
  });

  it("reports text that is not JSON", () => {
    expect(jobConfigError("{stage: prod}").message).toMatch(
      /^The S3 replication check configuration is not valid JSON: /,
    );
  });

  it.each([
    ["an 11-digit account", { ...JOB, account: "12345678901" }, "account: must be a 12-digit account id"],
    [
      "an unresolved account token",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a CDK token as it reads when left unresolved
      { ...JOB, account: "${Token[AWS.AccountId.8]}" },
      "account: must be a 12-digit account id",
    ],
    [
      "a region name that is not one",
      { ...JOB, regions: { primary: "eu-west-1", dr: "Frankfurt" } },
      'regions.dr: must be an AWS region name such as eu-west-1, not "Frankfurt"',
    ],
    ["an empty stage", { ...JOB, stage: "" }, "stage: Too small: expected string to have >=1 characters"],
    ["an unknown key", { ...JOB, role: "x" }, '(root): Unrecognized key: "role"'],
  ])("names the field of %s", (_, raw, issue) => {
    const error = jobConfigError(JSON.stringify(raw));

    expect(error.issues).toEqual([issue]);
    expect(error.message).toBe(`Invalid S3 replication check configuration:\n  ${issue}`);
  });

  it("reports a storage section without buckets", () => {
    const error = jobConfigError(
      JSON.stringify({ ...JOB, storage: { schedule: "rate(1 hour)", destinations: MINIMAL.destinations } }),
    );

    expect(error.issues).toEqual([
      "storage.buckets: name at least one bucket, or a bucket name prefix in bucketPrefixes",
    ]);
  });
});
