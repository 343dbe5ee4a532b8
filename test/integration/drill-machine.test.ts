/**
 * The drill's synthesized state machine, run locally with aws-local-stepfunctions: every Task bound to
 * a step that answers as the drill's handler does (or fails with a named error, as Lambda reports it),
 * and "Finish drill" bound to the real `finishDrill` (message, record, metric). Shows the graph: the
 * happy path; each verification failing; a failure in every step reaching teardown; teardown failing
 * reported loudly. (The steps' own behaviour is tested against moto, MariaDB and the Kubernetes
 * simulator in drill-aws, drill-sql-checks and drill-kube-sim.)
 */
import { Template } from "aws-cdk-lib/assertions";
import { StateMachine as LocalStateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { getStack } from "sst/constructs";
import { beforeAll, describe, expect, it } from "vitest";
import exampleConfig from "../../config/example.ts";
import {
  DrillTeardownFailedError,
  DrillVerificationFailedError,
} from "../../packages/core/src/drill/errors.ts";
import { finishDrill, finishEvent } from "../../packages/core/src/drill/result.ts";
import { DRILL_STATES as S } from "../../packages/core/src/drill/states.ts";
import type { DrillResult } from "../../packages/core/src/drill/types.ts";
import type { Notification } from "../../packages/core/src/notify/failure.ts";
import { allStates, resolveIntrinsics } from "../../packages/sim/src/restore/harness.ts";
import { synthApp } from "../../packages/sim/src/synth.ts";
import { Drill } from "../../stacks/Drill.ts";

let definition: StateMachineDefinition;

beforeAll(async () => {
  await synthApp({ stage: "drillrun", config: exampleConfig, region: "eu-central-1", kind: "standby" });
  const resources = (
    Template.fromStack(getStack(Drill)).toJSON() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    }
  ).Resources;
  const machine = Object.values(resources).find((r) => r.Type === "AWS::StepFunctions::StateMachine");
  definition = JSON.parse(resolveIntrinsics(machine?.Properties.DefinitionString)) as StateMachineDefinition;
}, 300_000);

const START = "2026-12-06T04:00:00.000Z";
const ID = "20261206-0400-abc123";
const PLAN = {
  drillId: ID,
  startedAt: START,
  region: "eu-central-1",
  point: {
    id: "gitpod-dr-gitpod-db-2026-12-06-0300+gitpod-dr-2026-12-06-0200",
    recoveryTime: "2026-12-06T03:00:00.000Z",
    database: {
      kind: "instance",
      snapshotIdentifier: "gitpod-dr-gitpod-db-2026-12-06-0300",
      snapshotArn: "arn:aws:rds:eu-central-1:123456789012:snapshot:x",
    },
    application: { backupName: "gitpod-dr-2026-12-06-0200", itemsBackedUp: 42 },
    images: [{ reference: "123456789012.dkr.ecr.eu-central-1.amazonaws.com/gitpod/server:2024.11.0" }],
    objectStorage: [
      { bucket: "gitpod-workspace-backups", region: "eu-west-1", watermark: "2026-12-06T03:00:00.000Z" },
    ],
  },
  leftoversRemoved: ["DB instance gitpod-dr-drill-20261129-0400-old111"],
};
const at = (minutes: number) => new Date(Date.parse(START) + minutes * 60_000).toISOString();

/** What each action answers on the happy path (the shapes the drill's handler returns). */
const ANSWERS: Record<string, unknown> = {
  plan: PLAN,
  "restore-database": { identifier: `gitpod-dr-drill-${ID}`, created: true, startedAt: at(1) },
  "check-database-restore": {
    identifier: `gitpod-dr-drill-${ID}`,
    status: "available",
    done: true,
    startedAt: at(1),
    finishedAt: at(35),
  },
  "prepare-database-access": {
    secretArn: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:gitpod-dr/drillrun/drill/x",
    username: "gitpod",
    host: "scratch.internal",
    port: 3306,
  },
  "check-database": {
    checks: [],
    rowCounts: { d_b_user: 3, d_b_workspace: 5, d_b_workspace_instance: 8 },
    problems: [],
    finishedAt: at(40),
  },
  "restore-application": {
    name: `gitpod-dr-drill-${ID}`,
    backupName: "gitpod-dr-2026-12-06-0200",
    namespaceMapping: {},
    created: true,
    startedAt: at(1),
  },
  "check-application": {
    done: true,
    phase: "Completed",
    warnings: 0,
    errors: 0,
    itemsRestored: 30,
    itemsBackedUp: 42,
    problems: [],
    finishedAt: at(12),
  },
  "check-images": { checked: 1, present: [], problems: [] },
  "check-object-storage": {
    buckets: [
      { bucket: "gitpod-workspace-backups", replica: "r", eligible: 9, sampled: 5, matched: 5, problems: [] },
    ],
  },
  teardown: {
    removed: [
      `DB instance gitpod-dr-drill-${ID}`,
      `secret gitpod-dr/drillrun/drill/${ID}`,
      `namespace gitpod-drill-${ID}`,
    ],
  },
};

interface Run {
  status: "SUCCEEDED" | "FAILED";
  error?: string;
  cause?: string;
  actions: string[];
  messages: Notification[];
  recorded: DrillResult[];
  metrics: number;
}

/** Runs the drill with `failures[action]` thrown by that action (as Lambda reports a function error). */
async function runDrill(failures: Record<string, Error> = {}): Promise<Run> {
  const actions: string[] = [];
  const messages: Notification[] = [];
  const recorded: DrillResult[] = [];
  let metrics = 0;
  const handler = async (event: Record<string, unknown>) => {
    const action = String(event.action);
    actions.push(action);
    try {
      const failure = failures[action];
      if (failure) throw failure;
      if (action === "finish") {
        return await finishDrill(finishEvent.parse(event), "drillrun", {
          now: () => new Date(at(50)),
          points: () => ({
            newest: async () => PLAN.point as never,
            previous: async () => undefined,
            recordResult: async (r) => void recorded.push(r),
          }),
          publish: async (n) => {
            messages.push(n);
            return "m-1";
          },
          cloudwatch: () =>
            ({
              send: async () => {
                metrics += 1;
              },
            }) as never,
        });
      }
      return ANSWERS[action];
    } catch (error) {
      const e = error as Error;
      const lambdaError = new Error(
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }),
      );
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };
  const tasks = [...allStates(definition as never)].filter(([, t]) => t === "Task" || t === "Parallel");
  const machine = new LocalStateMachine(definition, {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  const exec = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          tasks.filter(([, t]) => t === "Task").map(([n]) => [n, handler as never]),
        ),
        waitTimeOverrides: Object.fromEntries(
          [...allStates(definition as never)].filter(([, t]) => t === "Wait").map(([n]) => [n, 0]),
        ),
        retryIntervalOverrides: Object.fromEntries(tasks.map(([n]) => [n, 0])),
      },
      context: {
        Execution: {
          Id: `arn:aws:states:eu-central-1:123456789012:execution:gitpod-dr-drillrun-drill:${ID}`,
          Name: "abc123",
          Input: {},
          StartTime: START,
        },
      } as never,
    },
  );
  const events: { type: string; Error?: string; Cause?: unknown }[] = [];
  const collecting = (async () => {
    for await (const e of exec.eventLogs) events.push(e as never);
  })();
  let status: Run["status"] = "SUCCEEDED";
  try {
    await exec.result;
  } catch {
    status = "FAILED";
  }
  await Promise.race([collecting.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  const failed = events.find((e) => e.type === "ExecutionFailed");
  return {
    status,
    ...(failed ? { error: failed.Error ?? "", cause: String(failed.Cause ?? "") } : {}),
    actions,
    messages,
    recorded,
    metrics,
  };
}

const verification = (what: string) => new DrillVerificationFailedError(what, [what]);

describe("the drill machine, run locally", () => {
  it("happy path: removes leftovers, restores and checks every tier, tears down, one success message with the RTO", async () => {
    const run = await runDrill();
    expect(run.status).toBe("SUCCEEDED");
    expect(run.actions[0]).toBe("plan");
    expect(run.actions.slice(-2)).toEqual(["teardown", "finish"]);
    expect(new Set(run.actions)).toEqual(new Set(Object.keys(ANSWERS).concat("finish")));
    expect(run.messages).toHaveLength(1);
    const m = run.messages[0] as Notification;
    expect(m.subject).toBe(`gitpod-dr drillrun: restore drill ${ID} passed`);
    expect(m.message).toContain(
      "Leftovers of earlier drills removed first: DB instance gitpod-dr-drill-20261129-0400-old111",
    );
    expect(m.message).toContain("  database:    40.0 min");
    expect(m.message).toContain("  application: 12.0 min");
    expect(m.message).toContain("  total:       40.0 min");
    expect(m.message).toContain("Application:   Completed, 30 items restored of 42 backed up");
    expect(m.message).toContain(
      `Torn down:     DB instance gitpod-dr-drill-${ID}, secret gitpod-dr/drillrun/drill/${ID}, namespace gitpod-drill-${ID}`,
    );
    expect(run.recorded).toMatchObject([
      {
        drillId: ID,
        succeeded: true,
        rto: { database: 2400, application: 720, total: 2400 },
        rowCounts: { d_b_user: 3 },
      },
    ]);
    expect(run.metrics).toBe(1);
  }, 60_000);

  it.each([
    ["check-database", S.checkDatabase, "table gitpod.d_b_user has no rows"],
    [
      "check-application",
      S.checkApplication,
      "scratch namespace gitpod-drill-x has no Deployment after the restore",
    ],
    ["check-images", S.checkImages, "gitpod/server:2024.11.0 is not in the registry"],
    ["check-object-storage", S.checkObjects, "r/a is missing"],
  ])(
    "a failing verification (%s) tears down and reports the step and the cause",
    async (action, state, problem) => {
      const run = await runDrill({ [action]: verification(problem) });
      expect(run.status).toBe("FAILED");
      expect(run.error).toBe("DrillVerificationFailed");
      expect(run.actions.slice(-2)).toEqual(["teardown", "finish"]);
      const m = run.messages[0] as Notification;
      expect(run.messages).toHaveLength(1);
      expect(m.subject).toBe(`gitpod-dr drillrun: restore drill ${ID} FAILED at ${state}`);
      expect(m.message).toContain(`Failed step: ${state}`);
      expect(m.message).toContain(`Cause:       ${problem}`);
      expect(m.message).toContain(`Torn down:   DB instance gitpod-dr-drill-${ID}`);
      // Recorded as a failure (status shows the verdict); no age metric: it is not a success.
      expect(run.recorded).toMatchObject([
        {
          drillId: ID,
          succeeded: false,
          failure: { step: state, error: "DrillVerificationFailed", cause: problem },
        },
      ]);
      expect(run.metrics).toBe(0);
    },
    60_000,
  );

  it.each([
    "plan",
    "restore-database",
    "check-database-restore",
    "prepare-database-access",
    "check-database",
    "restore-application",
    "check-application",
    "check-images",
    "check-object-storage",
  ])(
    "a failure of %s reaches teardown and one failure message",
    async (action) => {
      const failure = new Error(`${action} broke`);
      failure.name = "AwsCallFailed";
      const run = await runDrill({ [action]: failure });
      expect(run.status).toBe("FAILED");
      expect(run.actions.slice(-2)).toEqual(["teardown", "finish"]);
      expect(run.messages).toHaveLength(1);
      expect((run.messages[0] as Notification).message).toContain(`Cause:       ${action} broke`);
    },
    60_000,
  );

  it("a teardown that fails is reported loudly and fails the drill, even when every check passed", async () => {
    const run = await runDrill({
      teardown: new DrillTeardownFailedError(
        "Teardown of drill x left 1 resource(s) behind: namespace gitpod-drill-x: forbidden",
        ["namespace gitpod-drill-x: forbidden"],
      ),
    });
    expect(run.status).toBe("FAILED");
    expect(run.error).toBe("DrillTeardownFailed");
    const m = run.messages[0] as Notification;
    expect(m.subject).toBe(`gitpod-dr drillrun: restore drill ${ID} FAILED at ${S.teardown}`);
    expect(m.message).toContain(
      "teardown failed (DrillTeardownFailed): Teardown of drill x left 1 resource(s) behind: namespace gitpod-drill-x: forbidden",
    );
    expect(run.recorded).toMatchObject([
      { drillId: ID, succeeded: false, failure: { step: S.teardown, error: "DrillTeardownFailed" } },
    ]);
  }, 60_000);
});
