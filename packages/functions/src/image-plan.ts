import { planWork } from "@gitpod-dr/core/registry/work";
import { parseWorkEvent, workKeys, workPlanEvent } from "@gitpod-dr/core/registry/work-input";
import { imageJob } from "./lib/image-deps.ts";
import { workFiles } from "./lib/image-work.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions, the image sync workflow's "Plan": lists sources and destinations, compares digests in
 * bulk, writes the work list (one item per image to copy, with its size) and the plan's report to S3.
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
  logger.info("Image sync planned", { ...plan.totals, problems: plan.problems.length });
  return { bucket: e.bucket, ...keys, totals: plan.totals };
});
