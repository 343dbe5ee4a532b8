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
import { restoreDeps } from "./lib/restore-deps.ts";
import { taskHandler } from "./lib/task.ts";

/** Step Functions: "Notify plan" (dry run), "Notify success" and "Notify failure": one SNS message each. */
const object = <T>() => z.custom<T>((v) => typeof v === "object" && v !== null);
const event = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("plan"), request: object<RestoreRequest>(), plan: object<RestorePlan>() }),
  z.object({ kind: z.literal("success"), state: object<SuccessState>() }),
  z.object({
    kind: z.literal("failure"),
    failed: z.record(z.string(), object<CaughtError>()).optional(),
    request: object<RestoreRequest>().optional(),
    plan: object<RestorePlan>().optional(),
    executionName: z.string(),
    executionArn: z.string().optional(),
    executionStartedAt: z.string().optional(),
  }),
]);

export const handler = taskHandler(logger, async (raw) => {
  const e = event.parse(raw);
  const deps = restoreDeps();
  const stage = deps.config.stage;
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
  let created: string[];
  try {
    created = await restoreInventory(e.request, e.plan, { rds: deps.rds, kube: deps.kube });
  } catch (error) {
    created = [`unknown: the look-up failed (${(error as Error).message})`];
  }
  const { error, cause, ...notification } = failureMessage(
    {
      ...(e.failed ? { failed: e.failed } : {}),
      ...(e.request ? { request: e.request } : {}),
      ...(e.plan ? { plan: e.plan } : {}),
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
