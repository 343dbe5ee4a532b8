import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CloudFormationClient, CreateStackCommand } from "@aws-sdk/client-cloudformation";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import exampleConfig from "../../../config/example.ts";
import { deployCommand, type HandOver } from "../../../packages/cli/src/deploy.ts";
import { EXIT_USAGE, main } from "../../../packages/cli/src/main.ts";
import { useMoto } from "../../fixtures/moto.ts";

/**
 * The deploy's preflight against moto_server (STS, SSM and CloudFormation), with `sst deploy` replaced
 * by a hand-over that records its arguments and creates the stacks it would have created in moto.
 */
const moto = useMoto();
const ACCOUNT = "123456789012"; // moto's account
const ENV_KEYS = [
  "AWS_ENDPOINT_URL",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
  "AWS_EC2_METADATA_DISABLED",
] as const;
const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

function useEnv(values: Partial<Record<(typeof ENV_KEYS)[number], string>>) {
  for (const k of ENV_KEYS) delete process.env[k];
  // No shared config or credentials files and no instance metadata: only what the test sets.
  process.env.AWS_SHARED_CREDENTIALS_FILE = "/nonexistent/credentials";
  process.env.AWS_CONFIG_FILE = "/nonexistent/config";
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  Object.assign(process.env, values);
}
const withCredentials = () =>
  useEnv({ AWS_ENDPOINT_URL: moto.endpoint, AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing" });

afterAll(() => {
  for (const k of ENV_KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const client = <C>(Client: new (c: object) => C, region = "eu-west-1") =>
  new Client({
    region,
    endpoint: moto.endpoint,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });

async function bootstrap(version: string, region = "eu-west-1") {
  await client(SSMClient, region).send(
    new PutParameterCommand({
      Name: "/cdk-bootstrap/hnb659fds/version",
      Value: version,
      Type: "String",
      Overwrite: true,
    }),
  );
}

/** What `sst deploy` leaves behind: the stage's stacks, with the outputs the stacks declare. */
const createsStacks: HandOver = async (args) => {
  const cfn = client(CloudFormationClient, args[args.indexOf("--region") + 1]);
  const stack = async (name: string, outputs: Record<string, string>) =>
    cfn.send(
      new CreateStackCommand({
        StackName: `example-gitpod-dr-${name}`,
        TemplateBody: JSON.stringify({
          Resources: { Topic: { Type: "AWS::SNS::Topic", Properties: { TopicName: `t-${name}` } } },
          Outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, { Value: v }])),
        }),
      }),
    );
  await stack("Alerts", {
    AlertsTopicArn: `arn:aws:sns:eu-west-1:${ACCOUNT}:gitpod-dr-example-alerts`,
    SSTMetadata: "{}",
  });
  await stack("Restore", {
    RestoreConsoleUrl:
      "https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/x",
  });
  return 0;
};

function recording(inner: HandOver) {
  const calls: (readonly string[])[] = [];
  const handOver: HandOver = async (args) => {
    calls.push(args);
    return inner(args);
  };
  return { calls, handOver };
}

const run = (argv: string[], handOver: HandOver, root = process.cwd()) => {
  const c = capture();
  return { ...c, code: deployCommand(argv, c.io, { clients: new ClientCache(), handOver, root }) };
};

beforeEach(async () => {
  await moto.reset();
  withCredentials();
});
afterEach(() => withCredentials());

describe("npm run deploy -- --stage NAME: the preflight refuses before sst deploy", () => {
  it("without credentials: exit 2, the ways to supply them, sst deploy never started", async () => {
    useEnv({});
    const { calls, handOver } = recording(createsStacks);
    const r = run(["--stage", "example"], handOver);
    expect(await r.code).toBe(EXIT_USAGE);
    expect(r.err.join("\n")).toMatch(
      /DeployRefused: Not deploying: no AWS credentials were found .*Supply AWS credentials/,
    );
    expect(r.err.join("\n")).toMatch(/AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    expect(calls).toEqual([]);
  }, 30_000);

  it("with a missing stage file: says which file it looked for", async () => {
    const { calls, handOver } = recording(createsStacks);
    const r = run(["--stage", "nope", "--json"], handOver);
    expect(await r.code).toBe(EXIT_USAGE);
    expect(r.out).toHaveLength(1);
    expect(JSON.parse(r.out[0] as string)).toEqual({
      deployed: false,
      error: {
        name: "ConfigError",
        message: expect.stringMatching(
          /^No stage configuration at config\/nope\.ts: create it \(copy config\/example\.ts/,
        ),
      },
    });
    expect(calls).toEqual([]);
  });

  it("with a bad stage file: its field's message, no stack trace", async () => {
    const root = mkdtempSync(join(tmpdir(), "gitpod-dr-deploy-"));
    try {
      mkdirSync(join(root, "config"));
      writeFileSync(
        join(root, "config", "bad.ts"),
        'export default { database: { identifier: "gitpod-db" }, regions: { primary: "eu-west-1" } };\n',
      );
      const { calls, handOver } = recording(createsStacks);
      const r = run(["--stage", "bad"], handOver, root);
      expect(await r.code).toBe(EXIT_USAGE);
      const text = r.err.join("\n");
      expect(text).toMatch(/ConfigError: Invalid .*config\/bad\.ts:\n {2}regions\.dr: /);
      expect(text).not.toMatch(/Trace:|\n\s+at /);
      expect(calls).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("without a CDK bootstrap in the region: names the bootstrap command", async () => {
    const { calls, handOver } = recording(createsStacks);
    const r = run(["--stage", "example"], handOver);
    expect(await r.code).toBe(EXIT_USAGE);
    expect(r.err.join("\n")).toMatch(
      `account ${ACCOUNT} has no CDK bootstrap in eu-west-1 (no SSM parameter /cdk-bootstrap/hnb659fds/version, no stack CDKToolkit). Bootstrap the region once: npx cdk bootstrap aws://${ACCOUNT}/eu-west-1`,
    );
    expect(calls).toEqual([]);
  });

  it("with a bootstrap older than aws-cdk-lib accepts, another account, or another region", async () => {
    await bootstrap("5");
    const old = run(["--stage", "example"], createsStacks);
    expect(await old.code).toBe(EXIT_USAGE);
    expect(old.err.join("\n")).toMatch(/bootstrap in eu-west-1 is version 5 .*version 6 or later is needed/);

    await bootstrap("21");
    const other = run(["--stage", "example", "--account", "999999999999"], createsStacks);
    expect(await other.code).toBe(EXIT_USAGE);
    expect(other.err.join("\n")).toMatch(`the credentials are for account ${ACCOUNT}`);

    const region = run(["--stage", "example", "--region", "us-east-1"], createsStacks);
    expect(await region.code).toBe(EXIT_USAGE);
    expect(region.err.join("\n")).toMatch(/Deploy stage "example" to its primary region eu-west-1/);
  });
});

describe("npm run deploy -- --stage NAME: the hand-over and what it deployed", () => {
  it("notes the opt-in cluster manifest before handing over, for a drill that counts Secrets", async () => {
    await bootstrap("21");
    const root = mkdtempSync(join(tmpdir(), "gitpod-dr-deploy-"));
    try {
      mkdirSync(join(root, "config"));
      const stage = structuredClone(exampleConfig) as { drill: { checks: Record<string, unknown> } };
      stage.drill.checks = {
        ...stage.drill.checks,
        application: { expectedKinds: ["Deployment", "Secret"] },
      };
      writeFileSync(join(root, "config", "counts.ts"), `export default ${JSON.stringify(stage)};\n`);
      let before: string[] = [];
      const r = run(
        ["--stage", "counts"],
        async (args) => {
          before = [...r.err];
          return createsStacks(args);
        },
        root,
      );
      await r.code;
      expect(before.filter((line) => line.startsWith("note: "))).toEqual([
        'note: drill.checks.application.expectedKinds lists "Secret": also kubectl apply -f deploy/rbac-drill-secrets.yaml in the drill\'s cluster, which lets the drill read every Secret there (without it, each drill fails its application check); or remove "Secret"',
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it("says nothing of it for the example stage, whose drill does not count Secrets", async () => {
    await bootstrap("21");
    const r = run(["--stage", "example"], createsStacks);
    expect(await r.code).toBe(0);
    expect(r.err.filter((line) => line.startsWith("note: "))).toEqual([]);
  });

  it("hands over the stage and region to sst deploy and prints the stacks' outputs", async () => {
    await bootstrap("21");
    const { calls, handOver } = recording(createsStacks);
    const r = run(["--stage", "example"], handOver);
    expect(await r.code).toBe(0);
    expect(calls).toEqual([["--stage", "example", "--region", "eu-west-1"]]);
    expect(r.err.join("\n")).toMatch(
      `Deploying stage example (config/example.ts) to account ${ACCOUNT} (arn:aws:sts::${ACCOUNT}:user/moto), eu-west-1: every stack. CDK bootstrap version 21`,
    );
    const text = r.out.join("\n");
    expect(text).toMatch(`AlertsTopicArn: arn:aws:sns:eu-west-1:${ACCOUNT}:gitpod-dr-example-alerts`);
    expect(text).toMatch(/RestoreConsoleUrl: https:\/\/eu-west-1\.console\.aws\.amazon\.com\/states/);
    expect(text).not.toMatch(/SSTMetadata/);
  });

  it("--json: one document with the outputs; the DR region deploys the standby", async () => {
    await bootstrap("21");
    const r = run(["--stage", "example", "--json"], createsStacks);
    expect(await r.code).toBe(0);
    expect(r.out).toHaveLength(1);
    expect(JSON.parse(r.out[0] as string)).toMatchObject({
      deployed: true,
      kind: "primary",
      stacks: expect.arrayContaining([
        expect.objectContaining({
          name: "example-gitpod-dr-Alerts",
          status: "CREATE_COMPLETE",
          outputs: { AlertsTopicArn: expect.stringContaining(":sns:") },
        }),
      ]),
    });
  });

  it("fails loudly when sst deploy fails, or exits 0 having deployed nothing", async () => {
    await bootstrap("21");
    const failed = run(["--stage", "example"], async () => 1);
    expect(await failed.code).toBe(1);
    expect(failed.err.join("\n")).toMatch(/DeployFailed: sst deploy exited with 1/);

    const silent = run(["--stage", "example", "--json"], async () => 0);
    expect(await silent.code).toBe(1);
    expect(JSON.parse(silent.out[0] as string)).toMatchObject({
      deployed: false,
      error: {
        name: "DeployFailed",
        message: expect.stringMatching(/exited 0 but no stack example-gitpod-dr-\*/),
      },
    });
  });

  it("is reachable as gitpod-dr deploy, with its own --help", async () => {
    const c = capture();
    expect(await main(["deploy", "--help"], c.io)).toBe(0);
    expect(c.out.join("\n")).toMatch(/Usage: gitpod-dr deploy --stage NAME[\s\S]*Exit codes:\n {2}0/);
    const u = capture();
    expect(await main(["deploy"], u.io)).toBe(EXIT_USAGE);
    expect(u.err.join("\n")).toMatch(/deploy needs --stage NAME/);
  });
});

describe("npm run deploy, as a person runs it", () => {
  it("without credentials or with a missing stage file: the reason on stderr, exit 2, no trace", () => {
    const env = {
      ...process.env,
      AWS_ACCESS_KEY_ID: "",
      AWS_SECRET_ACCESS_KEY: "",
      AWS_PROFILE: "",
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      AWS_CONFIG_FILE: "/nonexistent/config",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    for (const k of ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"] as const) delete env[k];
    const noCredentials = spawnSync("npm", ["run", "-s", "deploy", "--", "--stage", "example"], {
      encoding: "utf8",
      env,
    });
    expect(noCredentials.status).toBe(EXIT_USAGE);
    expect(noCredentials.stderr).toMatch(
      /^gitpod-dr deploy: DeployRefused: Not deploying: no AWS credentials were found /m,
    );
    expect(noCredentials.stderr).not.toMatch(/Trace:|\n\s+at /);

    const missing = spawnSync("npm", ["run", "-s", "deploy", "--", "--stage", "prod"], {
      encoding: "utf8",
      env,
    });
    expect(missing.status).toBe(EXIT_USAGE);
    expect(missing.stderr.trim()).toBe(
      "gitpod-dr deploy: ConfigError: No stage configuration at config/prod.ts: create it (copy config/example.ts, which documents every field)",
    );
  }, 120_000);
});
