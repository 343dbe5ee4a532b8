import { z } from "zod";
import type { ApplicationStarted } from "./application.ts";
import type { PlannedDatabase } from "./database.ts";
import type { SuccessState } from "./messages.ts";
import type { DatabaseOutcome, PointResult } from "./point.ts";
import type { RedeployResult } from "./rollout.ts";
import type { RestorePlan, RestoreRequest } from "./types.ts";

/**
 * The events the restore state machine sends its task functions (the Parameters of each Task state in
 * `stacks/Restore.ts`). The operator's input is validated once, by "Validate input" (`input.ts`).
 */

/**
 * What an earlier state produced for a later one (the request, the plan, a step's result), passed on
 * NOT validated: our own task wrote it and Step Functions carried it unchanged along paths the
 * synthesized definition fixes (test/integration/restore-machine.test.ts runs that definition against
 * these handlers). A schema here would be a second copy of the TypeScript type that could only drift
 * from it. Only that an object is there is checked, so a wiring mistake fails naming the field.
 */
export const passedOn = <T>() => z.custom<T>((v) => typeof v === "object" && v !== null);

const planned = { request: passedOn<RestoreRequest>(), plan: passedOn<RestorePlan>() };

/** "Validate input" and "Build plan". */
export const planEvent = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("validate"),
    input: z.unknown(),
    executionName: z.string(),
    executionStartedAt: z.string(),
  }),
  z.object({ action: z.literal("plan"), request: passedOn<RestoreRequest>() }),
]);

const database = {
  restoreId: z.string().min(1),
  region: z.string().min(1),
  database: passedOn<PlannedDatabase>(),
};

/** "Restore database" and "Check database". */
export const databaseEvent = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ...database }),
  z.object({ action: z.literal("check"), ...database, started: z.object({ startedAt: z.string() }) }),
]);

/** "Ensure image", one image of the Map state. */
export const imageEvent = z.object({
  item: z.object({ reference: z.string().min(1), source: z.string().min(1).optional() }),
});

/** The application steps, from "Restore application" to "Verify". */
export const applicationEvent = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ...planned }),
  z.object({ action: z.literal("check"), ...planned, started: passedOn<ApplicationStarted>() }),
  z.object({ action: z.literal("point"), ...planned, database: passedOn<DatabaseOutcome>().optional() }),
  z.object({ action: z.literal("check-config"), ...planned, point: passedOn<PointResult>() }),
  z.object({ action: z.literal("redeploy"), ...planned }),
  z.object({ action: z.literal("check-rollout"), ...planned, redeploy: passedOn<RedeployResult>() }),
  z.object({ action: z.literal("verify"), ...planned }),
]);
export type ApplicationEvent = z.infer<typeof applicationEvent>;

/** "Notify plan" (dry run), "Notify success" and "Notify failure". */
export const notifyEvent = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("plan"), ...planned }),
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
