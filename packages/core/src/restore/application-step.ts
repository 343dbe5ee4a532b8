import * as z from "zod";
import type { RestoreJobConfig } from "../config.ts";
import {
  type ApplicationDeps,
  type ApplicationStarted,
  type ApplicationStatus,
  checkApplicationRestore,
  startApplicationRestore,
} from "./application.ts";
import {
  type ConfigStatus,
  checkPointed,
  type DatabaseOutcome,
  type PointResult,
  pointApplication,
} from "./point.ts";
import {
  checkRollout,
  type RedeployResult,
  type RolloutStatus,
  redeploy,
  type VerifyResult,
  verify,
} from "./rollout.ts";
import { passedOn, requestAndPlan } from "./types.ts";

/** The application steps, from "Restore application" to "Verify". */
export const applicationEvent = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ...requestAndPlan }),
  z.object({ action: z.literal("check"), ...requestAndPlan, started: passedOn<ApplicationStarted>() }),
  z.object({
    action: z.literal("point"),
    ...requestAndPlan,
    database: passedOn<DatabaseOutcome>().optional(),
  }),
  z.object({ action: z.literal("check-config"), ...requestAndPlan, point: passedOn<PointResult>() }),
  z.object({ action: z.literal("redeploy"), ...requestAndPlan }),
  z.object({ action: z.literal("check-rollout"), ...requestAndPlan, redeploy: passedOn<RedeployResult>() }),
  z.object({ action: z.literal("verify"), ...requestAndPlan }),
]);
export type ApplicationEvent = z.infer<typeof applicationEvent>;

export type ApplicationStepResult =
  | ApplicationStarted
  | ApplicationStatus
  | PointResult
  | ConfigStatus
  | RedeployResult
  | RolloutStatus
  | VerifyResult;

/**
 * One application step of the restore state machine, chosen by the event's `action`.
 * @throws what that step throws (each names its own errors)
 */
export function applicationStep(
  e: ApplicationEvent,
  config: RestoreJobConfig,
  deps: ApplicationDeps,
): Promise<ApplicationStepResult> {
  switch (e.action) {
    case "start":
      return startApplicationRestore(e.request, e.plan, config, deps);
    case "check":
      return checkApplicationRestore(e.request, e.plan, e.started, config, deps);
    case "point":
      return pointApplication(e.plan, e.database, config, deps);
    case "check-config":
      return checkPointed(e.plan, e.point, config, deps);
    case "redeploy":
      return redeploy(e.request, e.plan, config, deps);
    case "check-rollout":
      return checkRollout(e.plan, e.redeploy, config, deps);
    case "verify":
      return verify(e.plan, config, deps);
  }
}
