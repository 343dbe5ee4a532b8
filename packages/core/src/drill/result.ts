import { type CloudWatchClient, PutMetricDataCommand } from "@aws-sdk/client-cloudwatch";
import * as z from "zod";
import { wrapAwsError } from "../aws/errors.ts";
import { type Notification, snsMessage, snsSubject } from "../notify/failure.ts";
import { METRIC_NAMESPACE } from "../s3/metrics.ts";
import { DrillTeardownFailedError } from "./errors.ts";
import type { DrillPlan } from "./plan.ts";
import type { DrillRecoveryPoints, DrillResult, DrillRto } from "./types.ts";

/**
 * "Finish drill": the drill's one SNS message — success with the figures (the recovery point, the
 * measured RTO per tier and in total, what was checked and torn down), or failure with the step, the
 * cause and what was torn down — its result recorded with the recovery point, and the
 * `LastSuccessfulDrillAge` metric (also published daily by the "age" action, so the alarm has data
 * between drills and treats silence as breaching).
 */

export const DRILL_AGE_METRIC = "LastSuccessfulDrillAge";

/** What the state machine has gathered when it reaches "Finish drill" (each part absent when not reached). */
export interface DrillState {
  readonly drill?: DrillPlan;
  readonly db?: { readonly finishedAt?: string };
  readonly dbChecks?: {
    readonly rowCounts?: Record<string, number>;
    readonly checks?: readonly unknown[];
    readonly finishedAt?: string;
  };
  readonly appVerify?: {
    readonly finishedAt?: string;
    readonly itemsRestored?: number;
    readonly itemsBackedUp?: number;
    readonly phase?: string;
  };
  readonly images?: { readonly checked?: number };
  readonly objects?: { readonly buckets?: readonly { bucket: string; sampled: number; matched: number }[] };
  readonly teardown?: { readonly removed?: readonly string[] };
  /** The caught failures by step key: `{ Error, Cause }` as Step Functions records them. */
  readonly failed?: Record<string, { readonly Error?: string; readonly Cause?: string }>;
  /** Teardown's own failure (DrillTeardownFailed names what is left). */
  readonly teardownFailed?: { readonly Error?: string; readonly Cause?: string };
}

/** A branch's Fail state writes its cause as `[step <state name>] <cause>` (stacks/drill/definition.ts). */
const STEP_MARK = /^\[step ([^\]]+)\] ([\s\S]*)$/;

export const finishEvent = z.object({
  action: z.literal("finish"),
  state: z.custom<DrillState>((v) => typeof v === "object" && v !== null),
  executionArn: z.string().min(1),
});

export interface FinishDeps {
  readonly now: () => Date;
  readonly points: () => DrillRecoveryPoints;
  readonly publish: (n: Notification) => Promise<string | undefined>;
  readonly cloudwatch: () => Pick<CloudWatchClient, "send">;
}

const seconds = (from: string, to?: string) =>
  to ? Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000)) : undefined;
const minutes = (s: number | undefined) => (s === undefined ? "not measured" : `${(s / 60).toFixed(1)} min`);

/** The measured RTO: from the drill's start until each tier was restored and verified. */
export function measuredRto(state: DrillState, now: Date): DrillRto | undefined {
  const start = state.drill?.startedAt;
  if (!start) return undefined;
  const database = seconds(start, state.dbChecks?.finishedAt);
  const application = seconds(start, state.appVerify?.finishedAt);
  const total = Math.max(database ?? 0, application ?? 0) || (seconds(start, now.toISOString()) ?? 0);
  return {
    ...(database !== undefined ? { database } : {}),
    ...(application !== undefined ? { application } : {}),
    total,
  };
}

/** The caught failure: its step key, error name and cause (the Cause of a task failure is JSON). */
export function failureOf(state: DrillState): DrillResult["failure"] | undefined {
  const text = (cause: string | undefined) => {
    try {
      const parsed = JSON.parse(cause ?? "") as { errorMessage?: string };
      if (parsed.errorMessage) return parsed.errorMessage;
    } catch {
      // not JSON: a States.* error's cause is text
    }
    return cause ?? "";
  };
  const [key, caught] = Object.entries(state.failed ?? {})[0] ?? [];
  const marked = STEP_MARK.exec(caught?.Cause ?? "");
  const first = caught
    ? {
        step: marked?.[1] ?? key ?? "unknown",
        error: caught.Error ?? "Unknown",
        cause: text(marked ? marked[2] : caught.Cause),
      }
    : undefined;
  const down = state.teardownFailed;
  if (!down) return first;
  const teardown = `teardown failed (${down.Error ?? "Unknown"}): ${text(down.Cause)}`;
  return first
    ? { ...first, cause: `${first.cause}; ${teardown}` }
    : { step: "Tear down", error: down.Error ?? "DrillTeardownFailed", cause: teardown };
}

/** The one message of a drill. */
export function drillMessage(
  stage: string,
  state: DrillState,
  result: DrillResult,
  executionArn: string,
): Notification {
  const d = state.drill;
  const removed = state.teardown?.removed ?? [];
  const torn = removed.length > 0 ? removed.join(", ") : "nothing";
  const lines = [
    `Drill:          ${result.drillId}`,
    `Recovery point: ${result.recoveryPointId} (recovery time ${result.recoveryTime})`,
    ...(d && d.leftoversRemoved.length > 0
      ? [`Leftovers of earlier drills removed first: ${d.leftoversRemoved.join(", ")}`]
      : []),
  ];
  if (result.succeeded) {
    const rto = result.rto;
    const objects = state.objects?.buckets ?? [];
    lines.push(
      "",
      "Measured RTO (from the drill's start until restored and verified):",
      `  database:    ${minutes(rto?.database)}`,
      `  application: ${minutes(rto?.application)}`,
      `  total:       ${minutes(rto?.total)}`,
      "",
      `Database rows: ${
        Object.entries(result.rowCounts ?? {})
          .map(([t, n]) => `${t} ${n}`)
          .join(", ") || "not checked"
      }`,
      `Application:   ${state.appVerify ? `${state.appVerify.phase}, ${state.appVerify.itemsRestored ?? "?"} items restored of ${state.appVerify.itemsBackedUp ?? "?"} backed up` : "not checked"}`,
      `Images:        ${state.images?.checked ?? 0} present in the target registry`,
      `Objects:       ${objects.map((b) => `${b.bucket} ${b.matched}/${b.sampled} match`).join(", ") || "not checked"}`,
      `Torn down:     ${torn}`,
    );
  } else {
    const f = result.failure;
    lines.push(
      "",
      `Failed step: ${f?.step ?? "unknown"}`,
      `Error:       ${f?.error ?? "unknown"}`,
      `Cause:       ${f?.cause ?? "unknown"}`,
      `Torn down:   ${torn}`,
    );
  }
  lines.push("", `Execution: ${executionArn}`);
  const verdict = result.succeeded ? "passed" : `FAILED at ${result.failure?.step ?? "an unknown step"}`;
  return {
    subject: snsSubject(`gitpod-dr ${stage}: restore drill ${result.drillId} ${verdict}`),
    message: snsMessage(lines.join("\n")),
  };
}

/** Publishes `LastSuccessfulDrillAge` (seconds). @throws AwsCallError */
export async function putDrillAge(
  cloudwatch: Pick<CloudWatchClient, "send">,
  stage: string,
  ageSeconds: number,
  now: Date,
): Promise<void> {
  try {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: METRIC_NAMESPACE,
        MetricData: [
          {
            MetricName: DRILL_AGE_METRIC,
            Dimensions: [{ Name: "Stage", Value: stage }],
            Value: ageSeconds,
            Unit: "Seconds",
            Timestamp: now,
          },
        ],
      }),
    );
  } catch (error) {
    throw wrapAwsError(`Unable to publish ${DRILL_AGE_METRIC}`, error);
  }
}

/**
 * "Finish drill". Returns the message's outcome; a failed drill's Fail state reads `error`/`cause`.
 * @throws NotificationError, AwsCallError
 */
export async function finishDrill(
  e: z.infer<typeof finishEvent>,
  stage: string,
  deps: FinishDeps,
): Promise<{ succeeded: boolean; messageId?: string; error?: string; cause?: string }> {
  const now = deps.now();
  const failure = failureOf(e.state);
  const d = e.state.drill;
  const rto = measuredRto(e.state, now);
  const result: DrillResult = {
    drillId: d?.drillId ?? "unknown",
    recoveryPointId: d?.point.id ?? "unknown",
    recoveryTime: d?.point.recoveryTime ?? "unknown",
    startedAt: d?.startedAt ?? now.toISOString(),
    finishedAt: now.toISOString(),
    succeeded: !failure,
    ...(rto ? { rto } : {}),
    ...(e.state.dbChecks?.rowCounts ? { rowCounts: e.state.dbChecks.rowCounts } : {}),
    ...(failure ? { failure } : {}),
  };
  // Recorded either way (`gitpod-dr status` shows the last drill's verdict; only a success is a
  // baseline), before the message: recording is idempotent, so a retried Finish sends one message. A
  // drill whose plan failed has no id or recovery point to record: its message is all there is.
  if (d) await deps.points().recordResult(result);
  const messageId = await deps.publish(drillMessage(stage, e.state, result, e.executionArn));
  if (result.succeeded) {
    await putDrillAge(deps.cloudwatch(), stage, 0, now);
    return { succeeded: true, ...(messageId ? { messageId } : {}) };
  }
  return {
    succeeded: false,
    ...(messageId ? { messageId } : {}),
    error: failure?.error ?? "DrillFailed",
    cause: `[notified] ${failure?.step}: ${failure?.cause}`.slice(0, 32_000),
  };
}

/** "age" (daily): the age of the last successful drill, or nothing when none ever succeeded (the alarm's missing data). */
export async function publishDrillAge(stage: string, deps: FinishDeps): Promise<{ ageSeconds?: number }> {
  const last = await deps.points().previous();
  if (!last?.succeeded) return {};
  const now = deps.now();
  const age = seconds(last.finishedAt, now.toISOString()) ?? 0;
  await putDrillAge(deps.cloudwatch(), stage, age, now);
  return { ageSeconds: age };
}

/**
 * "cleanup" (EventBridge, on an aborted or timed-out drill execution, which never reached its own
 * teardown): removes every drill's scratch resources and sends the drill's one message.
 * @throws DrillTeardownFailedError (after publishing what is left), NotificationError
 */
export async function cleanUpStoppedDrill(
  e: { readonly executionName: string; readonly status: string; readonly executionArn: string },
  stage: string,
  teardown: () => Promise<{ removed: readonly string[] }>,
  publish: FinishDeps["publish"],
): Promise<{ removed: readonly string[] }> {
  let removed: readonly string[] = [];
  let problem: string | undefined;
  try {
    removed = (await teardown()).removed;
  } catch (error) {
    problem = (error as Error).message;
    removed = ((error as { summary?: { removed?: string[] } }).summary?.removed ?? []) as string[];
  }
  const lines = [
    `Drill execution ${e.executionName} ended ${e.status} before its own teardown.`,
    `Torn down: ${removed.join(", ") || "nothing"}`,
    ...(problem ? [`TEARDOWN FAILED: ${problem}`] : []),
    "",
    `Execution: ${e.executionArn}`,
  ];
  await publish({
    subject: snsSubject(
      `gitpod-dr ${stage}: restore drill ${e.executionName} ${e.status}${problem ? ", teardown FAILED" : ""}`,
    ),
    message: snsMessage(lines.join("\n")),
  });
  if (problem) throw new DrillTeardownFailedError(problem, [problem], { removed });
  return { removed };
}
