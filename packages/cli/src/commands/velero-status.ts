import type { CommandSpec } from "../command.ts";

export const veleroStatus: CommandSpec = {
  name: "velero-status",
  summary: "The newest Velero backups made by gitpod-dr, with phase and age",
  usage: "velero-status --config FILE [--json]",
  options: [
    ["--config FILE", 'the stage configuration (required; its "application" section)'],
    ["--json", "print one JSON document: the list of backups"],
  ],
  examples: ["npx gitpod-dr velero-status --config config/prod.ts"],
  exitCodes: [
    [0, "listed; none failed"],
    [1, "a listed backup failed, or the cluster could not be read"],
    [2, "bad usage, configuration or AWS credentials"],
  ],
  load: async () => (await import("../velero.ts")).veleroStatusCommand,
};
