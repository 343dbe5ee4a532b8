import { cleanUpStoppedDrill, finishDrill, finishEvent, publishDrillAge } from "@gitpod-dr/core/drill/result";
import { drillEvent, drillStep } from "@gitpod-dr/core/drill/steps";
import { tearDown } from "@gitpod-dr/core/drill/teardown";
import { publishNotification } from "@gitpod-dr/core/notify/failure";
import { snsClient } from "./lib/clients.ts";
import { drillConfig, drillRds, drillSecrets } from "./lib/drill-config.ts";
import { drillCloudwatch, drillDeps, drillKube, drillPoints } from "./lib/drill-deps.ts";
import { env } from "./lib/env.ts";
import { logger } from "./lib/logger.ts";
import { taskHandler } from "./lib/task.ts";

/**
 * Step Functions: the drill's steps outside its VPC (plan, the scratch restores, the application,
 * image and replica checks, teardown, finish), and the daily `age` of the last successful drill.
 */
export const handler = taskHandler(logger, async (raw) => {
  const config = drillConfig();
  const finishing = { now: () => new Date(), points: drillPoints, cloudwatch: drillCloudwatch };
  const publish = (n: { subject: string; message: string }) =>
    publishNotification(snsClient(), env.topicArn, n);
  const action = (raw as { action?: unknown } | null)?.action;
  if (action === "age") return publishDrillAge(config.stage, { ...finishing, publish });
  if (action === "cleanup") {
    const e = raw as { executionName: string; status: string; executionArn: string };
    const teardown = async () =>
      tearDown(
        { rds: drillRds(), secrets: drillSecrets(), kube: await drillKube() },
        { stage: config.stage, veleroNamespace: config.application?.veleroNamespace },
      );
    return cleanUpStoppedDrill(e, config.stage, teardown, publish);
  }
  if (action === "finish")
    return finishDrill(finishEvent.parse(raw), config.stage, { ...finishing, publish });
  const e = drillEvent.parse(raw);
  const result = await drillStep(e, config, drillDeps());
  logger.info("Drill step done", { action: e.action });
  return result;
});
