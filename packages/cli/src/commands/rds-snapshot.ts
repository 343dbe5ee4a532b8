import type { CommandSpec } from "../command.ts";

export const rdsSnapshot: CommandSpec = {
  name: "rds-snapshot",
  summary: "Take this window's RDS snapshot, copy snapshots to the DR region, apply retention",
  usage: "rds-snapshot --config FILE [--dry-run] [--time ISO] [--json]",
  description:
    "The scheduled RDS job, run from here with the AWS credentials of your environment (checked first).",
  options: [
    ["--config FILE", "the stage configuration, e.g. config/prod.ts (required)"],
    ["--dry-run", "report what would be created, copied and deleted; change nothing"],
    ["--time ISO", "the schedule window to run for (default: now), e.g. 2026-11-26T03:00:00Z"],
    ["--json", "print one JSON document: the summary, with an error when it failed"],
  ],
  examples: ["npx gitpod-dr rds-snapshot --config config/prod.ts --dry-run"],
  exitCodes: [
    [0, "done"],
    [1, "the job failed (the summary says what it did)"],
    [2, "bad usage, configuration or AWS credentials; nothing was done"],
  ],
  load: async () => (await import("../rds.ts")).rdsSnapshotCommand,
};
