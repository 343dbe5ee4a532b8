import type { CommandSpec } from "../command.ts";

export const status: CommandSpec = {
  name: "status",
  summary: "What a restore started now would get back: per tier the newest good copy, its age, the RPO",
  usage: "status --config FILE [--json]",
  description:
    "Reads the recovery-point catalog in the DR region. Per tier: the newest good copy, its age, the RPO target and OK or BREACH; then the newest complete recovery point, which a restore's {} uses. A monitoring probe as well: the exit code says whether every tier is within its target.",
  options: [
    ["--config FILE", "the stage configuration (required)"],
    ["--json", "print one JSON document: the report"],
  ],
  examples: ["npx gitpod-dr status --config config/prod.ts"],
  exitCodes: [
    [0, "every tier is within its RPO target"],
    [1, "a tier is not (BREACH), or has no recovery point"],
    [2, "bad usage, configuration or AWS credentials"],
  ],
  load: async () => (await import("../status.ts")).statusCommand,
};
