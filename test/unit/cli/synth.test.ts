import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_OK, EXIT_USAGE, main } from "../../../packages/cli/src/main.ts";
import type { RegionSummary } from "../../../packages/cli/src/synth-summary.ts";
import { formatSynthSummary, renderValue } from "../../../packages/cli/src/synth-summary.ts";

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) }, out, err };
}

interface SynthJson {
  stage: string;
  account: string;
  placeholderAccount: boolean;
  regions: RegionSummary[];
}

describe("gitpod-dr synth (the example stage, offline)", () => {
  const dir = mkdtempSync(join(tmpdir(), "gitpod-dr-synth-"));
  let code: number;
  let result: SynthJson;
  let stdout: string[];

  beforeAll(() => {
    // The shipped bin in a fresh process, as a person runs it: not under vitest (no NODE_ENV=test, which
    // would skip SST's bootstrap lookup by itself) and without AWS credentials, so a lookup would fail.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_SHARED_CREDENTIALS_FILE: "/nonexistent/credentials",
      AWS_CONFIG_FILE: "/nonexistent/config",
      AWS_EC2_METADATA_DISABLED: "true",
    };
    for (const k of ["NODE_ENV", "VITEST", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"])
      delete env[k];
    const run = spawnSync(
      process.execPath,
      [
        "packages/cli/bin/gitpod-dr.js",
        "synth",
        "--config",
        "config/example.ts",
        "--out",
        dir,
        "--account",
        "210987654321",
        "--json",
      ],
      { encoding: "utf8", env, timeout: 280_000, maxBuffer: 64 * 1024 * 1024 },
    );
    code = run.status ?? -1;
    stdout = [run.stdout];
    if (code !== 0) throw new Error(`synth exited ${code}: ${run.stderr}`);
    result = JSON.parse(run.stdout) as SynthJson;
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("prints one JSON document (the bin, offline, without credentials) and writes every stack's template, primary and DR standby", () => {
    expect(code).toBe(EXIT_OK);
    expect(() => JSON.parse(stdout.join(""))).not.toThrow();
    expect(result).toMatchObject({ stage: "example", account: "210987654321", placeholderAccount: false });
    expect(result.regions.map((r) => [r.region, r.kind, r.stacks.map((s) => s.name)])).toEqual([
      [
        "eu-west-1",
        "primary",
        ["Alerts", "Backups", "Storage", "Images", "Application", "Restore", "Dashboard"].map(
          (s) => `example-gitpod-dr-${s}`,
        ),
      ],
      [
        "eu-central-1",
        "standby",
        ["Alerts", "Catalog", "Restore", "Drill", "Dashboard"].map((s) => `example-gitpod-dr-${s}`),
      ],
    ]);
    for (const stack of result.regions.flatMap((r) => r.stacks)) {
      expect(existsSync(stack.file)).toBe(true);
      expect(stack.file.startsWith(dir)).toBe(true);
    }
  });

  it("lists each function's trigger, timeout, memory and every IAM statement with resources and conditions", () => {
    const primary = result.regions[0] as RegionSummary;
    const rds = primary.functions.find((f) => f.function.startsWith("RdsSnapshot"));
    expect(rds).toMatchObject({
      triggers: ["schedule cron(0 3 * * ? *)"],
      timeoutSeconds: 300,
      memoryMb: 512,
    });
    expect(rds?.permissions).toContainEqual({
      sid: "DeleteDbSnapshotsTaggedByGitpodDr",
      effect: "Allow",
      actions: ["rds:DeleteDBSnapshot"],
      resources: [
        "arn:aws:rds:eu-west-1:210987654321:snapshot:gitpod-dr-gitpod-db-*",
        "arn:aws:rds:eu-central-1:210987654321:snapshot:gitpod-dr-gitpod-db-*",
      ],
      conditions: {
        StringEquals: {
          "rds:snapshot-tag/gitpod-dr:created-by": "gitpod-dr",
          "rds:snapshot-tag/gitpod-dr:source": "gitpod-db",
        },
      },
    });
    // Every statement of the role's policies in the written template is in the summary: none is dropped.
    const backups = primary.stacks.find((s) => s.name.endsWith("-Backups"));
    const template = JSON.parse(readFileSync(backups?.file as string, "utf8")) as {
      Resources: Record<
        string,
        { Type: string; Properties: { Roles?: { Ref: string }[]; PolicyDocument?: { Statement: unknown[] } } }
      >;
    };
    const statements = Object.values(template.Resources)
      .filter((r) => r.Type === "AWS::IAM::Policy" && r.Properties.Roles?.some((x) => x.Ref === rds?.role))
      .flatMap((r) => r.Properties.PolicyDocument?.Statement ?? []);
    expect(statements.length).toBeGreaterThan(5);
    expect(rds?.permissions).toHaveLength(statements.length);

    const velero = primary.functions.find((f) => f.function.startsWith("VeleroBackup"));
    expect(velero?.kubernetes).toEqual(["cluster gitpod: groups gitpod-dr"]);
    const notify = primary.functions.find((f) => f.function.startsWith("RestoreNotify"));
    expect(notify?.triggers[0]).toMatch(/^state machine gitpod-dr-example-restore: .*Notify failure/);
    const machineRole = primary.otherRoles.find((r) => r.usedBy.some((u) => u.includes("StateMachine")));
    expect(machineRole?.permissions.flatMap((p) => p.actions)).toContain("lambda:InvokeFunction");
  });

  it("lists the notification rules of each region, and the standby's functions in the DR region", () => {
    const [primary, standby] = result.regions as [RegionSummary, RegionSummary];
    expect(primary.alarms.map((a) => a.name)).toEqual(
      expect.arrayContaining(["gitpod-dr-example-restore-stopped", "gitpod-dr-example-restore-failed"]),
    );
    const plan = standby.functions.find((f) => f.function.startsWith("RestorePlan"));
    expect(plan?.kubernetes).toEqual(["cluster gitpod-dr: groups gitpod-dr-restore"]);
    expect(standby.functions.some((f) => f.function.startsWith("RdsSnapshot"))).toBe(false);
  });

  it("reads as text: region headings, triggers, permissions with their conditions", () => {
    const text = formatSynthSummary("example", "000000000000", true, result.regions);
    expect(text).toMatch(/placeholder: --account ID shows your ARNs/);
    expect(text).toMatch(/== eu-central-1: DR region \(the restore's standby\)/);
    expect(text).toMatch(
      /Allow rds:DeleteDBSnapshot {2}\[DeleteDbSnapshotsTaggedByGitpodDr\]\n {8}on arn:aws:rds:eu-west-1:210987654321:snapshot:gitpod-dr-gitpod-db-\*\n.*\n {8}when \{"StringEquals"/,
    );
    expect(text).toMatch(/trigger: schedule rate\(6 hours\)\n {4}timeout 900 s, memory 1024 MB/);
  });
});

describe("gitpod-dr synth: bad usage", () => {
  it.each([
    [["synth"], /synth needs --config FILE/],
    [["synth", "--config", "config/nope.ts"], /No stage configuration at config\/nope\.ts/],
    [
      ["synth", "--config", "config/example.ts", "--account", "12345"],
      /--account: must be a 12-digit AWS account ID/,
    ],
    [["synth", "--config", "config/example.ts", "--bogus"], /unknown option "--bogus"/],
  ])("%j exits 2 and writes nothing", async (argv, message) => {
    const { io, err } = capture();
    expect(await main(argv, io)).toBe(EXIT_USAGE);
    expect(err.join("\n")).toMatch(message);
  });

  it("--help shows usage, options, an example and exit codes", async () => {
    const { io, out } = capture();
    expect(await main(["synth", "--help"], io)).toBe(EXIT_OK);
    expect(out.join("\n")).toMatch(
      /Usage: gitpod-dr synth --config FILE[\s\S]*--account ID[\s\S]*Example:[\s\S]*Exit codes:/,
    );
  });
});

describe("renderValue", () => {
  it("joins Fn::Join, names the partition, and shows references and imports by name", () => {
    expect(
      renderValue({
        "Fn::Join": ["", ["arn:", { Ref: "AWS::Partition" }, ":s3:::", { Ref: "Bucket1" }, "/*"]],
      }),
    ).toBe("arn:aws:s3:::<Bucket1>/*");
    expect(renderValue({ "Fn::ImportValue": "st-Alerts:ExportsOutputRefAlertsTopic3414BE910C2DFF03" })).toBe(
      "<AlertsTopic of st-Alerts>",
    );
  });
});
