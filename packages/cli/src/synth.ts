import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { type CommandHelp, helpText } from "./help.ts";
import { PLACEHOLDER_ACCOUNT, synthesizeStage } from "./synth-app.ts";
import { formatSynthSummary, summarize } from "./synth-summary.ts";

export const synthHelp: CommandHelp = {
  name: "synth",
  summary: "Synthesize a stage offline and print what it deploys: functions, triggers, IAM, alarms, regions",
  usage: "synth --config FILE [--out DIR] [--account ID] [--json]",
  description: [
    "Needs no AWS credentials and no network: the stacks are synthesized here, as `sst deploy` would,",
    "their handlers bundled with esbuild. Writes each region's CloudFormation templates (a CDK cloud",
    "assembly) to DIR/primary-<region> and, when the stage configures a restore, DIR/standby-<dr region>.",
    "The summary lists per function its trigger, timeout, memory and every IAM permission with its",
    "resources and conditions; the roles of other resources; the alarms and notification rules.",
  ].join("\n"),
  options: [
    ["--config FILE", "the stage configuration, e.g. config/prod.ts (required)"],
    ["--out DIR", "where the templates go (default cdk.out/<stage>)"],
    [
      "--account ID",
      `the 12-digit AWS account the ARNs name (default ${PLACEHOLDER_ACCOUNT}, a placeholder)`,
    ],
    ["--json", "print one JSON document: the summary, per region"],
  ],
  examples: ["npx gitpod-dr synth --config config/prod.ts --account 123456789012 --out /tmp/prod-templates"],
  exitCodes: [
    [0, "synthesized; the templates are written"],
    [1, "synthesis failed (a stack could not be built)"],
    [2, "bad usage or an invalid stage configuration; nothing was written"],
  ],
};

/** `gitpod-dr synth --config FILE [--out DIR] [--account ID] [--json]`. */
export async function synthCommand(args: string[], io: { out: (text: string) => void }): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: "string" },
      out: { type: "string" },
      account: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    io.out(helpText(synthHelp));
    return 0;
  }
  if (!values.config)
    throw new InvalidInputError("synth needs --config FILE (for example --config config/prod.ts)");
  if (values.account !== undefined && !/^\d{12}$/.test(values.account))
    throw new InvalidInputError(`--account: must be a 12-digit AWS account ID (got "${values.account}")`);
  const { stage, config } = await loadStageConfigFile(values.config);
  const account = values.account ?? PLACEHOLDER_ACCOUNT;
  const out = resolve(values.out ?? `cdk.out/${stage}`);
  const regions = summarize(await synthesizeStage(stage, config, { account, out }));
  io.out(
    values.json
      ? JSON.stringify(
          { stage, account, placeholderAccount: values.account === undefined, out, regions },
          null,
          2,
        )
      : formatSynthSummary(stage, account, values.account === undefined, regions),
  );
  return 0;
}
