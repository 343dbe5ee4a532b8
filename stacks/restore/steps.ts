import { Duration } from "aws-cdk-lib";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import type { Construct } from "constructs";
import type { RestoreFunction } from "./functions.ts";

/** A string, and an object, read from the state (or the context, `$$.`) at run time. */
export const $ = (path: string) => sfn.JsonPath.stringAt(path);
export const obj = (path: string) => sfn.JsonPath.objectAt(path);

/** Errors of the Lambda service itself (not of our code): retried with backoff. */
const LAMBDA_ERRORS = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];

export interface TaskProps {
  /** The state's name (also its construct id). */
  readonly name: string;
  readonly fn: RestoreFunction;
  readonly payload: Record<string, unknown>;
  /** Where the result goes; without it the result replaces the state (the default "$"). */
  readonly resultPath?: string;
}

/**
 * A task that invokes a restore function with `payload` and keeps its result. The task's timeout is the
 * function's plus 30 s. Retries: the Lambda service's errors, and our `Transient` errors (a retryable
 * AWS or cluster failure, as the handler classifies it).
 */
export function lambdaTask(scope: Construct, props: TaskProps): tasks.LambdaInvoke {
  const t = new tasks.LambdaInvoke(scope, props.name, {
    stateName: props.name,
    lambdaFunction: props.fn.fn,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject(props.payload),
    ...(props.resultPath ? { resultPath: props.resultPath } : {}),
    taskTimeout: sfn.Timeout.duration(Duration.seconds(props.fn.timeoutSeconds + 30)),
    retryOnServiceExceptions: false,
  });
  t.addRetry({
    errors: LAMBDA_ERRORS,
    interval: Duration.seconds(2),
    maxAttempts: 6,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  t.addRetry({
    errors: ["Transient"],
    interval: Duration.seconds(10),
    maxAttempts: 3,
    backoffRate: 2,
    jitterStrategy: sfn.JitterType.FULL,
  });
  return t;
}

export interface PollingLoopProps {
  /** Starts the work (a restore, a redeploy); its result is what the check reads. */
  readonly start: sfn.INextable & sfn.IChainable;
  /** The Wait state's name and the time between checks. */
  readonly wait: { readonly name: string; readonly seconds: number };
  /**
   * Reads the work's status into the state. The work's failure and its deadline are the check's to
   * report: it throws (a named error its Catch routes to the failure path) when the work failed or has
   * not finished within the step's configured minutes (core `checkDeadline`), so a loop never outlives
   * its deadline; the machine's own timeout bounds the whole restore.
   */
  readonly check: sfn.INextable & sfn.IChainable;
  /**
   * The Choice state's name, the condition on the check's result that ends the loop, and where the
   * machine goes once it holds.
   */
  readonly done: { readonly name: string; readonly when: sfn.Condition; readonly next: sfn.IChainable };
  /** Check once before the first wait: the work may be done at once (a configuration already applied). */
  readonly checkFirst?: boolean;
}

/**
 * A polling loop, the way Step Functions waits (no sleeping Lambda): start → wait → check → done?
 * (next : wait again); with `checkFirst`, start → check → done? (next : wait → check).
 */
export function pollingLoop(scope: Construct, props: PollingLoopProps): sfn.Chain {
  const wait = new sfn.Wait(scope, props.wait.name, {
    stateName: props.wait.name,
    time: sfn.WaitTime.duration(Duration.seconds(props.wait.seconds)),
  });
  const done = (otherwise: sfn.IChainable) =>
    new sfn.Choice(scope, props.done.name, { stateName: props.done.name })
      .when(props.done.when, props.done.next)
      .otherwise(otherwise);
  if (props.checkFirst) {
    return props.start.next(props.check).next(done(wait.next(props.check)));
  }
  return props.start.next(wait).next(props.check).next(done(wait));
}
