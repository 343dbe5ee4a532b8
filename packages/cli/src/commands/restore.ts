import type { CommandSpec } from "../command.ts";

export const restore: CommandSpec = {
  load: async () => (await import("../restore.ts")).restoreCommand,
  name: "restore",
  summary: "Start the restore state machine from the terminal, follow it, list and inspect executions",
  usage: [
    "restore start --config FILE [--input JSON] [input flags] [--target primary|dr] [--dry-run] [--follow] [--name NAME] [--json]",
    "       gitpod-dr restore status EXECUTION [--config FILE] [--json]",
    "       gitpod-dr restore list --config FILE [--target primary|dr] [--json]",
  ].join("\n"),
  description: [
    "start takes the same input as the console (--input JSON; the flags set its fields, over --input), checks",
    "it with the schema the Validate step uses, and only then starts gitpod-dr-<stage>-restore: in the primary",
    "region, or the DR region's standby when the target is dr. --follow shows each state as it enters and",
    "leaves it, with the time since the start, until the execution ends, then its result. EXECUTION is an",
    "execution ARN, or a name with --config.",
  ].join("\n"),
  options: [
    ["--config FILE", "the stage configuration (its restore section names the machine)"],
    ["--input JSON", 'the execution input, as in the console, e.g. \'{"target":"dr"}\''],
    ["--target primary|dr", "restore into this target; dr starts the DR region's standby machine"],
    ["--dry-run", "input dryRun: publish the plan, change nothing"],
    ["--restore-id ID", "input restoreId (the same id again adopts what a previous run created)"],
    ["--db-snapshot ID", 'input dbSnapshot ("latest" or a snapshot identifier)'],
    ["--velero-backup NAME", 'input veleroBackup ("latest" or a backup name)'],
    ["--tiers LIST", "input tiers, comma-separated (database,images,application)"],
    ["--target-db-identifier ID", "input targetDbIdentifier"],
    ["--allow-partial-restore", "input allowPartialRestore"],
    ["--name NAME", "the execution's name (default restore-<UTC time>, or <restoreId>-<UTC time>)"],
    ["--follow", "follow the execution until it ends"],
    ["--json", "print one JSON document: the execution (and its outcome with --follow)"],
  ],
  examples: [
    "npx gitpod-dr restore start --config config/prod.ts --target dr --follow",
    "npx gitpod-dr restore start --config config/prod.ts --db-snapshot gitpod-dr-gitpod-2026-11-26-0300 --tiers database",
    "npx gitpod-dr restore status restore-20261203-101500 --config config/prod.ts",
  ],
  exitCodes: [
    [0, "started (and with --follow, succeeded); status/list: shown"],
    [1, "the execution failed, timed out or was aborted (--follow, status)"],
    [
      2,
      "nothing started: bad usage, invalid input (the field is named) or configuration, or no AWS credentials",
    ],
  ],
};
