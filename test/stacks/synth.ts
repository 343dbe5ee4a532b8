import type { StageConfigInput } from "@gitpod-dr/core/config";
import { parseStageConfig } from "@gitpod-dr/core/config";
import { Template } from "aws-cdk-lib/assertions";
import { App, getStack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { Alerts } from "../../stacks/Alerts.ts";
import { Backups } from "../../stacks/Backups.ts";
import { addStacks } from "../../stacks/index.ts";

export const ACCOUNT = "123456789012";

/**
 * Synthesizes the stacks offline (PLATFORM.md recipe): SST's project, an SST App in deploy mode, the
 * stacks, and app.finish(), which bundles the handlers with esbuild.
 */
export async function synth(stage: string, config: StageConfigInput, region = "eu-west-1") {
  await initProject({ stage });
  const app = new App({ mode: "deploy", account: ACCOUNT, region, stage });
  addStacks(app, parseStageConfig(config));
  await app.finish();
  return {
    app,
    alerts: Template.fromStack(getStack(Alerts)),
    backups: Template.fromStack(getStack(Backups)),
  };
}
