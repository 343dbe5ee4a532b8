import type { CommandSpec } from "../command.ts";

export const s3Check: CommandSpec = {
  name: "s3-check",
  summary: "Check S3 replication of the stage's buckets and print the findings as a table",
  usage: "s3-check --config FILE [--dry-run] [--json]",
  description: "Checks audit, canaries, metrics and a sample of each bucket, with your AWS credentials.",
  options: [
    ["--config FILE", 'the stage configuration (required; its "storage" section)'],
    ["--dry-run", "report findings; write no canary, start no repair job"],
    ["--json", "print one JSON document: the summary, with an error when it failed"],
  ],
  examples: ["npx gitpod-dr s3-check --config config/prod.ts --dry-run"],
  exitCodes: [
    [0, "healthy, or only warnings"],
    [1, "a finding is a failure"],
    [2, "bad usage, configuration or AWS credentials; nothing was checked"],
  ],
  load: async () => (await import("../storage.ts")).s3CheckCommand,
};
