import { KMSClient } from "@aws-sdk/client-kms";
import {
  CreateDBSnapshotCommand,
  DeleteDBSnapshotCommand,
  DescribeDBInstancesCommand,
  DescribeDBSnapshotsCommand,
  RDSClient,
} from "@aws-sdk/client-rds";
import { GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, main, typedPasswords } from "../../../packages/cli/src/main.ts";

const rds = mockClient(RDSClient);
mockClient(KMSClient);
const sts = mockClient(STSClient);

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

const DAY = 86_400_000;
const tags = (window: string) => [
  { Key: "gitpod-dr:created-by", Value: "gitpod-dr" },
  { Key: "gitpod-dr:source", Value: "gitpod-db" },
  { Key: "gitpod-dr:window", Value: window },
];

beforeEach(() => {
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({
    Account: "123456789012",
    Arn: "arn:aws:iam::123456789012:user/operator",
  });
  rds.reset();
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: "gitpod-db",
        DBInstanceArn: "arn:aws:rds:eu-west-1:123456789012:db:gitpod-db",
        DBInstanceStatus: "available",
      },
    ],
  });
  const old = new Date(Date.now() - 60 * DAY);
  // Nine old snapshots in each region, all copied: with keepLast 7 the two oldest are expired.
  const snaps = (region: string) =>
    Array.from({ length: 9 }, (_, i) => {
      const created = new Date(old.getTime() - i * DAY);
      const id = `gitpod-dr-gitpod-db-old-${i}`;
      return {
        DBSnapshotIdentifier: id,
        DBSnapshotArn: `arn:aws:rds:${region}:123456789012:snapshot:${id}`,
        DBInstanceIdentifier: "gitpod-db",
        Status: "available",
        SnapshotCreateTime: created,
        TagList: tags(created.toISOString()),
      };
    });
  rds.on(DescribeDBSnapshotsCommand).callsFake(async (_input, getClient: () => RDSClient) => {
    const region = await getClient().config.region();
    return { DBSnapshots: snaps(region) };
  });
});

describe("gitpod-dr CLI", () => {
  it("--help lists the commands and exits 0", async () => {
    const { io, out } = capture();
    expect(await main(["--help"], io)).toBe(EXIT_OK);
    expect(out.join("\n")).toMatch(/rds-snapshot\s+Take this window's RDS snapshot/);
  });

  it.each([
    [["bogus"], /unknown command "bogus"/],
    [
      ["rds-snapshot", "--config", "config/example.ts", "--dryrun"],
      /^gitpod-dr rds-snapshot: unknown option "--dryrun"\. See gitpod-dr rds-snapshot --help$/,
    ],
    [["rds-snapshot", "--dry-run"], /needs --config FILE/],
    [["rds-snapshot", "--config", "config/nope.ts"], /No stage configuration at config\/nope\.ts/],
    [["rds-snapshot", "--config", "config/example.ts", "--time", "yesterday"], /time: must be an ISO 8601/],
    [[], /^$/],
  ])("%j is a usage error (exit 2) with a clear message", async (argv, message) => {
    const { io, err } = capture();
    expect(await main(argv, io)).toBe(EXIT_USAGE);
    expect(err.join("\n")).toMatch(message);
    expect(rds.calls()).toHaveLength(0);
  });

  it("rds-snapshot --dry-run prints what it would do and changes nothing", async () => {
    const { io, out, err } = capture();

    const code = await main(
      ["rds-snapshot", "--dry-run", "--config", "config/example.ts", "--time", "2026-11-26T03:00:00Z"],
      io,
    );

    expect(code, JSON.stringify({ out, err })).toBe(EXIT_OK);
    const text = out.join("\n");
    expect(text).toContain("[dry run: nothing was changed]");
    expect(text).toMatch(/not copied \(older than DR retention keeps\): -$/m);
    expect(text).toMatch(/would create:\s+gitpod-dr-gitpod-db-2026-11-26-0300/);
    expect(text).toMatch(/would delete \(primary\): gitpod-dr-gitpod-db-old-7 \(expired/);
    expect(text).toContain("gitpod-dr-gitpod-db-old-8 (expired");
    expect(rds.commandCalls(CreateDBSnapshotCommand)).toHaveLength(0);
    expect(rds.commandCalls(DeleteDBSnapshotCommand)).toHaveLength(0);
  });

  it("rds-snapshot --json prints the summary as JSON; a failing AWS call exits 1 with the named error", async () => {
    const ok = capture();
    expect(await main(["rds-snapshot", "--dry-run", "--json", "--config", "config/example.ts"], ok.io)).toBe(
      EXIT_OK,
    );
    expect(JSON.parse(ok.out.join("\n"))).toMatchObject({
      dryRun: true,
      database: { identifier: "gitpod-db" },
    });

    rds
      .on(DescribeDBInstancesCommand)
      .rejects(
        Object.assign(new Error("denied"), { name: "AccessDenied", $metadata: { httpStatusCode: 403 } }),
      );
    const failed = capture();
    expect(await main(["rds-snapshot", "--config", "config/example.ts"], failed.io)).toBe(EXIT_FAILED);
    expect(failed.err.join("\n")).toMatch(
      /rds-snapshot failed: AwsAccessDenied: Unable to describe DB instance/,
    );
  });

  it.each([
    [
      "a credentialed source URL",
      ["copy-image", "https://robot:Zq7-winter-harbor-22@reg.example.com/x:1", "c/d:1"],
    ],
    ["a credentialed destination", ["copy-image", "a/b:1", "robot:Zq7-winter-harbor-22@reg.example.com/x:1"]],
    ["an unknown command with a URL", ["https://robot:Zq7-winter-harbor-22@reg.example.com/x:1"]],
    [
      "a flag with a URL",
      ["copy-image", "a/b:1", "c/d:1", "--insecure-registry", "robot:Zq7-winter-harbor-22@h:5000"],
    ],
    [
      "an unknown flag with a URL",
      ["copy-image", "a/b:1", "c/d:1", "--src=https://robot:Zq7-winter-harbor-22@h/x"],
    ],
  ])("a usage error with %s never prints the password", async (_, argv) => {
    const { io, out, err } = capture();

    expect(await main(argv, io)).toBe(EXIT_USAGE);

    const printed = [...out, ...err].join("\n");
    expect(printed).not.toContain("Zq7-winter-harbor-22");
    expect(err.join("\n")).toMatch(/^gitpod-dr/);
  });

  it("prints a failure and its warnings without the secrets the run read", async () => {
    const { io, out, err } = capture();
    rds.on(DescribeDBInstancesCommand).rejects(
      Object.assign(
        new Error(
          "denied for postgres://gitpod:Tr0ub4dor-and-3@db:5432 aws_secret_access_key=wJalrXUtnFEMI/K7MDENG",
        ),
        {
          name: "AccessDenied",
          $metadata: { httpStatusCode: 403 },
        },
      ),
    );

    expect(await main(["rds-snapshot", "--config", "config/example.ts"], io)).toBe(EXIT_FAILED);

    const printed = [...out, ...err].join("\n");
    expect(printed).toContain("rds-snapshot failed: AwsAccessDenied");
    expect(printed).not.toContain("Tr0ub4dor-and-3");
    expect(printed).not.toContain("wJalrXUtnFEMI/K7MDENG");
  });

  it("finds the passwords typed as user:password@host, and nothing in a tag@digest reference", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    expect(
      typedPasswords([
        "copy-image",
        "https://robot:p@ss:w0rd@reg.example.com/x:1",
        "robot:Zq7-winter@h:5000",
        `ghcr.io/org/app:v1.2.3@${digest}`,
        `app:v1.2.3@${digest}`,
        "--src=user:hunter2-long@host/x",
      ]),
    ).toEqual(["p@ss:w0rd", "Zq7-winter", "hunter2-long"]);
  });

  it("prints help with nothing taken out by redaction", async () => {
    const { io, out } = capture();
    await main(["--help"], io);
    await main(["copy-image", "--help"], io);
    expect(out.join("\n")).not.toContain("[REDACTED]");
    expect(out.join("\n")).toContain("--insecure-registry HOST:PORT");
  });
});
