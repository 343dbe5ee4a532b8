import type { StageConfig } from "@gitpod-dr/core/config";
import type { App } from "sst/constructs";
import { Alerts } from "./Alerts.ts";
import { Application } from "./Application.ts";
import { Backups } from "./Backups.ts";
import { setStageConfig } from "./context.ts";
import { stripJsonImportAttributes } from "./esbuild.ts";
import { Images } from "./Images.ts";
import { Restore } from "./Restore.ts";
import { Storage } from "./Storage.ts";

/** Adds every gitpod-dr stack to the app, in dependency order, with the validated stage configuration. */
export function addStacks(app: App, config: StageConfig): void {
  setStageConfig(app, config);
  app.setDefaultFunctionProps({
    runtime: "nodejs22.x",
    architecture: "arm_64",
    nodejs: { minify: true, esbuild: { plugins: [stripJsonImportAttributes] } },
  });
  app.stack(Alerts).stack(Backups).stack(Storage).stack(Images).stack(Application).stack(Restore);
}
