import type { StageConfig } from "@gitpod-dr/core/config/stage";
import type { App } from "sst/constructs";

/**
 * The validated stage configuration of an app, set once before the stacks are added. A registry rather
 * than a module-level variable so that tests can synthesize several apps with different configurations.
 */
const configs = new WeakMap<App, StageConfig>();

export function setStageConfig(app: App, config: StageConfig): void {
  configs.set(app, config);
}

export function stageConfig(app: App): StageConfig {
  const config = configs.get(app);
  if (!config) throw new Error("The stage configuration was not set: add the stacks with addStacks()");
  return config;
}
