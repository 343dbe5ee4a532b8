import { fanOutRoute } from "@gitpod-dr/core/config/images";
import { planWork } from "@gitpod-dr/core/registry/work";
import { parseWorkEvent, workKeys, workPlanEvent } from "@gitpod-dr/core/registry/work-input";
import { imageJob } from "./lib/image-deps.ts";
import { workFiles } from "./lib/image-work.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions, the image sync workflow's "Plan": lists sources and destinations, compares digests in
 * bulk, writes the work list (one item per image to copy, with its size) and the plan's report to S3, and
 * chooses the path (`route`): below the configured threshold the list itself is returned (`Items`, for
 * the one copy task), above it the Distributed Map reads the file.
 */
export const handler = taskHandler(logger, async (raw) => {
  const e = parseWorkEvent(workPlanEvent, raw, "Plan");
  const { config, deps } = imageJob();
  const plan = await planWork(config.images.rules, deps, {
    repositorySettings: config.images.repositoryDefaults,
  });
  const keys = workKeys(e.runId);
  // The plan's report first: a run whose work list exists always has the report Summarize reads.
  await workFiles.put(e.bucket, keys.planKey, {
    current: plan.current,
    problems: plan.problems,
    repositoriesCreated: plan.repositoriesCreated,
  });
  await workFiles.put(e.bucket, keys.itemsKey, plan.items);
  const threshold = config.images.fanOut?.threshold ?? { images: 0, gigabytes: 0 };
  const route = fanOutRoute(plan.totals, threshold);
  logger.info("Image sync planned", { ...plan.totals, route, problems: plan.problems.length });
  return {
    bucket: e.bucket,
    ...keys,
    totals: plan.totals,
    route,
    ...(route === "task" ? { Items: plan.items } : {}),
  };
});
