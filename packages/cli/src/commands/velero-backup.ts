import type { CommandSpec } from "../command.ts";

export const veleroBackup: CommandSpec = {
  name: "velero-backup",
  summary: "Create this window's Velero backup on the EKS cluster and check the previous one",
  usage: "velero-backup --config FILE [--dry-run] [--time ISO] [--json]",
  description:
    "The scheduled Velero job, run from here with the AWS credentials of your environment (checked first).",
  options: [
    ["--config FILE", 'the stage configuration (required; its "application" section)'],
    ["--dry-run", "run the preflight checks and report; create nothing"],
    ["--time ISO", "the schedule window (default: now); names the backup"],
    ["--json", "print one JSON document: the summary, with an error when it failed"],
  ],
  examples: ["npx gitpod-dr velero-backup --config config/prod.ts --dry-run"],
  exitCodes: [
    [0, "the backup was created (or exists) and the previous one completed"],
    [1, "the job failed (the summary says what it did)"],
    [2, "bad usage, configuration or AWS credentials; nothing was done"],
  ],
  load: async () => (await import("../velero.ts")).veleroBackupCommand,
};
