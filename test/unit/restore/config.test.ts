import { describe, expect, it } from "vitest";
import exampleConfig from "../../../config/example.ts";
import {
  parseRestoreJobConfig,
  parseStageConfig,
  restoreJobConfig,
  restoreJobConfigSchema,
  type StageConfigInput,
} from "../../../packages/core/src/config.ts";
import { ConfigError } from "../../../packages/core/src/errors.ts";

const ACCOUNT = "123456789012";
const PRIMARY_TARGET = {
  database: {
    instanceClass: "db.r6g.large",
    subnetGroupName: "gitpod-db",
    securityGroupIds: ["sg-0123456789abcdef0"],
  },
};
const DR_KEY = "arn:aws:kms:eu-central-1:123456789012:key/11111111-2222-3333-4444-555555555555";
const PRIMARY_KEY = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555";

/** The example stage with its restore section replaced (and no drill: it cross-checks the restore's targets). */
const withRestore = (restore: unknown, rest: Partial<StageConfigInput> = {}): unknown => ({
  ...exampleConfig,
  drill: undefined,
  ...rest,
  restore,
});

/** The issues a ConfigError lists for the configuration. */
function issues(raw: unknown): string[] {
  try {
    parseStageConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    expect(e.message).toContain("Invalid stage configuration");
    return [...e.issues];
  }
  throw new Error("the configuration was accepted");
}

describe("the restore section of the stage configuration", () => {
  it("fills every default from a section naming only the primary target", () => {
    const restore = parseStageConfig(withRestore({ targets: { primary: PRIMARY_TARGET } })).restore;

    expect(restore).toEqual({
      timeoutMinutes: 360,
      targets: { primary: PRIMARY_TARGET },
      database: { deadlineMinutes: 120, pollSeconds: 60 },
      application: {
        namespace: "gitpod",
        holdSelector: { app: "gitpod" },
        databaseSecret: { name: "database", hostKey: "host", portKey: "port" },
        restoreDeadlineMinutes: 60,
        configDeadlineMinutes: 15,
        rolloutDeadlineMinutes: 30,
        pollSeconds: 30,
      },
    });
    expect(restore?.images).toBeUndefined();
    expect(restore?.application.point).toBeUndefined();
  });

  it("fills the kots point's defaults and the images' concurrency", () => {
    const restore = parseStageConfig(
      withRestore({
        targets: { primary: { ...PRIMARY_TARGET, registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com" } },
        application: { point: { kind: "kots", url: "http://kotsadm.gitpod.internal:3000" } },
        images: { references: ["gitpod/server:2024.11.0"] },
      }),
    ).restore;

    expect(restore?.application.point).toEqual({
      kind: "kots",
      url: "http://kotsadm.gitpod.internal:3000",
      appSlug: "gitpod",
      namespace: "gitpod",
      keys: {
        dbHost: "db_host",
        bucket: "store_s3_bucket",
        bucketRegion: "store_region",
        registry: "reg_url",
      },
    });
    expect(restore?.images).toEqual({
      references: ["gitpod/server:2024.11.0"],
      concurrency: 4,
      insecureRegistries: [],
    });
    // Defaults of the parts not given are still filled.
    expect(restore?.application.holdSelector).toEqual({ app: "gitpod" });
  });

  it("the example's section parses as written", () => {
    const restore = parseStageConfig(exampleConfig).restore;
    expect(restore?.targets.dr?.cluster).toEqual({ name: "gitpod-dr" });
    expect(restore?.targets.dr?.bucket).toEqual({
      name: "gitpod-workspaces-replica",
      region: "eu-central-1",
    });
    expect(restore?.application.point?.kind).toBe("kots");
    expect(restore?.images?.concurrency).toBe(4);
  });

  it("names the instance class field when it is not a DB instance class", () => {
    const found = issues(
      withRestore({
        targets: {
          primary: {
            ...PRIMARY_TARGET,
            database: { ...PRIMARY_TARGET.database, instanceClass: "r6g.large" },
          },
        },
      }),
    );
    expect(found).toEqual([
      "restore.targets.primary.database.instanceClass: must be a DB instance class such as db.r6g.large",
    ]);
  });

  it("names targets.dr's key when it is in another region than the DR region", () => {
    const found = issues(
      withRestore({
        targets: {
          primary: PRIMARY_TARGET,
          dr: {
            cluster: { name: "gitpod-dr" },
            database: { ...PRIMARY_TARGET.database, kmsKeyArn: PRIMARY_KEY },
          },
        },
      }),
    );
    expect(found).toEqual([
      "restore.targets.dr.database.kmsKeyArn: must be a key in the dr region eu-central-1, but it is in eu-west-1",
    ]);
  });

  it("accepts targets.dr's key in the DR region", () => {
    const restore = parseStageConfig(
      withRestore({
        targets: {
          primary: PRIMARY_TARGET,
          dr: { cluster: { name: "gitpod-dr" }, database: { ...PRIMARY_TARGET.database, kmsKeyArn: DR_KEY } },
        },
      }),
    ).restore;
    expect(restore?.targets.dr?.database.kmsKeyArn).toBe(DR_KEY);
  });

  it("names each target's registry when images are restored without one", () => {
    const found = issues(
      withRestore({
        targets: {
          primary: PRIMARY_TARGET,
          dr: {
            cluster: { name: "gitpod-dr" },
            ...PRIMARY_TARGET,
            registry: "123456789012.dkr.ecr.eu-central-1.amazonaws.com",
          },
        },
        images: { references: ["gitpod/server:2024.11.0"] },
      }),
    );
    expect(found).toEqual([
      "restore.targets.primary.registry: is required when images are restored: the registry to ensure them in",
    ]);
  });

  it("allows plain HTTP only to loopback registries, naming each other host", () => {
    const restore = (insecureRegistries: string[]) =>
      withRestore({
        targets: { primary: { ...PRIMARY_TARGET, registry: "127.0.0.1:5001" } },
        images: { references: ["gitpod/server:2024.11.0"], insecureRegistries },
      });
    const parsed = parseStageConfig(restore(["127.0.0.1:5001", "localhost:5002", "[::1]:5003"]));
    expect(parsed.restore?.images?.insecureRegistries).toEqual([
      "127.0.0.1:5001",
      "localhost:5002",
      "[::1]:5003",
    ]);
    const found = issues(restore(["127.0.0.1:5001", "registry.internal:5000", "10.0.0.7"]));
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^restore\.images\.insecureRegistries\.1: must be a loopback registry/);
    expect(found[1]).toMatch(/^restore\.images\.insecureRegistries\.2: must be a loopback registry/);
  });

  it("names the hold selector when it is empty", () => {
    const found = issues(
      withRestore({ targets: { primary: PRIMARY_TARGET }, application: { holdSelector: {} } }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^restore\.application\.holdSelector: must name at least one label/);
  });

  it("names a hold selector or Secret key Velero could not use (a failing modifier rule restores unheld)", () => {
    const found = issues(
      withRestore({
        targets: { primary: PRIMARY_TARGET },
        application: {
          holdSelector: { app: "gitpod dr", "-bad/key": "x" },
          databaseSecret: { hostKey: "db host" },
        },
      }),
    );
    expect(found).toEqual([
      expect.stringMatching(/^restore\.application\.holdSelector\.app: must be a Kubernetes label value/),
      expect.stringMatching(/^restore\.application\.holdSelector\.-bad\/key: must be a Kubernetes label key/),
      expect.stringMatching(/^restore\.application\.databaseSecret\.hostKey: must be a Secret data key/),
    ]);
  });

  it("names targets.dr.cluster when the application tier is configured and the dr target has no cluster", () => {
    const found = issues(withRestore({ targets: { primary: PRIMARY_TARGET, dr: PRIMARY_TARGET } }));
    expect(found).toEqual([
      "restore.targets.dr.cluster: is required: the EKS cluster in eu-central-1 to restore the application into",
    ]);
  });

  it("does not need targets.dr.cluster without an application section", () => {
    const { application: _, drill: _drill, ...noApplication } = exampleConfig as StageConfigInput;
    const config = parseStageConfig({
      ...noApplication,
      restore: { targets: { primary: PRIMARY_TARGET, dr: PRIMARY_TARGET } },
    });
    expect(config.restore?.targets.dr?.cluster).toBeUndefined();
  });

  it("names the point field when its kind is unknown", () => {
    const found = issues(
      withRestore({ targets: { primary: PRIMARY_TARGET }, application: { point: { kind: "helm" } } }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^restore\.application\.point(\.kind)?: must have kind "kots" or "secret"$/);
  });

  it("rejects restore.application.replicas: the hold keeps the backed-up replica counts", () => {
    const found = issues(
      withRestore({ targets: { primary: PRIMARY_TARGET }, application: { replicas: { server: 3 } } }),
    );
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^restore\.application: .*replicas/);
  });

  it("rejects an unknown field of the section by name", () => {
    const found = issues(withRestore({ targets: { primary: PRIMARY_TARGET }, timeout: 30 }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^restore: .*timeout/);
  });
});

describe("the restore functions' run-time configuration", () => {
  it("round-trips from the stage configuration through JSON", () => {
    const stage = parseStageConfig(exampleConfig);
    const input = restoreJobConfig("prod", ACCOUNT, stage);

    const parsed = parseRestoreJobConfig(JSON.stringify(input));

    expect(parsed).toEqual(restoreJobConfigSchema.parse(input));
    expect(parsed.restore).toEqual(stage.restore);
    expect(parsed).toMatchObject({
      stage: "prod",
      account: ACCOUNT,
      regions: { primary: "eu-west-1", dr: "eu-central-1" },
      database: { identifier: "gitpod-db", kind: "instance" },
      application: {
        cluster: "gitpod",
        veleroNamespace: "velero",
        storageLocation: "default",
        includedNamespaces: ["gitpod"],
        includeKotsBackups: true,
      },
      registrySecrets: {},
      storageBuckets: ["gitpod-workspace-backups"],
    });
    // Parsing its own output again changes nothing.
    expect(parseRestoreJobConfig(JSON.stringify(parsed))).toEqual(parsed);
  });

  it("has no application part without an application section, and no restore without a restore section", () => {
    const { application: _, drill: _drill, ...noApplication } = exampleConfig as StageConfigInput;
    const stage = parseStageConfig({
      ...noApplication,
      restore: { ...exampleConfig.restore, targets: { primary: exampleConfig.restore.targets.primary } },
    });
    const parsed = parseRestoreJobConfig(JSON.stringify(restoreJobConfig("prod", ACCOUNT, stage)));
    expect(parsed.application).toBeUndefined();

    const { restore: __, drill: ___, ...noRestore } = exampleConfig as StageConfigInput;
    expect(() => restoreJobConfig("prod", ACCOUNT, parseStageConfig(noRestore))).toThrow(
      new ConfigError("The stage configuration has no restore section"),
    );
  });

  it("fails naming the problem: missing, not JSON, an invalid field", () => {
    expect(() => parseRestoreJobConfig(undefined)).toThrow(/GITPOD_DR_CONFIG is not set/);
    expect(() => parseRestoreJobConfig("{")).toThrow(/The restore configuration is not valid JSON/);
    const input = restoreJobConfig("prod", ACCOUNT, parseStageConfig(exampleConfig));
    let error: unknown;
    try {
      parseRestoreJobConfig(JSON.stringify({ ...input, account: "12345" }));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain("account: must be a 12-digit account id");
    expect((error as ConfigError).issues).toEqual(["account: must be a 12-digit account id"]);
  });
});
