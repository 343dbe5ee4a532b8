/**
 * What the CLI checks before it acts: the stage's regions (against the AWS SDK's partition data) and the
 * AWS credentials (STS GetCallerIdentity against moto_server, or none at all), through the built bin in
 * a fresh process, as a user runs it.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { partition } from "@aws-sdk/core/client";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_USAGE, main } from "../../packages/cli/src/main.ts";
import { AWS_PARTITIONS } from "../../packages/core/src/config/aws-regions.ts";
import { regionProblem, regionWarning } from "../../packages/core/src/config/patterns.ts";
import { buildCli, runBin } from "../fixtures/cli-bin.ts";
import { useMoto } from "../fixtures/moto.ts";

const ACCOUNT = "123456789012";
const stage = (primary: string, dr = "eu-central-1") => ({
  database: { identifier: "gitpod-db", kind: "instance" },
  regions: { primary, dr },
  dr: { kmsKeyArn: `arn:aws:kms:${dr}:${ACCOUNT}:key/8f3c2a10-6b7d-4e52-9a61-0c4d2e7f9b13` },
  retention: { keepLast: 7, maxAgeDays: 14 },
  schedules: { rdsSnapshot: "cron(0 3 * * ? *)" },
});

let dir: string;
const moto = useMoto();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "gitpod-dr-preflight-"));
  await buildCli();
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

async function stageFile(config: unknown): Promise<string> {
  const file = join(await mkdtemp(join(dir, "stage-")), "prod.ts");
  await writeFile(file, `export default ${JSON.stringify(config, null, 2)};\n`);
  return file;
}

/** The environment of a machine with no AWS credentials anywhere (no files, no instance role). */
function noCredentials(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("AWS_")) env[k] = v;
  return {
    ...env,
    HOME: dir,
    AWS_SHARED_CREDENTIALS_FILE: join(dir, "no-credentials"),
    AWS_CONFIG_FILE: join(dir, "no-config"),
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

describe("regions", () => {
  it("the generated region list is the AWS SDK's (else: node scripts/aws-regions.mjs)", () => {
    const listed = AWS_PARTITIONS.flatMap((p) => p.regions);
    // Only regions the SDK's partition data lists carry a description.
    for (const region of listed) expect(partition(region), region).toHaveProperty("description");
    const prefixes = [
      "us",
      "eu",
      "ap",
      "sa",
      "ca",
      "me",
      "af",
      "il",
      "mx",
      "cn",
      "us-gov",
      "us-iso",
      "us-isob",
      "eu-isoe",
      "us-isof",
      "eusc-de",
    ];
    const words = [
      "east",
      "west",
      "north",
      "south",
      "central",
      "northeast",
      "northwest",
      "southeast",
      "southwest",
    ];
    const sdk = prefixes.flatMap((p) =>
      words.flatMap((w) => Array.from({ length: 12 }, (_, i) => `${p}-${w}-${i + 1}`)),
    );
    const missing = sdk.filter((r) => "description" in partition(r) && !listed.includes(r));
    expect(missing).toEqual([]);
    expect(listed).toContain("eusc-de-east-1");
  });

  it.each(["eu-west-1", "us-east-1", "ap-southeast-4", "us-gov-west-1", "cn-northwest-1", "il-central-1"])(
    "%s is a known region",
    (region) => {
      expect(regionProblem(region)).toBeUndefined();
      expect(regionWarning(region)).toBeUndefined();
    },
  );

  it.each([
    ["eu-wset-1", "eu-west-1"],
    ["us-esat-1", "us-east-1"],
    ["eu-west1", "eu-west-1"],
    ["euwest-1", "eu-west-1"],
  ])("%s is refused as a typo of %s", (region, nearest) => {
    expect(regionProblem(region)).toBe(
      `must be an AWS region name: "${region}" is not one (did you mean ${nearest}?)`,
    );
  });

  it("a well-formed region newer than the SDK's data is allowed with a warning", () => {
    expect(regionProblem("mx-central-7")).toBeUndefined();
    expect(regionWarning("mx-central-7")).toMatch(/not among the AWS SDK's known regions/);
  });

  it("the bin refuses a misspelled region with the field's path, exit 2, before any AWS call", async () => {
    const file = await stageFile(stage("eu-wset-1"));
    const result = await runBin(["rds-snapshot", "--config", file, "--dry-run"], { env: noCredentials() });
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stderr).toContain(
      'regions.primary: must be an AWS region name: "eu-wset-1" is not one (did you mean eu-west-1?)',
    );
    expect(result.stderr).not.toMatch(/AwsCredentialsMissing|ENOTFOUND/);
  });

  it("warns about a well-formed unknown region and goes on", async () => {
    const file = await stageFile(stage("mx-central-7"));
    const result = await runBin(["rds-snapshot", "--config", file, "--dry-run"], { env: noCredentials() });
    expect(result.stderr).toContain(
      `warning: ${file}: regions.primary: "mx-central-7" is not among the AWS SDK's known regions`,
    );
    // It went on, to the credentials check.
    expect(result.stderr).toContain("AwsCredentialsMissing");
  });
});

describe("stage files", () => {
  it("a stage file Node's type stripping cannot run (an enum) is loaded through tsx", async () => {
    const file = join(await mkdtemp(join(dir, "stage-")), "prod.ts");
    await writeFile(
      file,
      `enum Region { Primary = "eu-west-1" }\nexport default { ...${JSON.stringify(stage("eu-west-1"))}, regions: { primary: Region.Primary, dr: "eu-central-1" } };\n`,
    );
    const result = await runBin(["rds-snapshot", "--config", file], { env: noCredentials() });
    // Loaded and valid: the command went on to the credentials check.
    expect(result.stderr).toContain("[AwsCredentialsMissing]");
    expect(result.code).toBe(EXIT_USAGE);
  });
});

describe("AWS credentials, checked first", () => {
  it("without credentials: one named error with the ways to supply them, exit 2, no stack trace", async () => {
    const file = await stageFile(stage("eu-west-1"));
    for (const command of ["rds-snapshot", "s3-check", "velero-status"]) {
      const config =
        command === "rds-snapshot"
          ? file
          : await stageFile({
              ...stage("eu-west-1"),
              ...(command === "s3-check"
                ? {
                    storage: {
                      schedule: "rate(1 hour)",
                      buckets: ["gitpod-dr-src"],
                      destinations: { buckets: ["gitpod-dr-dst"] },
                    },
                  }
                : {
                    application: {
                      schedule: "rate(1 hour)",
                      cluster: { name: "gitpod" },
                    },
                  }),
            });
      const result = await runBin([command, "--config", config], { env: noCredentials() });
      expect(result.stderr, `${command}: ${result.stderr}`).toMatch(
        new RegExp(
          `^gitpod-dr ${command}: no AWS credentials were found \\(checked with STS in eu-west-1\\) \\[AwsCredentialsMissing\\]\\. Supply AWS credentials in one of these ways:\\n  - aws configure`,
          "m",
        ),
      );
      expect(result.stderr).toContain("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
      expect(result.stderr).not.toMatch(/^\s+at /m);
      expect(result.code, command).toBe(EXIT_USAGE);
    }
  });

  it("copy-image to or from ECR checks them in the ECR registry's region, before any copy", async () => {
    const ecr = "123456789012.dkr.ecr.eu-central-1.amazonaws.com";
    const result = await runBin(["copy-image", "127.0.0.1:9/app:v1", `${ecr}/app`], { env: noCredentials() });
    expect(result.stderr).toMatch(
      /^gitpod-dr copy-image: no AWS credentials were found \(checked with STS in eu-central-1\) \[AwsCredentialsMissing\]/m,
    );
    expect(result.code).toBe(EXIT_USAGE);
    expect(result.stdout).toBe("");
  });

  it("with --json, the credentials error is the one JSON document", async () => {
    const file = await stageFile(stage("eu-west-1"));
    const result = await runBin(["rds-snapshot", "--config", file, "--json"], { env: noCredentials() });
    expect(result.code).toBe(EXIT_USAGE);
    const doc = JSON.parse(result.stdout);
    expect(doc).toMatchObject({ error: { name: "AwsCredentialsMissing" }, exitCode: 2 });
  });

  it("credentials AWS rejects are the same named error (exit 2)", async () => {
    const sts = mockClient(STSClient);
    try {
      sts.on(GetCallerIdentityCommand).rejects(
        Object.assign(new Error("The security token included in the request is invalid."), {
          name: "InvalidClientTokenId",
          $fault: "client",
          $metadata: { httpStatusCode: 403 },
        }),
      );
      const err: string[] = [];
      const code = await main(["rds-snapshot", "--config", await stageFile(stage("eu-west-1"))], {
        out: () => undefined,
        err: (t) => err.push(t),
      });
      expect(code).toBe(EXIT_USAGE);
      expect(err.join("\n")).toContain(
        "AWS rejected the credentials (InvalidClientTokenId) (checked with STS in eu-west-1) [AwsCredentialsMissing]",
      );
    } finally {
      sts.restore();
    }
  });

  it("with credentials, names the account and region it acts in (STS against moto_server)", async () => {
    const file = await stageFile(stage("eu-west-1"));
    const result = await runBin(["rds-snapshot", "--config", file, "--dry-run"], {
      env: {
        ...noCredentials(),
        AWS_ACCESS_KEY_ID: "testing",
        AWS_SECRET_ACCESS_KEY: "testing",
        AWS_ENDPOINT_URL: moto.endpoint,
      },
    });
    expect(result.stderr).toMatch(
      /^AWS account 123456789012 \(arn:aws:sts::123456789012:\S+\), region eu-west-1$/m,
    );
    expect(result.stderr).not.toContain("AwsCredentialsMissing");
  });
});
