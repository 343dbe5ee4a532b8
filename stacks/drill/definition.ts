import type { DrillConfig } from "@gitpod-dr/core/config/drill";
import { DRILL_STATES as S } from "@gitpod-dr/core/drill/states";
import { Duration } from "aws-cdk-lib";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Stack } from "sst/constructs";
import type { RestoreFunction } from "../restore/functions.ts";
import { $, lambdaTask, obj, pollingLoop, type TaskProps } from "../restore/steps.ts";

export interface DrillFunctions {
  /** Plan, restores, application/image/replica checks, teardown, finish. */
  readonly drill: RestoreFunction;
  /** The database checks, in the drill's VPC. */
  readonly database: RestoreFunction;
}

/**
 * The drill's graph: plan (leftovers of earlier drills removed first) → the tiers restored into scratch
 * and verified, in parallel → every tier verified? → keep for inspection (optional) → tear down → finish
 * (one message) → passed / failed. Every step's failure is caught and leads to teardown (a branch's once
 * every branch has ended); teardown's own failure leads to Finish, which reports it loudly and fails
 * the drill.
 */
export function drillDefinition(
  stack: Stack,
  drill: DrillConfig,
  f: DrillFunctions,
  pollSeconds: { database: number; application: number },
): sfn.IChainable {
  const task = (p: TaskProps) => lambdaTask(stack, p);
  const d = { drill: obj("$.drill") };

  const finish = task({
    name: S.finish,
    fn: f.drill,
    payload: { action: "finish", state: obj("$"), executionArn: $("$$.Execution.Id") },
    resultPath: "$.finished",
  });
  finish.addCatch(
    new sfn.Fail(stack, "Drill failed (not notified)", {
      stateName: "Drill failed (not notified)",
      error: "NotificationFailed",
      cause: "The drill's message could not be published; see the execution's events",
    }),
    { resultPath: "$.finishError" },
  );
  finish.next(
    new sfn.Choice(stack, "Drill succeeded?", { stateName: "Drill succeeded?" })
      .when(
        sfn.Condition.booleanEquals("$.finished.succeeded", true),
        new sfn.Succeed(stack, S.passed, { stateName: S.passed }),
      )
      .otherwise(
        new sfn.Fail(stack, S.failed, {
          stateName: S.failed,
          errorPath: "$.finished.error",
          causePath: "$.finished.cause",
        }),
      ),
  );
  const teardown = task({
    name: S.teardown,
    fn: f.drill,
    payload: { action: "teardown", state: obj("$") },
    resultPath: "$.teardown",
  });
  teardown.addCatch(finish, { errors: ["States.ALL"], resultPath: "$.teardownFailed" });
  // Deleted namespaces stay Terminating while the namespace controller removes their objects: wait, and
  // tear down again (it adds to what was removed, and fails on a namespace stuck Terminating).
  teardown.next(
    new sfn.Choice(stack, "Scratch namespaces gone?", { stateName: "Scratch namespaces gone?" })
      .when(
        sfn.Condition.isPresent("$.teardown.terminating"),
        new sfn.Wait(stack, S.waitTeardown, {
          stateName: S.waitTeardown,
          time: sfn.WaitTime.duration(Duration.seconds(pollSeconds.application)),
        }).next(teardown),
      )
      .otherwise(finish),
  );
  const toTeardown = <T extends sfn.TaskStateBase | sfn.Parallel>(state: T, key: string) =>
    state.addCatch(teardown, { errors: ["States.ALL"], resultPath: `$.failed.${key}` });

  /**
   * In a branch: a failure ends the branch with `{ failed: { Error, Cause } }`, its state's name in the
   * cause (`[step <name>] …`). The branch ends instead of failing the Parallel, so that no other branch
   * is stopped with a task in flight (Step Functions does not cancel a running Lambda invocation: a
   * Velero Restore created after teardown listed would be left behind); "Every tier verified?" then
   * sends a failed drill to teardown once every branch has ended.
   */
  const branchStep = (p: TaskProps) => {
    const t = task(p);
    t.addCatch(
      new sfn.Pass(stack, `${p.name} failed`, {
        stateName: `${p.name} failed`,
        parameters: {
          failed: {
            "Error.$": "$.Error",
            "Cause.$": `States.Format('[step ${p.name}] {}', $.Cause)`,
          },
        },
      }),
      { errors: ["States.ALL"] },
    );
    return t;
  };
  const present = (path: string, name: string, then: sfn.IChainable) =>
    new sfn.Choice(stack, name, { stateName: name }).when(sfn.Condition.isPresent(path), then).otherwise(
      new sfn.Pass(stack, `${name} (no)`, {
        stateName: `${name} (no)`,
        result: sfn.Result.fromObject({ skipped: true }),
      }),
    );

  const checkDatabase = branchStep({
    name: S.checkDatabase,
    fn: f.database,
    payload: { action: "check-database", ...d, access: obj("$.access") },
    resultPath: "$.dbChecks",
  });
  // The new password takes a minute or two to apply: DrillNotReady is retried here, longer than Transient.
  checkDatabase.addRetry({
    errors: ["DrillNotReady"],
    interval: Duration.seconds(30),
    maxAttempts: 20,
    backoffRate: 1,
  });
  const dbBranch = pollingLoop(stack, {
    start: branchStep({
      name: S.restoreDatabase,
      fn: f.drill,
      payload: { action: "restore-database", ...d },
      resultPath: "$.db",
    }),
    wait: { name: S.waitDatabase, seconds: pollSeconds.database },
    check: branchStep({
      name: S.checkDatabaseRestore,
      fn: f.drill,
      payload: { action: "check-database-restore", ...d, started: obj("$.db") },
      resultPath: "$.db",
    }),
    done: {
      name: "Scratch database available?",
      when: sfn.Condition.booleanEquals("$.db.done", true),
      next: branchStep({
        name: S.prepareAccess,
        fn: f.drill,
        payload: { action: "prepare-database-access", ...d },
        resultPath: "$.access",
      })
        .next(checkDatabase)
        .next(
          new sfn.Pass(stack, "Database verified", {
            stateName: "Database verified",
            outputPath: "$.dbChecks",
          }),
        ),
    },
  });
  const appBranch = present(
    "$.drill.point.application",
    "Restore the application?",
    pollingLoop(stack, {
      start: branchStep({
        name: S.restoreApplication,
        fn: f.drill,
        payload: { action: "restore-application", ...d },
        resultPath: "$.appStarted",
      }),
      wait: { name: S.waitApplication, seconds: pollSeconds.application },
      check: branchStep({
        name: S.checkApplication,
        fn: f.drill,
        payload: { action: "check-application", ...d, started: obj("$.appStarted") },
        resultPath: "$.appVerify",
      }),
      done: {
        name: "Application verified?",
        when: sfn.Condition.booleanEquals("$.appVerify.done", true),
        next: new sfn.Pass(stack, "Application verified", {
          stateName: "Application verified",
          outputPath: "$.appVerify",
        }),
      },
    }),
  );
  /** A tier checked by one step when the recovery point has it (images, object storage). */
  const checkBranch = (path: string, question: string, name: string, action: string) =>
    present(path, question, branchStep({ name, fn: f.drill, payload: { action, ...d } }));
  const imagesBranch = checkBranch(
    "$.drill.point.images",
    "Check the images?",
    S.checkImages,
    "check-images",
  );
  const objectsBranch = checkBranch(
    "$.drill.point.objectStorage",
    "Check object storage?",
    S.checkObjects,
    "check-object-storage",
  );

  const restore = new sfn.Parallel(stack, S.restore, {
    stateName: S.restore,
    resultPath: "$.tiers",
    resultSelector: {
      dbChecks: obj("$[0]"),
      appVerify: obj("$[1]"),
      images: obj("$[2]"),
      objects: obj("$[3]"),
    },
  })
    .branch(dbBranch)
    .branch(appBranch)
    .branch(imagesBranch)
    .branch(objectsBranch);
  toTeardown(restore, "restore");
  const lift = new sfn.Pass(stack, "Collect results", {
    stateName: "Collect results",
    parameters: {
      "drill.$": "$.drill",
      "dbChecks.$": "$.tiers.dbChecks",
      "appVerify.$": "$.tiers.appVerify",
      "images.$": "$.tiers.images",
      "objects.$": "$.tiers.objects",
    },
  });
  const plan = toTeardown(
    task({
      name: S.plan,
      fn: f.drill,
      payload: {
        action: "plan",
        executionName: $("$$.Execution.Name"),
        executionStartedAt: $("$$.Execution.StartTime"),
      },
      resultPath: "$.drill",
    }),
    "plan",
  );
  const afterChecks: sfn.IChainable =
    drill.keepMinutes > 0
      ? new sfn.Wait(stack, S.keep, {
          stateName: S.keep,
          time: sfn.WaitTime.duration(Duration.minutes(drill.keepMinutes)),
        }).next(teardown)
      : teardown;
  // A failed tier: its failure where Finish reads it ($.failed.<tier>), then teardown.
  const verdict = new sfn.Choice(stack, "Every tier verified?", { stateName: "Every tier verified?" });
  for (const [tier, path] of [
    ["database", "$.dbChecks"],
    ["application", "$.appVerify"],
    ["images", "$.images"],
    ["objects", "$.objects"],
  ] as const) {
    verdict.when(
      sfn.Condition.isPresent(`${path}.failed`),
      new sfn.Pass(stack, `The ${tier} failed`, {
        stateName: `The ${tier} failed`,
        parameters: { [`${tier}.$`]: `${path}.failed` },
        resultPath: "$.failed",
      }).next(teardown),
    );
  }
  return plan.next(restore).next(lift).next(verdict.otherwise(afterChecks));
}
