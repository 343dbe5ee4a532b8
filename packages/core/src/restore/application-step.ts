import type { RestoreJobConfig } from "../config.ts";
import {
  type ApplicationDeps,
  type ApplicationStarted,
  type ApplicationStatus,
  checkApplicationRestore,
  startApplicationRestore,
} from "./application.ts";
import type { ApplicationEvent } from "./events.ts";
import { type ConfigStatus, checkPointed, type PointResult, pointApplication } from "./point.ts";
import {
  checkRollout,
  type RedeployResult,
  type RolloutStatus,
  redeploy,
  type VerifyResult,
  verify,
} from "./rollout.ts";

export type ApplicationStepResult =
  | ApplicationStarted
  | ApplicationStatus
  | PointResult
  | ConfigStatus
  | RedeployResult
  | RolloutStatus
  | VerifyResult;

/** One application step of the restore state machine, chosen by the event's `action`. */
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
