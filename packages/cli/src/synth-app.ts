import { join } from "node:path";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { App, Stack } from "sst/constructs";
import { initProject } from "sst/project.js";
import { addStacks } from "../../../stacks/index.ts";

/** One region's deployment: its kind and its stacks' templates, as `sst deploy` would send them. */
export interface SynthesizedRegion {
  readonly region: string;
  readonly kind: "primary" | "standby";
  /** Where the cloud assembly (templates, manifest, bundled handlers) was written. */
  readonly dir: string;
  readonly stacks: readonly { readonly name: string; readonly file: string; readonly template: Template }[];
}

export interface Template {
  readonly Resources?: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown> }
  >;
  readonly Outputs?: Record<string, { readonly Value?: unknown; readonly Description?: string }>;
}

/**
 * Synthesizes the stage as `sst deploy` does, without AWS: every stack into the primary region, and the
 * restore's standby into the DR region when the stage configures a restore. Handlers are bundled with
 * esbuild (local only). Writes each region's cloud assembly to `<out>/<kind>-<region>`.
 */
export async function synthesizeStage(
  stage: string,
  config: StageConfig,
  options: { readonly account: string; readonly out: string },
): Promise<SynthesizedRegion[]> {
  const regions: { region: string; kind: "primary" | "standby" }[] = [
    { region: config.regions.primary, kind: "primary" },
    ...(config.restore ? [{ region: config.regions.dr, kind: "standby" as const }] : []),
  ];
  const result: SynthesizedRegion[] = [];
  for (const { region, kind } of regions) {
    await initProject({ stage, region });
    const dir = join(options.out, `${kind}-${region}`);
    const app = new App(
      { mode: "deploy", name: "gitpod-dr", account: options.account, region, stage },
      { outdir: dir },
    );
    // SST looks up the CDK bootstrap bucket in AWS at finish(), unless it runs under a test runner
    // (App.isRunningSSTTest: NODE_ENV=test); this app answers yes for itself only, so nothing leaves
    // the machine and no other process setting changes.
    app.isRunningSSTTest = () => true;
    addStacks(app, config, kind);
    await app.finish();
    const assembly = app.synth();
    const stacks = app.node.children
      .filter((child): child is Stack => child instanceof Stack)
      .map((stack) => {
        const artifact = assembly.getStackByName(stack.stackName);
        return {
          name: stack.stackName,
          file: join(dir, artifact.templateFile),
          template: artifact.template as Template,
        };
      });
    result.push({ region, kind, dir, stacks });
  }
  return result;
}
