import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Template } from "aws-cdk-lib/assertions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import { DRILL_STATES } from "../../packages/core/src/drill/states.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { resolveIntrinsics, validateAsl } from "../../packages/sim/src/restore/harness.ts";
import { synthApp } from "../../packages/sim/src/synth.ts";
import { Drill } from "../../stacks/Drill.ts";

/** The drill stack of the example stage (target dr: the DR region's standby deployment). */

const STAGE = "drillstack";
const DR = "eu-central-1";
let template: Template;
type Resource = { Type: string; Properties: Record<string, unknown> };
let resources: Record<string, Resource>;
type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Catch?: { Next: string }[];
  Branches?: { StartAt: string; States: Record<string, State> }[];
  Default?: string;
  Choices?: { Next: string }[];
};
let definition: { StartAt: string; States: Record<string, State>; TimeoutSeconds?: number };

const started = Date.now();
beforeAll(async () => {
  await synthApp({ stage: STAGE, config: exampleConfig, region: DR, kind: "standby" });
  template = Template.fromStack(getStack(Drill));
  resources = (template.toJSON() as { Resources: Record<string, Resource> }).Resources;
  const machine = Object.values(resources).find(
    (r) => r.Type === "AWS::StepFunctions::StateMachine",
  ) as Resource;
  definition = JSON.parse(resolveIntrinsics(machine.Properties.DefinitionString));
}, 300_000);

/** The Allow statements of the role of the function whose handler is `handler`. */
function statementsOf(handler: string): Statement[] {
  const [fnId, fn] =
    Object.entries(resources).find(
      ([, r]) =>
        r.Type === "AWS::Lambda::Function" &&
        r.Properties.Handler === `packages/functions/src/${handler}.handler`,
    ) ?? [];
  if (!fnId || !fn) throw new Error(`no function with handler ${handler}`);
  const role = (fn.Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
  return Object.values(resources)
    .filter(
      (r) =>
        r.Type === "AWS::IAM::Policy" &&
        asList(r.Properties.Roles as unknown[]).some((x) => (x as { Ref?: string }).Ref === role),
    )
    .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );

/**
 * Whether the statements allow `action` on `resource` given the request's condition context: IAM's
 * evaluation of Allow statements (Action and Resource globs; StringEquals/StringLike on each key,
 * a key absent from the context failing its condition).
 */
function allowed(
  statements: Statement[],
  action: string,
  resource: string,
  context: Record<string, string> = {},
): boolean {
  return statements.some((s) => {
    if (!asList(s.Action).some((a) => glob(a).test(action))) return false;
    if (!asList(s.Resource as unknown[]).some((r) => glob(arn(r)).test(resource))) return false;
    return Object.entries(s.Condition ?? {}).every(([operator, entries]) =>
      Object.entries(entries).every(([key, expected]) => {
        const value = context[key];
        if (value === undefined) return false;
        const options = asList(expected as string | string[]);
        if (operator === "StringEquals") return options.includes(value);
        if (operator === "StringLike") return options.some((o) => glob(o).test(value));
        throw new Error(`operator ${operator} not evaluated here`);
      }),
    );
  });
}

const db = (name: string) => `arn:aws:rds:${DR}:123456789012:db:${name}`;
const cluster = (name: string) => `arn:aws:rds:${DR}:123456789012:cluster:${name}`;
const TOOL = { "aws:ResourceTag/gitpod-dr:created-by": "gitpod-dr" };

describe("the drill stack", () => {
  it("has a valid state machine with the deadline as its timeout, started on the schedule", () => {
    expect(validateAsl(definition as never).errors).toEqual([]);
    expect(definition.TimeoutSeconds).toBe(240 * 60);
    expect(definition.StartAt).toBe(DRILL_STATES.plan);
    template.hasResourceProperties("AWS::Events::Rule", {
      Name: `gitpod-dr-${STAGE}-drill-schedule`,
      ScheduleExpression: "cron(0 4 ? * SUN *)",
      State: "ENABLED",
    });
  });

  it("reaches teardown from every step: top-level steps catch to it, branch steps end their branch marked failed, which the verdict sends to it", () => {
    const top = definition.States;
    for (const [name, state] of Object.entries(top)) {
      if (state.Type !== "Task" && state.Type !== "Parallel") continue;
      const catches = (state.Catch ?? []).map((c) => c.Next);
      if (name === DRILL_STATES.teardown) expect(catches).toEqual([DRILL_STATES.finish]);
      else if (name === DRILL_STATES.finish) expect(catches).toEqual(["Drill failed (not notified)"]);
      else expect(catches, name).toEqual([DRILL_STATES.teardown]);
    }
    const parallel = top[DRILL_STATES.restore] as State;
    const branchTasks = (parallel.Branches ?? []).flatMap((b) =>
      Object.entries(b.States)
        .filter(([, s]) => s.Type === "Task")
        .map(([n, s]) => ({ n, s, states: b.States })),
    );
    expect(branchTasks.map((t) => t.n).sort()).toEqual(
      [
        DRILL_STATES.restoreDatabase,
        DRILL_STATES.checkDatabaseRestore,
        DRILL_STATES.prepareAccess,
        DRILL_STATES.checkDatabase,
        DRILL_STATES.restoreApplication,
        DRILL_STATES.checkApplication,
        DRILL_STATES.checkImages,
        DRILL_STATES.checkObjects,
      ].sort(),
    );
    for (const { n, s, states } of branchTasks) {
      const mark = states[(s.Catch ?? [])[0]?.Next ?? ""] as State & { Parameters?: unknown };
      expect(mark?.Type, n).toBe("Pass");
      // The branch ends (no task of another branch is cut off in flight) with its failure marked.
      expect(mark?.End, n).toBe(true);
      expect(mark?.Parameters, n).toEqual({
        failed: { "Error.$": "$.Error", "Cause.$": `States.Format('[step ${n}] {}', $.Cause)` },
      });
    }
    // After the Parallel: each tier's failure goes to teardown; all verified goes on (to teardown too).
    const verdict = top["Every tier verified?"] as State;
    expect(verdict.Choices?.map((c) => top[c.Next]?.Next)).toEqual([
      DRILL_STATES.teardown,
      DRILL_STATES.teardown,
      DRILL_STATES.teardown,
      DRILL_STATES.teardown,
    ]);
    expect(verdict.Default).toBe(DRILL_STATES.teardown);
    // Teardown goes on to Finish, which reports and ends passed or failed.
    // Teardown waits for Terminating scratch namespaces (and tears down again), then goes on to Finish.
    const gone = top[top[DRILL_STATES.teardown]?.Next ?? ""] as State & {
      Choices?: { Next: string; Variable?: string; IsPresent?: boolean }[];
    };
    expect(gone.Type).toBe("Choice");
    expect(gone.Choices).toEqual([
      { Variable: "$.teardown.terminating", IsPresent: true, Next: DRILL_STATES.waitTeardown },
    ]);
    expect(top[DRILL_STATES.waitTeardown]?.Next).toBe(DRILL_STATES.teardown);
    expect(gone.Default).toBe(DRILL_STATES.finish);
  });

  it("alarms when no drill succeeded within maxAgeDays, missing data breaching, to the alerts topic", () => {
    // The stack has the functions' Errors/Throttles alarms too: this one by name.
    const alarm =
      Object.values(resources).find(
        (r) =>
          r.Type === "AWS::CloudWatch::Alarm" && r.Properties.AlarmName === `gitpod-dr-${STAGE}-drill-age`,
      )?.Properties ?? {};
    expect(alarm).toMatchObject({
      AlarmName: `gitpod-dr-${STAGE}-drill-age`,
      MetricName: "LastSuccessfulDrillAge",
      Namespace: "GitpodDR",
      Threshold: 8 * 86_400,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "breaching",
      EvaluationPeriods: 1,
    });
    expect(asList(alarm.AlarmActions as unknown[])).toHaveLength(1);
    expect(asList(alarm.OKActions as unknown[])).toHaveLength(1);
  });

  it("cleans up after an aborted or timed-out drill", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      Name: `gitpod-dr-${STAGE}-drill-cleanup`,
      EventPattern: { source: ["aws.states"], detail: { status: ["ABORTED", "TIMED_OUT"] } },
    });
  });

  it("lets the drill delete or change only drill-named, tool-tagged databases and secrets: production's are refused", () => {
    const s = statementsOf("drill");
    const scratch = "gitpod-dr-drill-20261206-0400-abc123";
    for (const action of ["rds:DeleteDBInstance", "rds:ModifyDBInstance"]) {
      expect(allowed(s, action, db(scratch), TOOL), action).toBe(true);
      expect(allowed(s, action, db("gitpod-db"), TOOL), `${action} production`).toBe(false);
      expect(allowed(s, action, db(scratch), {}), `${action} untagged`).toBe(false);
    }
    expect(allowed(s, "rds:DeleteDBCluster", cluster(scratch), TOOL)).toBe(true);
    expect(allowed(s, "rds:DeleteDBCluster", cluster("gitpod-db"), TOOL)).toBe(false);
    expect(
      allowed(s, "rds:RestoreDBInstanceFromDBSnapshot", db("gitpod-db"), {
        "aws:RequestTag/gitpod-dr:created-by": "gitpod-dr",
      }),
    ).toBe(false);
    expect(
      allowed(s, "rds:RestoreDBInstanceFromDBSnapshot", db(scratch), {
        "aws:RequestTag/gitpod-dr:created-by": "gitpod-dr",
      }),
    ).toBe(true);
    const secret = (name: string) => `arn:aws:secretsmanager:${DR}:123456789012:secret:${name}-AbCdEf`;
    expect(
      allowed(
        s,
        "secretsmanager:DeleteSecret",
        secret(`gitpod-dr/${STAGE}/drill/20261206-0400-abc123`),
        TOOL,
      ),
    ).toBe(true);
    expect(allowed(s, "secretsmanager:DeleteSecret", secret("gitpod/production-db"), TOOL)).toBe(false);
    expect(allowed(s, "secretsmanager:GetSecretValue", secret("gitpod/production-db"), TOOL)).toBe(false);
    // The database function reads and describes, and deletes nothing.
    const d = statementsOf("drill-database");
    expect(allowed(d, "rds:DeleteDBInstance", db(scratch), TOOL)).toBe(false);
    expect(allowed(d, "rds:DescribeDBInstances", db("gitpod-db"))).toBe(false);
  });

  it("maps the drill function's role to the drill's Kubernetes group in the target cluster (deploy/rbac-drill.yaml), and reaches EKS only to describe that cluster", () => {
    const entries = Object.entries(resources).filter(([, r]) => r.Type === "AWS::EKS::AccessEntry");
    expect(entries).toHaveLength(1);
    const [, entry] = entries[0] as [string, Resource];
    expect(entry.Properties).toMatchObject({
      ClusterName: "gitpod-dr",
      KubernetesGroups: ["gitpod-dr-drill"],
      Type: "STANDARD",
    });
    const [fnId] =
      Object.entries(resources).find(
        ([, r]) => r.Properties.Handler === "packages/functions/src/drill.handler",
      ) ?? [];
    const fn = resources[fnId as string] as Resource;
    const role = (fn.Properties.Role as { "Fn::GetAtt": [string] })["Fn::GetAtt"][0];
    expect(entry.Properties.PrincipalArn).toEqual({ "Fn::GetAtt": [role, "Arn"] });
    const s = statementsOf("drill");
    const eksActions = s.flatMap((x) => asList(x.Action)).filter((a) => a.startsWith("eks:"));
    expect(eksActions).toEqual(["eks:DescribeCluster"]);
    expect(allowed(s, "eks:DescribeCluster", `arn:aws:eks:${DR}:123456789012:cluster/gitpod-dr`)).toBe(true);
    expect(allowed(s, "eks:DescribeCluster", `arn:aws:eks:${DR}:123456789012:cluster/other`)).toBe(false);
    // Production's database cannot be changed through the cluster API either.
    expect(allowed(s, "rds:ModifyDBCluster", cluster("gitpod-db"), TOOL)).toBe(false);
    expect(allowed(s, "rds:ModifyDBInstance", db("gitpod-db"), TOOL)).toBe(false);
  });

  it("reads the newest recovery point from the catalog and records its result there: Query and PutItem on the table, its key only through DynamoDB, no SSM", () => {
    const s = statementsOf("drill");
    const table = `arn:aws:dynamodb:${DR}:123456789012:table/gitpod-dr-${STAGE}-catalog`;
    const onTable = s.filter((x) => asList(x.Action).some((a) => String(a).startsWith("dynamodb:")));
    expect(onTable.map((x) => [x.Sid, asList(x.Action), asList(x.Resource).map(arn)])).toEqual([
      ["RecordAndReadTheRecoveryPointCatalog", ["dynamodb:Query", "dynamodb:PutItem"], [table]],
    ]);
    expect(allowed(s, "dynamodb:PutItem", table)).toBe(true);
    expect(allowed(s, "dynamodb:PutItem", `arn:aws:dynamodb:${DR}:123456789012:table/gitpod-db`)).toBe(false);
    expect(allowed(s, "dynamodb:DeleteItem", table)).toBe(false);
    const key = s.find((x) => x.Sid === "UseTheCatalogKeyThroughDynamoDb");
    expect(asList(key?.Action)).toEqual(["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]);
    expect(key?.Condition).toEqual({
      StringEquals: {
        "kms:ViaService": `dynamodb.${DR}.amazonaws.com`,
        "kms:EncryptionContext:aws:dynamodb:tableName": `gitpod-dr-${STAGE}-catalog`,
      },
    });
    const actions = [...s, ...statementsOf("drill-database")].flatMap((x) => asList(x.Action).map(String));
    expect(actions.filter((a) => a.startsWith("ssm:"))).toEqual([]);
    // The database function neither reads nor writes the catalog.
    expect(
      statementsOf("drill-database").some((x) =>
        asList(x.Action).some((a) => String(a).startsWith("dynamodb:")),
      ),
    ).toBe(false);
  });

  it("tells the drill functions where the catalog is and which tiers a recovery point has", () => {
    const fn = Object.values(resources).find(
      (r) =>
        r.Type === "AWS::Lambda::Function" && r.Properties.Handler === "packages/functions/src/drill.handler",
    ) as Resource;
    const env = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    const config = JSON.parse(env.GITPOD_DR_CONFIG as string);
    expect(config.catalog).toMatchObject({ tableName: `gitpod-dr-${STAGE}-catalog`, region: DR });
    expect(config.catalog.scope).toHaveProperty("buckets");
  });

  it.each([
    ["drill", 1_600_000],
    // "Check database" alone (drill/database-step.ts) and mysql2 without iconv-lite's CJK tables
    // (stacks/drill/bundling.ts): 1.24 MB by npm run bench:bundles, 2.06 MB before.
    ["drill-database", 1_300_000],
  ] as const)("bundles the %s handler under its size limit into a module that loads", (name, maxBytes) => {
    const artifacts = join(process.cwd(), ".sst", "artifacts");
    const bundle = readdirSync(artifacts)
      .map((dir) => join(artifacts, dir, `packages/functions/src/${name}.mjs`))
      .filter((file) => existsSync(file) && statSync(file).mtimeMs >= started - 1000)
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    expect(bundle).toBeDefined();
    expect(statSync(bundle as string).size).toBeLessThan(maxBytes);
    // The plugin ran in SST's esbuild on the database function only: the stub in place of the tables.
    expect(readFileSync(bundle as string, "utf8").includes("is left out of this bundle")).toBe(
      name === "drill-database",
    );
    const loaded = spawnSync(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `const m = await import(${JSON.stringify(pathToFileURL(bundle as string).href)}); console.log(typeof m.handler);`,
      ],
      { encoding: "utf8", cwd: tmpdir() },
    );
    expect(loaded.stderr).toBe("");
    expect(loaded.stdout.trim()).toBe("function");
  });

  it("runs the database checks in the drill's VPC", () => {
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "packages/functions/src/drill-database.handler",
      VpcConfig: { SubnetIds: ["subnet-0123456789abcdef0"], SecurityGroupIds: ["sg-0a1b2c3d4e5f60718"] },
    });
  });
});
