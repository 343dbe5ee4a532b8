import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { type App, Stack } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { Application } from "./Application.ts";
import { Backups } from "./Backups.ts";
import { Catalog } from "./Catalog.ts";
import { customResourceHandlerLogs } from "./constructs/CustomResourceHandler.ts";
import { setStageConfig } from "./context.ts";
import { Dashboard } from "./Dashboard.ts";
import { Drill } from "./Drill.ts";
import { Images } from "./Images.ts";
import { Restore } from "./Restore.ts";
import { Storage } from "./Storage.ts";

/**
 * What a deployment of the stage into `region` holds: everything in the primary region; in the DR
 * region the standby: its alerts topic, the recovery-point catalog with the RPO watchdog and alarms
 * (they must outlive the primary region), and, when configured, a standby of the restore, so a restore
 * can be started when the primary region itself is down.
 * @throws Error for any other region.
 */
export function deploymentKind(region: string, config: StageConfig, stage: string): "primary" | "standby" {
  if (region === config.regions.primary) return "primary";
  if (region === config.regions.dr) return "standby";
  throw new Error(
    `Deploy stage "${stage}" to its primary region ${config.regions.primary} (--region ${config.regions.primary}), and its standby (catalog, RPO alarms, restore) to the DR region ${config.regions.dr} (--region ${config.regions.dr}); it was asked for ${region}`,
  );
}

/**
 * Adds the gitpod-dr stacks to the app, in dependency order, with the validated stage configuration:
 * every stack in the primary region, or the alerts topic, the catalog, the restore and a dashboard
 * (`standby`) in the DR region. The dashboard comes last: it shows the alarms of the stacks before it.
 */
export function addStacks(app: App, config: StageConfig, kind: "primary" | "standby" = "primary"): void {
  setStageConfig(app, config);
  app.setDefaultFunctionProps({
    runtime: "nodejs22.x",
    architecture: "arm_64",
    nodejs: { minify: true },
  });
  if (kind === "standby") {
    app.stack(Alerts).stack(Catalog).stack(Restore);
  } else {
    app.stack(Alerts).stack(Backups).stack(Storage).stack(Images).stack(Application).stack(Restore);
  }
  // The drill runs where it restores: its database checks must run in the target region's VPC.
  if (config.drill && (config.drill.target === "dr") === (kind === "standby")) app.stack(Drill);
  // Last: the dashboard shows the alarms of the stacks before it.
  app.stack(Dashboard);
  for (const stack of app.node.children) {
    if (stack instanceof Stack) customResourceHandlerLogs(stack);
  }
}
