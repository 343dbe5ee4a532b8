/**
 * DRILL MACHINE RUNNER — test code. Runs the drill state machine as `stacks/Drill.ts` synthesizes it
 * (the DefinitionString turned into plain ASL) in aws-local-stepfunctions, every Task bound to the REAL
 * middy handler of `packages/functions/src/drill.ts` / `drill-database.ts` in a `DrillWorld`, through a
 * wrapper that behaves like a Lambda invocation: event and result go through JSON, and a thrown error
 * reaches Step Functions with its name as `Error` and `{"errorType","errorMessage"}` as `Cause`.
 * Nothing moves on its own: before each status check the wrapper advances the world one step (the
 * scratch database becomes available at its second check; Velero ticks), Waits and Retry intervals are
 * 0 s, and every run is bounded by a task-call budget and a wall-clock timeout.
 * (The ASL and the Lambda-error wrapping follow `restore/harness.ts`, whose helpers are reused read-only.)
 */
import { Template } from "aws-cdk-lib/assertions";
import { StateMachine as LocalStateMachine, type StateMachineDefinition } from "aws-local-stepfunctions";
import { getStack } from "sst/constructs";
import exampleConfig from "../../../../config/example.ts";
import { Drill } from "../../../../stacks/Drill.ts";
import { DRILL_STATES as S } from "../../../core/src/drill/states.ts";
import { lambdaContextFor } from "../lambda.ts";
import { allStates, resolveIntrinsics } from "../restore/harness.ts";
import { ACCOUNT, synthApp } from "../synth.ts";
import { DR, type DrillWorld, STAGE } from "./world.ts";

/** Synthesizes the stage with its drill (the DR standby, where a target-dr drill is deployed) → ASL. */
export async function synthesizeDrill(): Promise<StateMachineDefinition> {
  await synthApp({ stage: STAGE, config: exampleConfig, region: DR, kind: "standby" });
  const resources = (
    Template.fromStack(getStack(Drill)).toJSON() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    }
  ).Resources;
  const machine = Object.values(resources).find((r) => r.Type === "AWS::StepFunctions::StateMachine");
  return JSON.parse(resolveIntrinsics(machine?.Properties.DefinitionString)) as StateMachineDefinition;
}

/** How long before the run the drill counts as started (its RTO is measured from then). */
export const STARTED_AGO_MS = 20 * 60_000;

export interface DrillCall {
  readonly state: string;
  readonly action: string;
  error?: { name: string; message: string };
}

export interface DrillRunOptions {
  /** The function of that state fails as a whole with this error (a crash, a timeout), instead of running. */
  readonly faults?: Record<string, Error>;
  /** The Check scratch database restore call at which the scratch database becomes available. Default 2. */
  readonly databaseAvailableAt?: number;
  readonly maxTaskCalls?: number;
  readonly timeoutMs?: number;
}

export interface DrillRun {
  readonly status: "SUCCEEDED" | "FAILED";
  readonly error?: string;
  readonly cause?: string;
  readonly calls: readonly DrillCall[];
  /** The drill id "Plan drill" chose (undefined when it failed). */
  readonly drillId?: string;
}

/** Starts one drill execution in the world and waits for its end (bounded). */
export async function runDrill(
  world: DrillWorld,
  definition: StateMachineDefinition,
  options: DrillRunOptions = {},
): Promise<DrillRun> {
  const startTime = new Date().toISOString();
  const name = `run${Math.random().toString(36).slice(2, 8)}`;
  const calls: DrillCall[] = [];
  let drillId: string | undefined;
  const budget = options.maxTaskCalls ?? 120;
  const availableAt = options.databaseAvailableAt ?? 2;
  let aborted: string | undefined;
  let exec: ReturnType<LocalStateMachine["run"]> | undefined;

  const advance = (state: string, event: Record<string, unknown>) => {
    const count = calls.filter((c) => c.state === state).length;
    if (state === S.checkDatabaseRestore && count >= availableAt) {
      const id = `gitpod-dr-drill-${(event.drill as { drillId: string }).drillId}`;
      const db = world.rds.database("instance", id);
      if (db && db.status === "creating") {
        db.endpoint = { address: "127.0.0.1", port: world.peers.mariadb.port };
        world.rds.settle("instance", id, "available");
      }
    }
    if (state === S.checkApplication) world.cluster.velero.tick();
    // The namespace controller finalizes what the previous teardown deleted (the world's cluster keeps
    // deleted namespaces Terminating until then).
    if (state === S.teardown) world.cluster.finalizeNamespaces();
  };

  const bind = (state: string) => async (raw: unknown) => {
    if (calls.length >= budget) {
      aborted = `more than ${budget} task invocations: a loop spins`;
      exec?.abort();
      throw new Error(aborted);
    }
    const event = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
    // aws-local-stepfunctions always gives `$$.Execution.StartTime` as the run's start: the drill is
    // dated STARTED_AGO_MS back, so that its measured RTO (the handlers use the real clock) is a figure.
    if (state === S.plan) event.executionStartedAt = new Date(Date.now() - STARTED_AGO_MS).toISOString();
    const call: DrillCall = { state, action: String(event.action) };
    calls.push(call);
    advance(state, event);
    try {
      const fault = options.faults?.[state];
      if (fault) throw fault;
      const fn = state === S.checkDatabase ? "database" : "drill";
      const result = await world.handlers[fn](
        event,
        lambdaContextFor(`gitpod-dr-${STAGE}-${fn}`, { remainingMs: 300_000, region: DR, account: ACCOUNT }),
      );
      const json = JSON.parse(JSON.stringify(result ?? null)) as { drillId?: string } | null;
      if (state === S.plan && json?.drillId) drillId = json.drillId;
      return json as never;
    } catch (error) {
      const e = error as Error;
      call.error = { name: e.name, message: e.message };
      const lambdaError = new Error(
        JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }),
      );
      lambdaError.name = e.name;
      throw lambdaError;
    }
  };

  const states = [...allStates(definition)];
  const machine = new LocalStateMachine(definition, {
    validationOptions: { checkPaths: true, checkArn: true },
  });
  exec = machine.run(
    {},
    {
      overrides: {
        taskResourceLocalHandlers: Object.fromEntries(
          states.filter(([, t]) => t === "Task").map(([n]) => [n, bind(n)]),
        ),
        waitTimeOverrides: Object.fromEntries(states.filter(([, t]) => t === "Wait").map(([n]) => [n, 0])),
        retryIntervalOverrides: Object.fromEntries(
          states.filter(([, t]) => t === "Task" || t === "Parallel").map(([n]) => [n, 0]),
        ),
      },
      context: {
        Execution: {
          Id: `arn:aws:states:${DR}:${ACCOUNT}:execution:gitpod-dr-${STAGE}-drill:${name}`,
          Name: name,
          Input: {},
          StartTime: startTime,
          RoleArn: `arn:aws:iam::${ACCOUNT}:role/gitpod-dr-${STAGE}-drill`,
        },
      },
    },
  );
  const events: { type: string; Error?: string; Cause?: unknown }[] = [];
  const collecting = (async () => {
    for await (const e of exec.eventLogs) events.push(e as never);
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  let status: DrillRun["status"] = "SUCCEEDED";
  try {
    if ((await Promise.race([exec.result, timedOut])) === "timeout") {
      aborted = `no end after ${timeoutMs} ms`;
      exec.abort();
    }
  } catch {
    status = "FAILED";
  } finally {
    clearTimeout(timer);
  }
  await Promise.race([collecting.catch(() => undefined), new Promise((r) => setTimeout(r, 200))]);
  if (aborted) {
    const trail = calls.slice(-15).map((c) => `${c.state}${c.error ? ` (${c.error.name})` : ""}`);
    throw new Error(`drill execution aborted (${aborted}); last calls: ${trail.join(" → ")}`);
  }
  const failed = events.find((e) => e.type === "ExecutionFailed");
  return {
    status,
    ...(failed ? { error: failed.Error ?? "", cause: String(failed.Cause ?? "") } : {}),
    calls,
    ...(drillId ? { drillId } : {}),
  };
}
