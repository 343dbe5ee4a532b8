import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { StageConfigInput } from "@gitpod-dr/core/config";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { Match, Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, newApp, synthApp } from "../../packages/sim/src/synth.ts";
import sstConfig from "../../sst.config.ts";
import { Alerts } from "../../stacks/Alerts.ts";
import { Backups } from "../../stacks/Backups.ts";

function functionStatements(template: Template): Statement[] {
  const fns = template.findResources("AWS::Lambda::Function", {
    Properties: { Handler: "packages/functions/src/rds-snapshot.handler" },
  });
  const fn = Object.values(fns)[0];
  if (!fn) throw new Error("the RDS snapshot function is not in the template");
  const role = (fn.Properties.Role["Fn::GetAtt"] as string[])[0];
  const policies = template.findResources("AWS::IAM::Policy", {
    Properties: { Roles: [{ Ref: role }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

function resourcesFor(statements: Statement[], action: string): string[] {
  return statements
    .filter((s) => asList(s.Action).includes(action))
    .flatMap((s) => asList(s.Resource).map(arn));
}

async function synthBackups(stage: string, config: StageConfigInput) {
  await synthApp({ stage, config });
  return { alerts: Template.fromStack(getStack(Alerts)), backups: Template.fromStack(getStack(Backups)) };
}

describe("stage example, synthesized through sst.config.ts as `sst deploy` does", () => {
  const started = Date.now();
  let alerts: Template;
  let backups: Template;
  let statements: Statement[];

  beforeAll(async () => {
    const app = await newApp("example");
    await sstConfig.stacks(app);
    await app.finish();
    alerts = Template.fromStack(getStack(Alerts));
    backups = Template.fromStack(getStack(Backups));
    statements = functionStatements(backups);
  });

  it("schedules the RDS job from the stage's expression, targeting the function", () => {
    backups.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "cron(0 3 * * ? *)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [Match.stringLikeRegexp("^RdsSnapshot"), "Arn"] } })],
    });
  });

  it("retries a failed invocation once", () => {
    const fn = Object.entries(
      backups.findResources("AWS::Lambda::Function", {
        Properties: { Handler: "packages/functions/src/rds-snapshot.handler" },
      }),
    )[0];
    backups.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: fn?.[0] },
      MaximumRetryAttempts: 1,
    });
  });

  it("runs the handler on nodejs22.x with the job's configuration and the topic in its environment", () => {
    const fn = Object.values(
      backups.findResources("AWS::Lambda::Function", {
        Properties: { Handler: "packages/functions/src/rds-snapshot.handler" },
      }),
    )[0];
    expect(fn?.Properties.Runtime).toBe("nodejs22.x");
    const vars = fn?.Properties.Environment.Variables;
    expect(JSON.parse(vars.GITPOD_DR_CONFIG)).toMatchObject({
      stage: "example",
      database: { identifier: "gitpod-db", kind: "instance" },
      regions: { primary: "eu-west-1", dr: "eu-central-1" },
      retention: { keepLast: 7, maxAgeDays: 14 },
      drRetention: { keepLast: 7, maxAgeDays: 30 },
    });
    expect(vars.GITPOD_DR_TOPIC_ARN).toBeDefined();
    expect(vars.GITPOD_DR_STAGE).toBe("example");
  });

  it.each([
    // Issue 18's targets (npm run bench:bundles prints the figures): AWS-only handlers ≤ 1 MB,
    ["rds-snapshot", 1_000_000],
    ["image-sync", 1_000_000],
    ["s3-check", 1_000_000],
    ["restore-database", 1_000_000],
    ["restore-image", 1_000_000],
    // and those that reach the cluster (over kube-http.ts, no Kubernetes client library) ≤ 1.6 MB.
    ["velero-backup", 1_600_000],
    ["restore-application", 1_600_000],
    ["restore-notify", 1_600_000],
    // The EC2 client (security groups) is about 0.56 MB of it.
    ["restore-plan", 1_600_000],
    // drill and drill-database: test/stacks/drill.test.ts (the example's drill is in the DR region's stage).
  ] as const)(
    "bundles the %s handler with esbuild into a module that loads and exports the handler",
    (name, maxBytes) => {
      const artifacts = join(process.cwd(), ".sst", "artifacts");
      const bundles = readdirSync(artifacts)
        .map((dir) => join(artifacts, dir, `packages/functions/src/${name}.mjs`))
        .filter((file) => existsSync(file) && statSync(file).mtimeMs >= started - 1000);
      expect(bundles.length).toBeGreaterThan(0);
      const bundle = bundles.sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0] as string;
      // Minified, and far below Lambda's 50 MB zipped limit; the size is reported in the closing note.
      expect(statSync(bundle).size).toBeLessThan(maxBytes);
      // Load it in a plain Node process, as the Lambda runtime does (no vite, no workspace resolution).
      const loaded = spawnSync(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m.handler);`,
        ],
        { encoding: "utf8", cwd: tmpdir() },
      );
      expect(loaded.stderr).toBe("");
      expect(loaded.stdout.trim()).toBe("function");
    },
  );

  it("encrypts the alerts topic with a rotating customer managed key and subscribes the configured email", () => {
    const keys = alerts.findResources("AWS::KMS::Key");
    const [keyId] = Object.keys(keys);
    expect(keys[keyId as string]?.Properties.EnableKeyRotation).toBe(true);
    alerts.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: { "Fn::GetAtt": [keyId, "Arn"] } });
    alerts.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "platform-oncall@example.com",
    });
    alerts.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("never grants a wildcard action, and uses Resource * only where the API has no resource level", () => {
    for (const s of statements) {
      for (const action of asList(s.Action)) expect(action).not.toContain("*");
    }
    const starActions = statements
      .filter((s) => asList(s.Resource).includes("*"))
      .flatMap((s) => asList(s.Action))
      .sort();
    // Listing every manual snapshot (paging, counting copies in progress) and X-Ray (SST's tracing)
    // cannot be scoped to an ARN.
    expect(starActions).toEqual([
      "rds:DescribeDBSnapshots",
      "xray:PutTelemetryRecords",
      "xray:PutTraceSegments",
    ]);
  });

  it("scopes RDS actions to the database and to its gitpod-dr snapshots in both regions", () => {
    const primarySnapshots = `arn:aws:rds:eu-west-1:${ACCOUNT}:snapshot:gitpod-dr-gitpod-db-*`;
    const drSnapshots = `arn:aws:rds:eu-central-1:${ACCOUNT}:snapshot:gitpod-dr-gitpod-db-*`;
    const db = `arn:aws:rds:eu-west-1:${ACCOUNT}:db:gitpod-db`;
    expect(resourcesFor(statements, "rds:DescribeDBInstances")).toEqual([db]);
    expect(resourcesFor(statements, "rds:CreateDBSnapshot").sort()).toEqual([db, primarySnapshots].sort());
    expect(resourcesFor(statements, "rds:CopyDBSnapshot").sort()).toEqual(
      [primarySnapshots, drSnapshots].sort(),
    );
    expect(resourcesFor(statements, "rds:DeleteDBSnapshot").sort()).toEqual(
      [primarySnapshots, drSnapshots].sort(),
    );
    expect(resourcesFor(statements, "rds:AddTagsToResource").sort()).toEqual(
      [primarySnapshots, drSnapshots].sort(),
    );
    const del = statements.find((s) => asList(s.Action).includes("rds:DeleteDBSnapshot"));
    expect(del?.Condition).toEqual({
      StringEquals: {
        "rds:snapshot-tag/gitpod-dr:created-by": "gitpod-dr",
        "rds:snapshot-tag/gitpod-dr:source": "gitpod-db",
      },
    });
    // Tagging only with the tool's own tags: a foreign snapshot cannot be tagged into a deletable one.
    const tag = statements.find((s) => asList(s.Action).includes("rds:AddTagsToResource"));
    expect(tag?.Condition).toEqual({
      StringEquals: {
        "aws:RequestTag/gitpod-dr:created-by": "gitpod-dr",
        "aws:RequestTag/gitpod-dr:source": "gitpod-db",
      },
    });
    // kind "instance": no cluster API at all
    expect(statements.flatMap((s) => asList(s.Action)).filter((a) => a.includes("Cluster"))).toEqual([]);
  });

  it("allows KMS only on the DR key, and SNS publish only on the alerts topic", () => {
    expect(resourcesFor(statements, "kms:CreateGrant")).toEqual([exampleConfig.dr.kmsKeyArn]);
    const grant = statements.find((s) => asList(s.Action).includes("kms:CreateGrant"));
    expect(grant?.Condition).toEqual({ Bool: { "kms:GrantIsForAWSResource": "true" } });
    expect(resourcesFor(statements, "kms:DescribeKey")).toEqual([exampleConfig.dr.kmsKeyArn]);
    const publish = statements.filter((s) => asList(s.Action).includes("sns:Publish"));
    expect(publish).toHaveLength(1);
    expect(JSON.stringify(publish[0]?.Resource)).toMatch(/AlertsTopic/);
    const topicKey = statements.filter((s) => asList(s.Action).includes("kms:GenerateDataKey"));
    expect(JSON.stringify(topicKey.map((s) => s.Resource))).toMatch(/AlertsKey/);
  });
});

describe("an Aurora cluster stage with a DR key in another account", () => {
  let statements: Statement[];

  beforeAll(async () => {
    const { backups } = await synthBackups("cluster", {
      ...exampleConfig,
      database: {
        identifier: "gitpod-aurora",
        kind: "cluster",
        kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/aaaaaaaa-1111-2222-3333-444444444444`,
      },
      dr: { kmsKeyArn: "arn:aws:kms:eu-central-1:210987654321:key/bbbbbbbb-1111-2222-3333-444444444444" },
    });
    statements = functionStatements(backups);
  });

  it("uses the cluster API family scoped to cluster snapshots, and none of the instance family", () => {
    const actions = statements.flatMap((s) => asList(s.Action));
    expect(actions).not.toContain("rds:CreateDBSnapshot");
    expect(resourcesFor(statements, "rds:CreateDBClusterSnapshot").sort()).toEqual(
      [
        `arn:aws:rds:eu-west-1:${ACCOUNT}:cluster:gitpod-aurora`,
        `arn:aws:rds:eu-west-1:${ACCOUNT}:cluster-snapshot:gitpod-dr-gitpod-aurora-*`,
      ].sort(),
    );
    const del = statements.find((s) => asList(s.Action).includes("rds:DeleteDBClusterSnapshot"));
    expect(del?.Condition).toEqual({
      StringEquals: {
        "rds:cluster-snapshot-tag/gitpod-dr:created-by": "gitpod-dr",
        "rds:cluster-snapshot-tag/gitpod-dr:source": "gitpod-aurora",
      },
    });
  });

  it("may use the database's key, and may describe primary-region keys only to recognise aws/rds", () => {
    expect(resourcesFor(statements, "kms:CreateGrant").sort()).toEqual(
      [
        "arn:aws:kms:eu-central-1:210987654321:key/bbbbbbbb-1111-2222-3333-444444444444",
        `arn:aws:kms:eu-west-1:${ACCOUNT}:key/aaaaaaaa-1111-2222-3333-444444444444`,
      ].sort(),
    );
    const recognise = statements.find((s) => s.Sid === "RecogniseTheAwsManagedRdsKey");
    expect(recognise?.Action).toBe("kms:DescribeKey");
    expect(arn(recognise?.Resource)).toBe(`arn:aws:kms:eu-west-1:${ACCOUNT}:key/*`);
  });
});

describe("invalid stage configuration fails synthesis with the field's name", () => {
  const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-config-"));

  it.each([
    ["schedules.rdsSnapshot", { schedules: { rdsSnapshot: "cron(0 3 * * *)" } }, /6 fields/],
    ["retention.keepLast", { retention: { keepLast: -1, maxAgeDays: 14 } }, /at least 1/],
    ["regions.dr", { regions: { primary: "eu-west-1", dr: "eu-west-1" } }, /must differ/],
    [
      "dr.kmsKeyArn",
      { dr: { kmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13" } },
      /DR region eu-central-1/,
    ],
  ])("%s", async (field, override, reason) => {
    const file = join(dir, `bad-${field.replace(/\W/g, "-")}.ts`);
    writeFileSync(file, `export default ${JSON.stringify({ ...exampleConfig, ...override })};\n`);
    const error = await loadStageConfigFile(file).then(
      () => undefined,
      (e: unknown) => e as Error & { issues: string[] },
    );
    expect(error?.name).toBe("ConfigError");
    expect(error?.message).toContain(field);
    expect(error?.issues.find((i) => i.startsWith(`${field}:`))).toMatch(reason);
  });

  it("fails `sst deploy`'s synthesis (sst.config.ts) for a stage whose file is invalid", async () => {
    // A real stage file in config/, as an operator writes it; removed again whatever happens.
    const stage = `invalid-${process.pid}`;
    const file = join(process.cwd(), "config", `${stage}.ts`);
    writeFileSync(
      file,
      `export default ${JSON.stringify({ ...exampleConfig, schedules: { rdsSnapshot: "rate(1 days)" } })};\n`,
    );
    try {
      // `sst deploy --stage <stage>` fails as soon as SST loads sst.config.ts, before any stack exists.
      await expect(initProject({ stage })).rejects.toThrow(
        /schedules\.rdsSnapshot: invalid schedule expression "rate\(1 days\)": use the singular unit for 1/,
      );
    } finally {
      rmSync(file, { force: true });
    }
  });

  it("refuses to add stacks for an invalid configuration object", async () => {
    await expect(
      synthBackups("bad", { ...exampleConfig, retention: { keepLast: 0, maxAgeDays: 14 } }),
    ).rejects.toThrow(/retention\.keepLast: must be at least 1/);
  });

  it("names the missing stage file", async () => {
    await expect(loadStageConfigFile(join(dir, "nope.ts"))).rejects.toThrow(
      /No stage configuration at .*nope\.ts/,
    );
  });
});
