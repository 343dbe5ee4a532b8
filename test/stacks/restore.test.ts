import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { StageConfigInput } from "@gitpod-dr/core/config";
import {
  parseRestoreJobConfig,
  parseStageConfig,
  restoreJobConfig,
  restoreJobConfigSchema,
} from "@gitpod-dr/core/config";
import { STATES, TIER_FAILED } from "@gitpod-dr/core/restore/states";
import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type App, getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import exampleConfig from "../../config/example.ts";
import { catalogConfig } from "../../packages/core/src/config/catalog.ts";
import { arn, asList, type Statement } from "../../packages/sim/src/cfn.ts";
import { ACCOUNT, synth, synthApp } from "../../packages/sim/src/synth.ts";
import { deploymentKind } from "../../stacks/index.ts";
import { RESTORE_COMMENT, Restore } from "../../stacks/Restore.ts";
import { RESTORE_KUBERNETES_GROUP } from "../../stacks/restore/functions.ts";

const PRIMARY_CLUSTER_ARN = `arn:aws:eks:eu-west-1:${ACCOUNT}:cluster/gitpod`;
const DR_CLUSTER_ARN = `arn:aws:eks:eu-central-1:${ACCOUNT}:cluster/gitpod-dr`;
const HANDLERS = {
  plan: "packages/functions/src/restore-plan.handler",
  database: "packages/functions/src/restore-database.handler",
  image: "packages/functions/src/restore-image.handler",
  application: "packages/functions/src/restore-application.handler",
  notify: "packages/functions/src/restore-notify.handler",
} as const;
type FunctionKey = keyof typeof HANDLERS;

/** A resource of the template, as `findResources` returns it. */
type Resource = ReturnType<Template["findResources"]>[string];

/** A state of an Amazon States Language definition (only the fields the tests read). */
interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next: string }[];
  Branches?: AslMachine[];
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
  MaxConcurrency?: number;
  Error?: string;
}
interface AslMachine {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  Comment?: string;
}

/** The definition with its Fn::Join resolved: CloudFormation tokens (function ARNs) become "<token>". */
function definitionOf(machine: Resource): AslMachine {
  const body = machine.Properties.DefinitionString as unknown;
  const text =
    typeof body === "string"
      ? body
      : ((body as { "Fn::Join": [string, unknown[]] })["Fn::Join"][1] ?? [])
          .map((part) => (typeof part === "string" ? part : "<token>"))
          .join("");
  return JSON.parse(text) as AslMachine;
}

/** Every state of the machine, nested ones (Parallel branches, Map item processors) included. */
function allStates(machine: AslMachine, inMap = false): { name: string; state: AslState; inMap: boolean }[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, inMap },
    ...(state.Branches ?? []).flatMap((b) => allStates(b, inMap)),
    ...[state.ItemProcessor, state.Iterator].flatMap((p) => (p ? allStates(p, true) : [])),
  ]);
}

function functionOf(template: Template, key: FunctionKey): Resource {
  const fns = Object.values(
    template.findResources("AWS::Lambda::Function", { Properties: { Handler: HANDLERS[key] } }),
  );
  expect(fns, `the ${key} function`).toHaveLength(1);
  return fns[0] as Resource;
}

const roleOf = (template: Template, key: FunctionKey): string =>
  (functionOf(template, key).Properties.Role["Fn::GetAtt"] as string[])[0] as string;

function statementsOf(template: Template, key: FunctionKey): Statement[] {
  const policies = template.findResources("AWS::IAM::Policy", {
    Properties: { Roles: [{ Ref: roleOf(template, key) }] },
  });
  return Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => asList(s.Action).includes(action));
const resources = (statements: Statement[]) => statements.flatMap((s) => asList(s.Resource).map(arn));

describe("the example stage's restore section", () => {
  let template: Template;
  let machine: Resource;
  let definition: AslMachine;

  beforeAll(async () => {
    template = await synth(Restore, { stage: "restore", config: exampleConfig });
    const machines = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
    expect(machines).toHaveLength(1);
    machine = machines[0] as Resource;
    definition = definitionOf(machine);
  }, 120_000);

  it("deploys one state machine with tracing on and error logging without execution data", () => {
    expect(machine.Properties.StateMachineName).toBe("gitpod-dr-restore-restore");
    expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
    const logging = machine.Properties.LoggingConfiguration;
    expect(["ERROR", "ALL"]).toContain(logging.Level);
    expect(logging.Level).toBe("ERROR");
    expect(logging.IncludeExecutionData).toBe(false);
    expect(logging.Destinations).toHaveLength(1);
  });

  it("times out after restore.timeoutMinutes and documents its input in the Comment", () => {
    const minutes = parseStageConfig(exampleConfig).restore?.timeoutMinutes;
    expect(minutes).toBe(360);
    expect(definition.TimeoutSeconds).toBe(360 * 60);
    expect(definition.Comment).toBe(RESTORE_COMMENT);
    for (const field of [
      "restoreId",
      "target",
      "dbSnapshot",
      "veleroBackup",
      "tiers",
      "targetDbIdentifier",
      "dryRun",
      "allowPartialRestore",
      '"primary" | "dr"',
      "{}",
    ]) {
      expect(definition.Comment).toContain(field);
    }
  });

  it("has every state name of states.ts in its definition, starting with Validate input", () => {
    const names = new Set(allStates(definition).map((s) => s.name));
    for (const name of Object.values(STATES)) expect(names, name).toContain(name);
    expect(definition.StartAt).toBe(STATES.validate);
    expect(definition.States[STATES.validate]?.Next).toBe(STATES.plan);
    expect(definition.States[STATES.failed]).toMatchObject({ Type: "Fail" });
    expect(definition.States[STATES.succeeded]).toMatchObject({ Type: "Succeed" });
  });

  it("restores the tiers in a Parallel of three branches, each failing with RestoreTierFailed", () => {
    const parallels = allStates(definition).filter((s) => s.state.Type === "Parallel");
    expect(parallels.map((p) => p.name)).toEqual([STATES.tiers]);
    const branches = parallels[0]?.state.Branches ?? [];
    expect(branches).toHaveLength(3);
    expect(branches.map((b) => b.StartAt)).toEqual([
      "Restore the database?",
      "Restore images?",
      "Restore the application?",
    ]);
    for (const branch of branches) {
      const fails = Object.values(branch.States).filter((s) => s.Type === "Fail");
      expect(fails.map((f) => f.Error)).toEqual([TIER_FAILED]);
    }
    expect(parallels[0]?.state.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.failed.tiers", Next: STATES.notifyFailure },
    ]);
  });

  it("ensures images in a Map limited to restore.images.concurrency", () => {
    const maps = allStates(definition).filter((s) => s.state.Type === "Map");
    expect(maps.map((m) => m.name)).toEqual([STATES.ensureImages]);
    expect(maps[0]?.state.MaxConcurrency).toBe(parseStageConfig(exampleConfig).restore?.images?.concurrency);
    expect(maps[0]?.state.MaxConcurrency).toBe(4);
    const inner = allStates(definition).filter((s) => s.inMap);
    expect(inner.map((s) => s.name)).toEqual([STATES.ensureImage]);
  });

  it("retries Lambda service errors and Transient on every Task, and catches every failure", () => {
    const tasks = allStates(definition).filter((s) => s.state.Type === "Task");
    expect(tasks.length).toBeGreaterThanOrEqual(13);
    for (const { name, state, inMap } of tasks) {
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried, name).toContain("Lambda.ServiceException");
      expect(retried, name).toContain("Transient");
      if (inMap) {
        // A failed item fails the Map, whose Catch records it.
        expect(state.Catch, name).toBeUndefined();
        const map = allStates(definition).find((s) => s.name === STATES.ensureImages);
        expect(map?.state.Catch?.map((c) => c.ErrorEquals)).toEqual([["States.ALL"]]);
      } else {
        expect(state.Catch?.length, name).toBeGreaterThan(0);
        expect(
          state.Catch?.flatMap((c) => c.ErrorEquals),
          name,
        ).toContain("States.ALL");
      }
    }
    const validate = definition.States[STATES.validate];
    // The raw input may be any JSON: the caught error replaces it (no ResultPath), and "Input rejected"
    // records it as Validate's failure before Notify failure.
    expect(validate?.Catch).toEqual([{ ErrorEquals: ["States.ALL"], Next: "Input rejected" }]);
    expect(definition.States["Input rejected"]).toEqual({
      Type: "Pass",
      Parameters: { failed: { "validate.$": "$" } },
      Next: STATES.notifyFailure,
    });
  });

  it("alerts the topic when an execution times out, is aborted, or fails without its own failure message", () => {
    const rules = Object.values(template.findResources("AWS::Events::Rule")) as Resource[];
    expect(rules).toHaveLength(2);
    const machine = { Ref: Object.keys(template.findResources("AWS::StepFunctions::StateMachine"))[0] };
    const patterns = rules.map((r) => r.Properties.EventPattern);
    expect(patterns).toContainEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: { stateMachineArn: [machine], status: ["TIMED_OUT", "ABORTED"] },
    });
    // A failure that "Notify failure" already reported ends with a "[notified]" cause: not alerted twice.
    expect(patterns).toContainEqual({
      source: ["aws.states"],
      "detail-type": ["Step Functions Execution Status Change"],
      detail: {
        stateMachineArn: [machine],
        status: ["FAILED"],
        cause: [null, { "anything-but": { prefix: "[notified]" } }],
      },
    });
    for (const rule of rules) {
      expect(rule.Properties.Targets).toHaveLength(1);
      expect(JSON.stringify(rule.Properties.Targets[0].Arn)).toMatch(/AlertsTopic/);
      expect(rule.Properties.Targets[0].InputTransformer.InputTemplate).toContain("same restoreId");
    }
  });

  it("outputs the state machine's ARN and console URL", () => {
    const outputs = template.findOutputs("*");
    const machineId = Object.keys(template.findResources("AWS::StepFunctions::StateMachine"))[0];
    expect(outputs.RestoreStateMachineArn?.Value).toEqual({ Ref: machineId });
    expect(arn(outputs.RestoreConsoleUrl?.Value)).toBe(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/statemachines/view/${JSON.stringify({ Ref: machineId })}`,
    );
  });

  it("gives every function the run-time configuration, and it parses", () => {
    const stage = parseStageConfig(exampleConfig);
    for (const key of Object.keys(HANDLERS) as FunctionKey[]) {
      const vars = functionOf(template, key).Properties.Environment.Variables;
      expect(vars.GITPOD_DR_STAGE).toBe("restore");
      const config = parseRestoreJobConfig(vars.GITPOD_DR_CONFIG);
      // With the stage's catalog: the plan reads the newest complete recovery point for `{}`.
      expect(config).toEqual(
        restoreJobConfigSchema.parse(
          restoreJobConfig("restore", ACCOUNT, stage, catalogConfig("restore", stage)),
        ),
      );
      expect(config.catalog?.tableName).toBe("gitpod-dr-restore-catalog");
    }
  });

  it("lets the database function restore only into new databases carrying the tool's tag", () => {
    const statements = statementsOf(template, "database");
    const restoring = withAction(statements, "rds:RestoreDBInstanceFromDBSnapshot");
    expect(restoring.length).toBeGreaterThan(0);
    for (const action of ["rds:RestoreDBClusterFromSnapshot", "rds:CreateDBInstance"]) {
      expect(withAction(statements, action)).toEqual(restoring);
    }
    const onDatabases = restoring.filter((s) =>
      resources([s]).some((r) => /:rds:[^:]+:\d+:(db|cluster):/.test(r)),
    );
    expect(onDatabases).toHaveLength(1);
    expect(onDatabases[0]?.Condition).toEqual({
      StringEquals: { "aws:RequestTag/gitpod-dr:created-by": "gitpod-dr" },
    });
    // The statement without the condition names only snapshots, subnet and parameter groups.
    for (const s of restoring.filter((s) => !s.Condition)) {
      for (const r of resources([s]))
        expect(r).toMatch(/:rds:[^:]+:\d+:(snapshot|cluster-snapshot|subgrp|pg|cluster-pg|og):/);
    }
    expect(withAction(statements, "rds:AddTagsToResource")).toEqual(onDatabases);
  });

  it("lets only the notify function publish, and only to the alerts topic", () => {
    for (const key of ["plan", "database", "image", "application"] as const) {
      expect(withAction(statementsOf(template, key), "sns:Publish"), key).toEqual([]);
    }
    const publish = withAction(statementsOf(template, "notify"), "sns:Publish");
    expect(publish).toHaveLength(1);
    expect(asList(publish[0]?.Action)).toEqual(["sns:Publish"]);
    expect(JSON.stringify(publish[0]?.Resource)).toMatch(/AlertsTopic/);
  });

  it("scopes eks:DescribeCluster to the targets' cluster ARNs", () => {
    for (const key of ["plan", "application", "notify"] as const) {
      const describe = withAction(statementsOf(template, key), "eks:DescribeCluster");
      expect(describe, key).toHaveLength(1);
      expect(resources(describe).sort(), key).toEqual([DR_CLUSTER_ARN, PRIMARY_CLUSTER_ARN].sort());
    }
    for (const key of ["database", "image"] as const) {
      expect(withAction(statementsOf(template, key), "eks:DescribeCluster"), key).toEqual([]);
    }
  });

  it("lets the image function pull and push only the configured repositories; only the ECR login on *", () => {
    const statements = statementsOf(template, "image");
    const ecr = statements.filter((s) => asList(s.Action).some((a) => a.startsWith("ecr:")));
    const onStar = ecr.filter((s) => resources([s]).includes("*"));
    expect(onStar.flatMap((s) => asList(s.Action))).toEqual(["ecr:GetAuthorizationToken"]);
    expect(resources(onStar)).toEqual(["*"]);
    const push = withAction(statements, "ecr:PutImage");
    expect(push).toHaveLength(1);
    expect(asList(push[0]?.Action)).toContain("ecr:BatchGetImage");
    const repos = ["gitpod/server", "gitpod/proxy", "gitpod/ws-manager-mk2"];
    expect(resources(push).sort()).toEqual(
      ["eu-west-1", "eu-central-1"]
        .flatMap((region) => repos.map((r) => `arn:aws:ecr:${region}:${ACCOUNT}:repository/${r}`))
        .sort(),
    );
  });

  it("maps the plan, application and notify roles to gitpod-dr-restore on the primary cluster", () => {
    const entries = Object.values(template.findResources("AWS::EKS::AccessEntry")) as Resource[];
    expect(RESTORE_KUBERNETES_GROUP).toBe("gitpod-dr-restore");
    expect(entries).toHaveLength(3);
    const principals = entries.map((e) => {
      const { Tags: _, PrincipalArn, ...rest } = e.Properties;
      expect(rest).toEqual({
        ClusterName: "gitpod",
        KubernetesGroups: ["gitpod-dr-restore"],
        Type: "STANDARD",
      });
      return PrincipalArn["Fn::GetAtt"][0] as string;
    });
    expect(principals.sort()).toEqual(
      [roleOf(template, "plan"), roleOf(template, "application"), roleOf(template, "notify")].sort(),
    );
    // The DR cluster is in another region: its access entries are output as commands.
    const dr = template.findOutputs("RestoreAccessEntriesdr").RestoreAccessEntriesdr;
    expect(JSON.stringify(dr?.Value)).toContain("--cluster-name gitpod-dr");
    expect(JSON.stringify(dr?.Value)).toContain("--kubernetes-groups gitpod-dr-restore");
  });
});

describe("a stage without a restore section", () => {
  it("deploys no state machine, no restore function and no access entry", async () => {
    const { restore: _, drill: _drill, ...withoutRestore } = exampleConfig as StageConfigInput;
    const template = await synth(Restore, { stage: "norestore", config: withoutRestore });

    expect(Object.keys(template.findResources("AWS::StepFunctions::StateMachine"))).toEqual([]);
    expect(
      Object.keys(
        template.findResources("AWS::Lambda::Function", { Properties: { Handler: HANDLERS.plan } }),
      ),
    ).toEqual([]);
    expect(Object.keys(template.findResources("AWS::EKS::AccessEntry"))).toEqual([]);
    expect(Object.keys(template.findOutputs("RestoreStateMachineArn"))).toEqual([]);
  }, 120_000);
});

describe("deploy/rbac-restore.yaml", () => {
  type Rule = { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] };
  type Doc = {
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: Rule[];
    roleRef?: { kind: string; name: string };
    subjects?: { kind: string; name: string }[];
  };
  const docs = parseAllDocuments(
    readFileSync(join(process.cwd(), "deploy", "rbac-restore.yaml"), "utf8"),
  ).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Doc;
  });
  const rules = docs.flatMap((d) =>
    (d.rules ?? []).map((r) => ({ namespace: d.metadata.namespace, role: d.metadata.name, ...r })),
  );

  it("binds its Roles to the group the stack maps the roles to", () => {
    const bindings = docs.filter((d) => d.kind === "RoleBinding");
    expect(bindings).toHaveLength(2);
    for (const b of bindings) {
      expect(b.subjects).toEqual([
        expect.objectContaining({ kind: "Group", name: RESTORE_KUBERNETES_GROUP }),
      ]);
    }
  });

  it("grants secrets get only on database and kotsadm-authstring, and patch only on database", () => {
    const secrets = rules.filter((r) => r.resources.includes("secrets"));
    expect(secrets.map((r) => ({ ...r, resourceNames: [...(r.resourceNames ?? [])].sort() }))).toEqual([
      {
        namespace: "gitpod",
        role: "gitpod-dr-restore-app",
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["database", "kotsadm-authstring"],
        verbs: ["get"],
      },
      {
        namespace: "gitpod",
        role: "gitpod-dr-restore-app",
        apiGroups: [""],
        resources: ["secrets"],
        resourceNames: ["database"],
        verbs: ["patch"],
      },
    ]);
    // The names match the configuration's defaults (the Secret the restore reads and patches).
    const restore = parseStageConfig(exampleConfig).restore;
    expect(restore?.application.databaseSecret.name).toBe("database");
    expect(restore?.application.namespace).toBe("gitpod");
  });

  it("never deletes, updates or lists secrets", () => {
    for (const r of rules) {
      for (const verb of r.verbs) expect(["create", "get", "list", "patch"]).toContain(verb);
      for (const field of [r.apiGroups, r.resources, r.resourceNames ?? []]) {
        for (const value of field) expect(value).not.toContain("*");
      }
    }
  });
});

describe("the restore's standby in the DR region", () => {
  const stage = parseStageConfig(exampleConfig);

  it("deploys everything to the primary region, the standby to the DR region, and nothing elsewhere", () => {
    expect(deploymentKind("eu-west-1", stage, "example")).toBe("primary");
    expect(deploymentKind("eu-central-1", stage, "example")).toBe("standby");
    expect(() => deploymentKind("us-east-1", stage, "example")).toThrow(
      'Deploy stage "example" to its primary region eu-west-1 (--region eu-west-1), and its standby (catalog, RPO alarms, restore) to the DR region eu-central-1 (--region eu-central-1); it was asked for us-east-1',
    );
    // The DR region always has the recovery-point catalog, with or without a restore.
    const { restore: _restore, drill: _drill, ...withoutRestore } = exampleConfig as StageConfigInput;
    expect(deploymentKind("eu-central-1", parseStageConfig(withoutRestore), "example")).toBe("standby");
  });

  let app: App;
  let template: Template;
  beforeAll(async () => {
    app = await synthApp({
      stage: "standby",
      config: exampleConfig,
      region: "eu-central-1",
      kind: "standby",
    });
    template = Template.fromStack(getStack(Restore));
  }, 120_000);

  it("holds only the alerts topic, the catalog, the restore, the drill (the example's drill targets dr) and the dashboard, in the DR region", () => {
    const stacks = app.node.children.filter((c) => Stack.isStack(c)).map((c) => c.node.id);
    expect(stacks.sort()).toEqual([
      "standby-gitpod-dr-Alerts",
      "standby-gitpod-dr-Catalog",
      "standby-gitpod-dr-Dashboard",
      "standby-gitpod-dr-Drill",
      "standby-gitpod-dr-Restore",
    ]);
    expect(getStack(Restore).region).toBe("eu-central-1");
    expect(Object.keys(template.findResources("AWS::StepFunctions::StateMachine"))).toHaveLength(1);
  });

  it("maps its functions to the DR cluster, and outputs the commands for the primary one", () => {
    const entries = Object.values(template.findResources("AWS::EKS::AccessEntry")) as Resource[];
    expect(entries).toHaveLength(3);
    for (const entry of entries) {
      expect(entry.Properties.ClusterName).toBe("gitpod-dr");
      expect(entry.Properties.KubernetesGroups).toEqual([RESTORE_KUBERNETES_GROUP]);
    }
    const outputs = template.findOutputs("*");
    const primary = Object.entries(outputs).find(([id]) => id.startsWith("RestoreAccessEntriesprimary"));
    expect(JSON.stringify(primary?.[1].Value)).toContain(
      "aws eks create-access-entry --region eu-west-1 --cluster-name gitpod",
    );
    expect(arn(outputs.RestoreConsoleUrl?.Value)).toMatch(
      /^https:\/\/eu-central-1\.console\.aws\.amazon\.com\/states\//,
    );
  });
});
