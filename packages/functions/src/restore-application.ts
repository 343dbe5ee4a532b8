import {
  type ApplicationStarted,
  checkApplicationRestore,
  checkPointed,
  checkRollout,
  type DatabaseOutcome,
  type PointResult,
  pointApplication,
  type RedeployResult,
  redeploy,
  startApplicationRestore,
  verify,
} from "@gitpod-dr/core/restore/application";
import type { RestorePlan, RestoreRequest } from "@gitpod-dr/core/restore/types";
import { z } from "zod";
import { logger } from "./lib/logger.ts";
import { cloudwatchClient } from "./lib/restore-cloudwatch.ts";
import { clusterAccess } from "./lib/restore-cluster.ts";
import { restoreConfig } from "./lib/restore-deps.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions: the application steps of the restore — "Restore application", "Check application
 * restore", "Point application at restored endpoints", "Check configuration", "Redeploy", "Check
 * rollout", "Verify".
 */
const object = <T>() => z.custom<T>((v) => typeof v === "object" && v !== null);
const base = { request: object<RestoreRequest>(), plan: object<RestorePlan>() };
const event = z.discriminatedUnion("action", [
  z.object({ action: z.literal("start"), ...base }),
  z.object({ action: z.literal("check"), ...base, started: object<ApplicationStarted>() }),
  z.object({ action: z.literal("point"), ...base, database: object<DatabaseOutcome>().optional() }),
  z.object({ action: z.literal("check-config"), ...base, point: object<PointResult>() }),
  z.object({ action: z.literal("redeploy"), ...base }),
  z.object({ action: z.literal("check-rollout"), ...base, redeploy: object<RedeployResult>() }),
  z.object({ action: z.literal("verify"), ...base }),
]);

export const handler = taskHandler(logger, async (raw) => {
  const e = event.parse(raw);
  const app = {
    kube: clusterAccess,
    cloudwatch: cloudwatchClient,
    fetch: globalThis.fetch,
    now: () => new Date(),
  };
  const config = restoreConfig();
  switch (e.action) {
    case "start":
      return startApplicationRestore(e.request, e.plan, config, app);
    case "check":
      return checkApplicationRestore(e.request, e.plan, e.started, config, app);
    case "point": {
      const result = await pointApplication(e.plan, e.database, config, app);
      logger.info("Application pointed", { mode: result.mode, keys: Object.keys(result.values) });
      return result;
    }
    case "check-config":
      return checkPointed(e.plan, e.point, config, app);
    case "redeploy":
      return redeploy(e.request, e.plan, config, app);
    case "check-rollout":
      return checkRollout(e.plan, e.redeploy, config, app);
    case "verify":
      return verify(e.plan, config, app);
  }
});
