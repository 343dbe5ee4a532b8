import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { STATES, TIER_FAILED } from "@gitpod-dr/core/restore/states";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import type { Stack } from "sst/constructs";
import type { RestoreFunction, RestoreFunctions } from "./functions.ts";
import { $, lambdaTask, obj, pollingLoop, type TaskProps } from "./steps.ts";

interface StepProps extends Omit<TaskProps, "name"> {
  readonly key: keyof typeof STATES;
  /** Where a failure goes: a tier's branch failure, or (the default) Notify failure. */
  readonly onFailure?: sfn.IChainable;
}

/** A tier whose restore is started and then polled until done (the database, the application). */
interface PolledTierProps {
  /** Names its branch-failure states ("<tier> branch failed", "<tier> not restored"). */
  readonly tier: string;
  /** The Choice state that runs the tier when `planned` is in the state, and its "not asked for" Pass. */
  readonly choice: string;
  readonly planned: string;
  readonly notAsked: string;
  readonly fn: RestoreFunction;
  /** What the start and the check get besides their action (and the check, the start's result). */
  readonly payload: Record<string, unknown>;
  /** Where the start's and the check's results go; the branch outputs it. */
  readonly result: string;
  readonly start: keyof typeof STATES;
  readonly wait: { readonly name: string; readonly seconds: number };
  readonly check: keyof typeof STATES;
  /** The Choice state on the check's `done`, and the Pass that ends the branch. */
  readonly done: string;
  readonly restored: string;
}

export interface RestoreDefinitionProps {
  readonly restore: NonNullable<StageConfig["restore"]>;
  readonly functions: RestoreFunctions;
}

/**
 * The restore state machine's graph: validate and plan; the tiers (database, images, application) in
 * parallel; then point the application at the restored database, redeploy, verify, and notify. Every
 * failure is caught and recorded under `$.failed.<state key>`, and Notify failure reports it.
 */
export function restoreDefinition(stack: Stack, props: RestoreDefinitionProps): sfn.IChainable {
  const { restore, functions: f } = props;
  const task = (p: TaskProps) => lambdaTask(stack, p);
  const base = { request: obj("$.request"), plan: obj("$.plan") };

  // Failures: a caught error is recorded under $.failed.<state key>; Notify failure reads it.
  const notifyFailure = task({
    name: STATES.notifyFailure,
    fn: f.notify,
    payload: {
      kind: "failure",
      state: obj("$"),
      executionName: $("$$.Execution.Name"),
      executionArn: $("$$.Execution.Id"),
      executionStartedAt: $("$$.Execution.StartTime"),
    },
    resultPath: "$.notified",
  });
  const failed = new sfn.Fail(stack, STATES.failed, {
    stateName: STATES.failed,
    errorPath: "$.notified.error",
    causePath: "$.notified.cause",
  });
  notifyFailure.addCatch(
    new sfn.Fail(stack, "Restore failed (not notified)", {
      stateName: "Restore failed (not notified)",
      error: "NotificationFailed",
      cause: "The restore failed and its failure message could not be published; see the execution's events",
    }),
    { resultPath: "$.notifyError" },
  );
  notifyFailure.next(failed);
  const catchTo = <T extends sfn.TaskStateBase | sfn.Parallel | sfn.Map>(
    state: T,
    key: keyof typeof STATES,
    next: sfn.IChainable = notifyFailure,
  ) => {
    state.addCatch(next, { errors: ["States.ALL"], resultPath: `$.failed.${key}` });
    return state;
  };
  /** A task named by its state key, whose failure is recorded under that key and goes to `onFailure`. */
  const step = ({ key, onFailure, ...p }: StepProps) =>
    catchTo(task({ name: STATES[key], ...p }), key, onFailure);
  const branchFailure = (id: string) =>
    new sfn.Pass(stack, `${id} branch failed`, {
      stateName: `${id} branch failed`,
      parameters: { "cause.$": "States.JsonToString($.failed)" },
    }).next(
      new sfn.Fail(stack, `${id} not restored`, {
        stateName: `${id} not restored`,
        error: TIER_FAILED,
        causePath: "$.cause",
      }),
    );
  const skipped = (name: string) =>
    new sfn.Pass(stack, name, { stateName: name, result: sfn.Result.fromObject({ skipped: true }) });
  /** A tier's branch: run when the plan has the tier, else a "not asked for" result. */
  const tier = (t: { choice: string; planned: string; branch: sfn.IChainable; notAsked: string }) =>
    new sfn.Choice(stack, t.choice, { stateName: t.choice })
      .when(sfn.Condition.isPresent(t.planned), t.branch)
      .otherwise(skipped(t.notAsked));

  // 1. Validate input, Build plan.
  // The result replaces the state (no ResultPath: the default "$").
  const validate = task({
    name: STATES.validate,
    fn: f.plan,
    payload: {
      action: "validate",
      input: obj("$$.Execution.Input"),
      executionName: $("$$.Execution.Name"),
      executionStartedAt: $("$$.Execution.StartTime"),
    },
  });
  // The raw input may be anything (a string, a list): the caught error replaces it rather than being
  // merged into it, and "Input rejected" records it as Validate's failure.
  validate.addCatch(
    new sfn.Pass(stack, "Input rejected", {
      stateName: "Input rejected",
      parameters: { failed: { "validate.$": "$" } },
    }).next(notifyFailure),
    { errors: ["States.ALL"] },
  );
  const buildPlan = step({
    key: "plan",
    fn: f.plan,
    payload: { action: "plan", request: obj("$.request") },
    resultPath: "$.plan",
  });
  const notifyPlan = step({
    key: "notifyPlan",
    fn: f.notify,
    payload: { kind: "plan", ...base },
    resultPath: "$.notified",
  });

  // 2. The tiers in parallel.
  /** A tier restored by a start and a polling loop; its branch's result is the check's last result. */
  const polledTier = (t: PolledTierProps) => {
    const onFailure = branchFailure(t.tier);
    return tier({
      choice: t.choice,
      planned: t.planned,
      branch: pollingLoop(stack, {
        start: step({
          key: t.start,
          fn: t.fn,
          payload: { action: "start", ...t.payload },
          resultPath: t.result,
          onFailure,
        }),
        wait: t.wait,
        check: step({
          key: t.check,
          fn: t.fn,
          payload: { action: "check", ...t.payload, started: obj(t.result) },
          resultPath: t.result,
          onFailure,
        }),
        done: {
          name: t.done,
          when: sfn.Condition.booleanEquals(`${t.result}.done`, true),
          next: new sfn.Pass(stack, t.restored, { stateName: t.restored, outputPath: t.result }),
        },
      }),
      notAsked: t.notAsked,
    });
  };

  const dbBranch = polledTier({
    tier: "Database",
    choice: "Restore the database?",
    planned: "$.plan.database",
    fn: f.database,
    payload: {
      restoreId: $("$.request.restoreId"),
      region: $("$.plan.region"),
      database: obj("$.plan.database"),
    },
    result: "$.db",
    start: "restoreDatabase",
    wait: { name: STATES.waitDatabase, seconds: restore.database.pollSeconds },
    check: "checkDatabase",
    done: "Database available?",
    restored: "Database restored",
    notAsked: "Database not asked for",
  });

  const ensureImages = new sfn.Map(stack, STATES.ensureImages, {
    stateName: STATES.ensureImages,
    itemsPath: "$.plan.images.items",
    itemSelector: { item: obj("$$.Map.Item.Value") },
    maxConcurrency: restore.images?.concurrency ?? 4,
  });
  ensureImages.itemProcessor(
    task({ name: STATES.ensureImage, fn: f.image, payload: { item: obj("$.item") } }),
  );
  catchTo(ensureImages, "ensureImages", branchFailure("Images"));
  const imagesBranch = tier({
    choice: "Restore images?",
    planned: "$.plan.images",
    branch: ensureImages,
    notAsked: "Images not asked for",
  });

  const appBranch = polledTier({
    tier: "Application",
    choice: "Restore the application?",
    planned: "$.plan.application",
    fn: f.application,
    payload: base,
    result: "$.app",
    start: "restoreApplication",
    wait: { name: STATES.waitApplication, seconds: restore.application.pollSeconds },
    check: "checkApplication",
    done: "Application restored?",
    restored: "Application restored",
    notAsked: "Application not asked for",
  });

  const parallel = new sfn.Parallel(stack, STATES.tiers, {
    stateName: STATES.tiers,
    resultPath: "$.tiers",
    resultSelector: { database: obj("$[0]"), images: obj("$[1]"), application: obj("$[2]") },
  })
    .branch(dbBranch)
    .branch(imagesBranch)
    .branch(appBranch);
  catchTo(parallel, "tiers");

  // 3.-5. Point, redeploy, verify.
  const succeed = new sfn.Succeed(stack, STATES.succeeded, { stateName: STATES.succeeded });
  const notifySuccess = step({
    key: "notifySuccess",
    fn: f.notify,
    payload: {
      kind: "success",
      state: {
        ...base,
        tiers: obj("$.tiers"),
        point: obj("$.point"),
        pointed: obj("$.pointed"),
        redeploy: obj("$.redeploy"),
        rollout: obj("$.rollout"),
        verify: obj("$.verify"),
      },
    },
    resultPath: "$.notified",
  });
  const notifySuccessTiersOnly = catchTo(
    task({
      name: "Notify success (tiers only)",
      fn: f.notify,
      payload: { kind: "success", state: { ...base, tiers: obj("$.tiers") } },
      resultPath: "$.notified",
    }),
    "notifySuccess",
  );
  const rollout = pollingLoop(stack, {
    start: step({
      key: "redeploy",
      fn: f.application,
      payload: { action: "redeploy", ...base },
      resultPath: "$.redeploy",
    }),
    wait: { name: STATES.waitRollout, seconds: restore.application.pollSeconds },
    check: step({
      key: "checkRollout",
      fn: f.application,
      payload: { action: "check-rollout", ...base, redeploy: obj("$.redeploy") },
      resultPath: "$.rollout",
    }),
    done: {
      name: "Rollout done?",
      when: sfn.Condition.booleanEquals("$.rollout.done", true),
      next: step({
        key: "verify",
        fn: f.application,
        payload: { action: "verify", ...base },
        resultPath: "$.verify",
      })
        .next(notifySuccess)
        .next(succeed),
    },
  });
  const pointAndRollOut = pollingLoop(stack, {
    start: step({
      key: "point",
      fn: f.application,
      payload: { action: "point", ...base, database: obj("$.tiers.database") },
      resultPath: "$.point",
    }),
    wait: { name: STATES.waitConfig, seconds: 15 },
    check: step({
      key: "checkConfig",
      fn: f.application,
      payload: { action: "check-config", ...base, point: obj("$.point") },
      resultPath: "$.pointed",
    }),
    done: {
      name: "Configuration applied?",
      when: sfn.Condition.booleanEquals("$.pointed.done", true),
      next: rollout,
    },
    checkFirst: true,
  });

  return validate
    .next(buildPlan)
    .next(
      new sfn.Choice(stack, STATES.dryRun, { stateName: STATES.dryRun })
        .when(
          sfn.Condition.booleanEquals("$.request.dryRun", true),
          notifyPlan.next(new sfn.Succeed(stack, STATES.dryRunDone, { stateName: STATES.dryRunDone })),
        )
        .otherwise(
          parallel.next(
            new sfn.Choice(stack, "Application to update?", { stateName: "Application to update?" })
              .when(
                sfn.Condition.or(
                  sfn.Condition.isPresent("$.plan.database"),
                  sfn.Condition.isPresent("$.plan.application"),
                ),
                pointAndRollOut,
              )
              .otherwise(notifySuccessTiersOnly.next(succeed)),
          ),
        ),
    );
}
