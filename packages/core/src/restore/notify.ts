import * as z from "zod";
import type { Notification } from "../notify/failure.ts";
import { type InventoryDeps, restoreInventory } from "./inventory.ts";
import {
  type CaughtError,
  type FailureInput,
  failureMessage,
  planMessage,
  type SuccessState,
  successMessage,
} from "./messages.ts";
import { passedOn, type RestorePlan, type RestoreRequest, requestAndPlan } from "./types.ts";

/**
 * "Notify plan" (dry run), "Notify success" and "Notify failure": one SNS message each. A failure's
 * message says what the restore had created, looked up within a bound.
 */

/** "Notify plan" (dry run), "Notify success" and "Notify failure". */
export const notifyEvent = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("plan"), ...requestAndPlan }),
  z.object({ kind: z.literal("success"), state: passedOn<SuccessState>() }),
  z.object({
    kind: z.literal("failure"),
    /**
     * The whole state at the failure: `failed.<state key>` and whatever the states before it produced.
     * When "Validate input" failed it is the operator's raw input: `failureInput` unpacks it with care.
     */
    state: z.unknown(),
    executionName: z.string(),
    executionArn: z.string().optional(),
    executionStartedAt: z.string().optional(),
  }),
]);
export type NotifyEvent = z.infer<typeof notifyEvent>;

/** How long "Notify failure" looks for what the restore created (the function has 60 s). */
export const INVENTORY_MS = 20_000;

export interface NotifyDeps extends InventoryDeps {
  /** Publishes to the alerts topic; gives the message id. */
  readonly publish: (notification: Notification) => Promise<string | undefined>;
}

export interface NotifyContext {
  readonly stage: string;
  /** The region the state machine runs in (for the console link). */
  readonly region: string;
  readonly now: Date;
}

export type NotifyResult =
  | { readonly messageId: string | undefined }
  /** A failure: the error and cause the Fail state after "Notify failure" ends the execution with. */
  | { readonly error: string; readonly cause: string; readonly messageId: string | undefined };

type FailureEvent = Extract<NotifyEvent, { kind: "failure" }>;

/**
 * What the failure message may rely on in the state at a failure. When "Validate input" failed, the
 * state is the operator's raw input: nothing in it is taken for a validated request or plan.
 */
export function failureInput(e: FailureEvent): FailureInput {
  const state = (typeof e.state === "object" && e.state !== null ? e.state : {}) as {
    failed?: Record<string, CaughtError>;
    request?: RestoreRequest;
    plan?: RestorePlan;
  };
  const failed = state.failed && typeof state.failed === "object" ? state.failed : undefined;
  const validated = failed && !("validate" in failed);
  const request = validated ? state.request : undefined;
  const plan = validated ? state.plan : undefined;
  return {
    ...(failed ? { failed } : {}),
    ...(request ? { request } : {}),
    ...(plan ? { plan } : {}),
    executionName: e.executionName,
    ...(e.executionArn ? { executionArn: e.executionArn } : {}),
    ...(e.executionStartedAt ? { executionStartedAt: e.executionStartedAt } : {}),
  };
}

/**
 * What the restore had created. The failure may be an unreachable cluster or region: the look-up gets
 * `ms`, so that the message still goes out (saying what is unknown) well within the function's timeout.
 * Never throws: a look-up that fails or does not answer is reported as unknown.
 */
export async function createdWithin(
  input: FailureInput,
  deps: InventoryDeps,
  ms: number = INVENTORY_MS,
): Promise<string[]> {
  let timer: NodeJS.Timeout | undefined;
  const bounded = new Promise<string[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([`unknown: the look-up of what this restore created did not answer within ${ms / 1000} s`]),
      ms,
    );
  });
  try {
    return await Promise.race([restoreInventory(input.request, input.plan, deps), bounded]);
  } catch (error) {
    return [`unknown: the look-up failed (${(error as Error).message})`];
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds and publishes the event's one message.
 * @throws NotificationError when the publish fails (the state's Retry, then the execution fails).
 */
export async function notifyRestore(
  e: NotifyEvent,
  context: NotifyContext,
  deps: NotifyDeps,
): Promise<NotifyResult> {
  if (e.kind === "plan")
    return { messageId: await deps.publish(planMessage(e.request, e.plan, context.stage)) };
  if (e.kind === "success") {
    return { messageId: await deps.publish(successMessage(e.state, context.stage, context.now)) };
  }
  const input = failureInput(e);
  const created = await createdWithin(input, deps);
  const { error, cause, ...notification } = failureMessage(
    input,
    created,
    context.stage,
    context.region,
    context.now,
  );
  return { error, cause, messageId: await deps.publish(notification) };
}
