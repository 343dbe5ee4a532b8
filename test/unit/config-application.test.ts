import { describe, expect, it } from "vitest";
import {
  applicationConfigSchema,
  parseStageConfig,
  parseVeleroJobConfig,
  type StageConfigInput,
  veleroJobConfigSchema,
} from "../../packages/core/src/config.ts";
import { ConfigError } from "../../packages/core/src/errors.ts";

const KMS_KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** The realistic stage of test/unit/config.test.ts, with an application section. */
const VALID = {
  database: { identifier: "gitpod-db" },
  regions: { primary: "eu-west-1", dr: "eu-central-1" },
  dr: { kmsKeyArn: KMS_KEY_ARN },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
  notifications: { emails: ["oncall@example.com"] },
  application: {
    cluster: { name: "gitpod" },
    schedule: "cron(0 2 * * ? *)",
  },
} satisfies StageConfigInput;

type Velero = NonNullable<NonNullable<StageConfigInput["application"]>["velero"]>;

/** A stage whose application section is `application` (loosely typed: the mistakes under test do not type-check). */
const stage = (application: Record<string, unknown>) => ({ ...structuredClone(VALID), application });
const withApplication = (change: Record<string, unknown>) =>
  stage({ ...structuredClone(VALID.application), ...change });
const withVelero = (velero: Partial<Velero> | Record<string, unknown>) => withApplication({ velero });

function issues(raw: unknown): string[] {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error("parseStageConfig accepted an invalid configuration");
}

function configError(json: string | undefined): ConfigError {
  try {
    parseVeleroJobConfig(json);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("parseVeleroJobConfig accepted an invalid configuration");
}

const DEFAULT_VELERO = {
  namespace: "velero",
  storageLocation: "default",
  ttl: "720h0m0s",
  includedNamespaces: ["gitpod"],
  fsBackupUploader: "kopia",
};

describe("the application section of the stage configuration", () => {
  it("is optional", () => {
    const { application: _, ...withoutApplication } = structuredClone(VALID);
    expect(parseStageConfig(withoutApplication).application).toBeUndefined();
  });

  it("fills in the defaults", () => {
    expect(parseStageConfig(VALID).application).toEqual({
      cluster: { name: "gitpod" },
      schedule: "cron(0 2 * * ? *)",
      velero: DEFAULT_VELERO,
      kots: "auto",
      stuckAfterMinutes: 240,
    });
  });

  it("fills in the defaults of a velero section given in part", () => {
    expect(parseStageConfig(withVelero({ ttl: "168h" })).application?.velero).toEqual({
      ...DEFAULT_VELERO,
      ttl: "168h",
    });
    expect(parseStageConfig(withVelero({})).application?.velero).toEqual(DEFAULT_VELERO);
  });

  it("keeps every field it is given", () => {
    const application = {
      cluster: { name: "gitpod-prod_eu-1" },
      schedule: "rate(12 hours)",
      velero: {
        namespace: "backup-system",
        storageLocation: "aws.primary",
        ttl: "1h30m",
        includedNamespaces: ["gitpod", "kotsadm"],
        excludedNamespaces: ["gitpod-tmp"],
        includedResources: ["*"],
        excludedResources: ["events", "events.events.k8s.io"],
        snapshotVolumes: false,
        defaultVolumesToFsBackup: true,
        fsBackupUploader: "restic",
      },
      kots: "off",
      stuckAfterMinutes: 10,
      vpc: {
        subnetIds: ["subnet-0123456789abcdef0", "subnet-89abcdef"],
        securityGroupIds: ["sg-0123456789abcdef0"],
      },
    } satisfies StageConfigInput["application"];

    expect(parseStageConfig(stage(application)).application).toEqual(application);
  });

  it.each([["720h"], ["720h0m0s"], ["90m"], ["45s"], ["1h30m"], ["2h0s"]])("accepts the ttl %j", (ttl) => {
    expect(parseStageConfig(withVelero({ ttl })).application?.velero.ttl).toBe(ttl);
  });

  it.each([["3 days"], ["30d"], ["720"], [""], ["h"], ["720H"], ["-1h"], ["0m720h"]])(
    "rejects the ttl %j, naming the field",
    (ttl) => {
      expect(issues(withVelero({ ttl }))).toEqual([
        "application.velero.ttl: must be a Go duration such as 720h or 720h0m0s",
      ]);
    },
  );

  it.each([["velero"], ["gitpod"]])(
    "rejects Velero's namespace %j among the included namespaces: it needs a namespace of its own",
    (namespace) => {
      const found = issues(withVelero({ namespace, includedNamespaces: ["gitpod", "velero"] }));

      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(/^application\.velero\.namespace: /);
      expect(found[0]).toContain("namespace of its own");
      expect(found[0]).toContain(`${namespace} is in velero.includedNamespaces`);
    },
  );

  it("rejects the default Velero namespace included by name", () => {
    const found = issues(withVelero({ includedNamespaces: ["velero"] }));

    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^application\.velero\.namespace: .*namespace of its own/);
  });

  it.each([
    ["Velero", "application.velero.namespace"],
    ["velero_ns", "application.velero.namespace"],
    ["-velero", "application.velero.namespace"],
    ["velero-", "application.velero.namespace"],
    ["v".repeat(64), "application.velero.namespace"],
    ["", "application.velero.namespace"],
  ])("rejects the Velero namespace %j, naming the field", (namespace, path) => {
    expect(issues(withVelero({ namespace }))).toEqual([
      `${path}: must be a Kubernetes namespace name (lower-case RFC 1123 label)`,
    ]);
  });

  it("rejects bad application namespace names, naming each", () => {
    expect(
      issues(withVelero({ includedNamespaces: ["gitpod", "Kots", "a.b"], excludedNamespaces: ["x_y"] })),
    ).toEqual([
      "application.velero.includedNamespaces.1: must be a Kubernetes namespace name (lower-case RFC 1123 label)",
      "application.velero.includedNamespaces.2: must be a Kubernetes namespace name (lower-case RFC 1123 label)",
      "application.velero.excludedNamespaces.0: must be a Kubernetes namespace name (lower-case RFC 1123 label)",
    ]);
  });

  it("rejects an empty list of included namespaces", () => {
    expect(issues(withVelero({ includedNamespaces: [] }))).toEqual([
      "application.velero.includedNamespaces: must list at least one namespace",
    ]);
  });

  it.each([["Default"], ["-default"], ["default_bsl"]])(
    "rejects the storage location %j",
    (storageLocation) => {
      expect(issues(withVelero({ storageLocation }))).toEqual([
        "application.velero.storageLocation: must be a Kubernetes object name (lower-case RFC 1123 subdomain)",
      ]);
    },
  );

  // Velero fails a Backup whose lists are like these with FailedValidation (ValidateIncludesExcludes):
  // found only at the next run, as "the previous backup failed", instead of at deploy time.
  it.each([
    [
      "a namespace both included and excluded",
      { includedNamespaces: ["gitpod", "kotsadm"], excludedNamespaces: ["kotsadm"] },
      "application.velero.excludedNamespaces",
    ],
    [
      "a resource both included and excluded",
      { includedResources: ["deployments", "secrets"], excludedResources: ["secrets"] },
      "application.velero.excludedResources",
    ],
    ["excluded resources with *", { excludedResources: ["*"] }, "application.velero.excludedResources"],
    [
      "included resources with * and more",
      { includedResources: ["*", "pods"] },
      "application.velero.includedResources",
    ],
  ])("rejects %s, which Velero fails as FailedValidation", (_, velero, path) => {
    const found = issues(withVelero(velero));

    expect(found).toHaveLength(1);
    expect(found[0]?.startsWith(`${path}: `)).toBe(true);
  });

  it.each([["-gitpod"], ["gitpod.prod"], ["gitpod prod"], [""], ["g".repeat(101)], ["_gitpod"]])(
    "rejects the cluster name %j, naming the field",
    (name) => {
      expect(issues(withApplication({ cluster: { name } }))).toEqual([
        "application.cluster.name: must be an EKS cluster name",
      ]);
    },
  );

  it.each([["gitpod"], ["0gitpod"], ["Gitpod_Prod-1"], ["g".repeat(100)]])(
    "accepts the cluster name %j",
    (name) => {
      expect(parseStageConfig(withApplication({ cluster: { name } })).application?.cluster.name).toBe(name);
    },
  );

  it("rejects subnet and security group ids that are not ids, naming each", () => {
    expect(
      issues(
        withApplication({
          vpc: {
            subnetIds: ["subnet-0123456789abcdef0", "subnet-XYZ", "sg-0123456789abcdef0"],
            securityGroupIds: ["sg-123", "subnet-0123456789abcdef0"],
          },
        }),
      ),
    ).toEqual([
      "application.vpc.subnetIds.1: must be a subnet id (subnet-…)",
      "application.vpc.subnetIds.2: must be a subnet id (subnet-…)",
      "application.vpc.securityGroupIds.0: must be a security group id (sg-…)",
      "application.vpc.securityGroupIds.1: must be a security group id (sg-…)",
    ]);
  });

  it("rejects a vpc without subnets or security groups", () => {
    const found = issues(withApplication({ vpc: { subnetIds: [], securityGroupIds: [] } }));

    expect(found.map((issue) => issue.split(":")[0])).toEqual([
      "application.vpc.subnetIds",
      "application.vpc.securityGroupIds",
    ]);
    expect(issues(withApplication({ vpc: { subnetIds: ["subnet-0123456789abcdef0"] } }))[0]).toMatch(
      /^application\.vpc\.securityGroupIds: /,
    );
  });

  it.each([[5], [9], [0], [-1]])("rejects stuckAfterMinutes %j, naming the field", (stuckAfterMinutes) => {
    expect(issues(withApplication({ stuckAfterMinutes }))).toEqual([
      "application.stuckAfterMinutes: must be at least 10",
    ]);
  });

  it("rejects a stuckAfterMinutes that is not a whole number", () => {
    expect(issues(withApplication({ stuckAfterMinutes: 30.5 }))[0]).toMatch(
      /^application\.stuckAfterMinutes: /,
    );
  });

  it("rejects a kots mode it does not know", () => {
    expect(issues(withApplication({ kots: "maybe" }))[0]).toMatch(/^application\.kots: /);
  });

  it("rejects a restic uploader spelled otherwise", () => {
    expect(issues(withVelero({ fsBackupUploader: "Restic" }))[0]).toMatch(
      /^application\.velero\.fsBackupUploader: /,
    );
  });

  it("rejects a bad schedule, naming the field", () => {
    expect(issues(withApplication({ schedule: "every night" }))[0]).toMatch(
      /^application\.schedule: invalid schedule expression "every night"/,
    );
  });

  it("rejects unknown keys at every level, naming each", () => {
    const found = issues(
      withApplication({
        clusterName: "gitpod",
        cluster: { name: "gitpod", region: "eu-west-1" },
        velero: { namespaces: ["gitpod"] },
        vpc: {
          subnetIds: ["subnet-0123456789abcdef0"],
          securityGroupIds: ["sg-0123456789abcdef0"],
          vpcId: "x",
        },
      }),
    );

    expect([...found].sort()).toEqual(
      [
        'application: Unrecognized key: "clusterName"',
        'application.cluster: Unrecognized key: "region"',
        'application.velero: Unrecognized key: "namespaces"',
        'application.vpc: Unrecognized key: "vpcId"',
      ].sort(),
    );
  });

  it("requires the cluster and the schedule", () => {
    const found = issues(stage({}));

    expect(found.map((issue) => issue.split(":")[0]).sort()).toEqual([
      "application.cluster",
      "application.schedule",
    ]);
  });
});

describe("parseVeleroJobConfig", () => {
  const jobConfig = (application: Record<string, unknown>) =>
    veleroJobConfigSchema.parse({ stage: "prod", region: "eu-west-1", application });

  it("round-trips the configuration the stack writes, defaults included", () => {
    const config = jobConfig(VALID.application);

    expect(parseVeleroJobConfig(JSON.stringify(config))).toEqual(config);
    expect(config).toEqual({
      stage: "prod",
      region: "eu-west-1",
      application: applicationConfigSchema.parse(VALID.application),
    });
  });

  it("round-trips a configuration with every field set", () => {
    const config = jobConfig({
      cluster: { name: "gitpod" },
      schedule: "rate(6 hours)",
      velero: {
        namespace: "backup-system",
        includedNamespaces: ["gitpod", "kotsadm"],
        excludedResources: ["events"],
        snapshotVolumes: true,
        defaultVolumesToFsBackup: false,
        fsBackupUploader: "restic",
      },
      kots: "on",
      stuckAfterMinutes: 60,
      vpc: { subnetIds: ["subnet-0123456789abcdef0"], securityGroupIds: ["sg-0123456789abcdef0"] },
    });

    expect(parseVeleroJobConfig(JSON.stringify(config))).toEqual(config);
    // What the stack derives from the stage configuration is the same thing.
    const application = parseStageConfig(stage(config.application)).application;
    expect(jobConfig(application as Record<string, unknown>)).toEqual(config);
  });

  it.each([[undefined], [""]])("fails with ConfigError when the configuration is missing (%j)", (json) => {
    expect(configError(json).message).toBe(
      "The Velero backup job configuration is missing (GITPOD_DR_CONFIG is not set)",
    );
  });

  it("fails with ConfigError when the configuration is not JSON", () => {
    expect(configError("{stage: prod}").message).toMatch(
      /^The Velero backup job configuration is not valid JSON: /,
    );
  });

  it("fails with ConfigError naming each invalid field", () => {
    const config = jobConfig(VALID.application);
    const error = configError(
      JSON.stringify({
        ...config,
        region: "Ireland",
        application: {
          ...config.application,
          stuckAfterMinutes: 5,
          velero: { ...config.application.velero, ttl: "3 days" },
        },
        extra: true,
      }),
    );

    expect([...error.issues].sort()).toEqual(
      [
        'region: must be an AWS region name such as eu-west-1, not "Ireland"',
        "application.velero.ttl: must be a Go duration such as 720h or 720h0m0s",
        "application.stuckAfterMinutes: must be at least 10",
        '(root): Unrecognized key: "extra"',
      ].sort(),
    );
    expect(error.message).toMatch(/^Invalid Velero backup job configuration:\n {2}/);
  });

  it("fails with ConfigError on a configuration that is JSON but not an object", () => {
    for (const json of ["null", "[]", '"prod"', "42"])
      expect(configError(json).issues.length).toBeGreaterThan(0);
  });

  it("rejects Velero's namespace among the included ones at run time too", () => {
    const config = jobConfig(VALID.application);
    const error = configError(
      JSON.stringify({
        ...config,
        application: {
          ...config.application,
          velero: { ...config.application.velero, includedNamespaces: ["velero"] },
        },
      }),
    );

    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatch(/^application\.velero\.namespace: .*namespace of its own/);
  });
});
