import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { type App, Stack } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { Application } from "./Application.ts";
import { Backups } from "./Backups.ts";
import { customResourceHandlerLogs } from "./constructs/CustomResourceHandler.ts";
import { setStageConfig } from "./context.ts";
import { Drill } from "./Drill.ts";
import { stripJsonImportAttributes } from "./esbuild.ts";
import { Images } from "./Images.ts";
import { Restore } from "./Restore.ts";
import { Storage } from "./Storage.ts";

/**
 * What a deployment of the stage into `region` holds: everything in the primary region; in the DR
 * region a standby of the restore (its alerts topic and state machine), so a restore can be started
 * when the primary region itself is down.
 * @throws Error for any other region, or for the DR region when the stage configures no restore.
 */
export function deploymentKind(region: string, config: StageConfig, stage: string): "primary" | "standby" {
  if (region === config.regions.primary) return "primary";
  if (region === config.regions.dr) {
    if (!config.restore) {
      throw new Error(
        `Stage "${stage}" configures no restore: nothing to deploy in its DR region ${region}. Deploy it to its primary region ${config.regions.primary}`,
      );
    }
    return "standby";
  }
  throw new Error(
    `Deploy stage "${stage}" to its primary region ${config.regions.primary} (--region ${config.regions.primary}), or its restore standby to the DR region ${config.regions.dr} (--region ${config.regions.dr}); it was asked for ${region}`,
  );
}

/**
 * Adds the gitpod-dr stacks to the app, in dependency order, with the validated stage configuration:
 * every stack in the primary region, or only the alerts topic and the restore (`standby`) in the DR region.
 */
export function addStacks(app: App, config: StageConfig, kind: "primary" | "standby" = "primary"): void {
  setStageConfig(app, config);
  app.setDefaultFunctionProps({
    runtime: "nodejs22.x",
    architecture: "arm_64",
    nodejs: { minify: true, esbuild: { plugins: [stripJsonImportAttributes] } },
  });
  if (kind === "standby") {
    app.stack(Alerts).stack(Restore);
  } else {
    app.stack(Alerts).stack(Backups).stack(Storage).stack(Images).stack(Application).stack(Restore);
  }
  // The drill runs where it restores: its database checks must run in the target region's VPC.
  if (config.drill && (config.drill.target === "dr") === (kind === "standby")) app.stack(Drill);
  for (const stack of app.node.children) {
    if (stack instanceof Stack) customResourceHandlerLogs(stack);
  }
}
