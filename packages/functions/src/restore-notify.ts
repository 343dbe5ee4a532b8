import { publishNotification } from "@gitpod-dr/core/notify/failure";
import { restoreInventory } from "@gitpod-dr/core/restore/inventory";
import {
  type CaughtError,
  failureMessage,
  planMessage,
  type SuccessState,
  successMessage,
} from "@gitpod-dr/core/restore/messages";
import type { RestorePlan, RestoreRequest } from "@gitpod-dr/core/restore/types";
import { z } from "zod";
import { snsClient } from "./lib/clients.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { clusterAccess } from "./lib/restore-cluster.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { rdsClient } from "./lib/restore-rds.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Notify plan" (dry run), "Notify success" and "Notify failure": one SNS message each. */

/** How long "Notify failure" looks for what the restore created (the function has 60 s). */
const INVENTORY_MS = 20_000;
const object = <T>() => z.custom<T>((v) => typeof v === "object" && v !== null);
const event = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("plan"), request: object<RestoreRequest>(), plan: object<RestorePlan>() }),
  z.object({ kind: z.literal("success"), state: object<SuccessState>() }),
  z.object({
    kind: z.literal("failure"),
    /** The whole state at the failure: `failed.<state key>` and whatever the states before it produced. */
    state: z.unknown(),
    executionName: z.string(),
    executionArn: z.string().optional(),
    executionStartedAt: z.string().optional(),
  }),
]);

export const handler = taskHandler(logger, async (raw) => {
  const e = event.parse(raw);
  const stage = restoreConfig().stage;
  const now = new Date();
  if (e.kind === "plan") {
    const messageId = await publishNotification(
      snsClient(),
      env.topicArn,
      planMessage(e.request, e.plan, stage),
    );
    return { messageId };
  }
  if (e.kind === "success") {
    const messageId = await publishNotification(
      snsClient(),
      env.topicArn,
      successMessage(e.state, stage, now),
    );
    return { messageId };
  }
  const state = (typeof e.state === "object" && e.state !== null ? e.state : {}) as {
    failed?: Record<string, CaughtError>;
    request?: RestoreRequest;
    plan?: RestorePlan;
  };
  const failed = state.failed && typeof state.failed === "object" ? state.failed : undefined;
  // When "Validate input" failed, the state is the raw input: nothing in it is a validated request.
  const validated = failed && !("validate" in failed);
  const request = validated ? state.request : undefined;
  const plan = validated ? state.plan : undefined;
  // The failure may be an unreachable cluster or region: the look-up gets a bounded time, so that
  // the message still goes out (saying what is unknown) well within the function's timeout.
  let timer: NodeJS.Timeout | undefined;
  const bounded = new Promise<string[]>((resolve) => {
    timer = setTimeout(
      () =>
        resolve([
          `unknown: the look-up of what this restore created did not answer within ${INVENTORY_MS / 1000} s`,
        ]),
      INVENTORY_MS,
    );
  });
  let created: string[];
  try {
    created = await Promise.race([
      restoreInventory(request, plan, { rds: rdsClient, kube: clusterAccess }),
      bounded,
    ]);
  } catch (error) {
    created = [`unknown: the look-up failed (${(error as Error).message})`];
  } finally {
    clearTimeout(timer);
  }
  const { error, cause, ...notification } = failureMessage(
    {
      ...(failed ? { failed } : {}),
      ...(request ? { request } : {}),
      ...(plan ? { plan } : {}),
      executionName: e.executionName,
      ...(e.executionArn ? { executionArn: e.executionArn } : {}),
      ...(e.executionStartedAt ? { executionStartedAt: e.executionStartedAt } : {}),
    },
    created,
    stage,
    env.region,
    now,
  );
  const messageId = await publishNotification(snsClient(), env.topicArn, notification);
  logger.info("Restore failure notified", { error, messageId });
  // The Fail state after this one ends the execution with the failed state's own error and cause.
  return { error, cause, messageId };
});
