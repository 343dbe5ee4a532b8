import { existsSync } from "node:fs";
import { loadStageConfigFile, stageConfigPath } from "@gitpod-dr/core/config-file";
import type { SSTConfig } from "sst";
import { addStacks, deploymentKind } from "./stacks/index.ts";

export default {
  async config(input) {
    // The app runs in the stage's primary region; `--region` may still say so explicitly, or name the
    // DR region for the restore's standby there.
    // A missing stage file is reported by stacks(), where `sst deploy` shows it.
    const file = input.stage ? stageConfigPath(process.cwd(), input.stage) : undefined;
    const primary =
      file && existsSync(file) ? (await loadStageConfigFile(file)).config.regions.primary : undefined;
    return { name: "gitpod-dr", region: input.region ?? primary ?? process.env.AWS_REGION ?? "us-east-1" };
  },
  async stacks(app) {
    // config/<stage>.ts, validated: a bad value fails synthesis with the field's name.
    const { config } = await loadStageConfigFile(stageConfigPath(process.cwd(), app.stage));
    // The primary region gets every stack; the DR region the standby: catalog, RPO alarms, restore.
    addStacks(app, config, deploymentKind(app.region, config, app.stage));
  },
} satisfies SSTConfig;
