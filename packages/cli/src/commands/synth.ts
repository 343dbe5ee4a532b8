import type { CommandSpec } from "../command.ts";

/** The account synthesized ARNs name when `--account` is not given. */
export const PLACEHOLDER_ACCOUNT = "000000000000";

export const synth: CommandSpec = {
  load: async () => (await import("../synth.ts")).synthCommand,
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
