import type { CommandSpec } from "../command.ts";

export const syncImages: CommandSpec = {
  name: "sync-images",
  summary: 'Run the image sync job of a stage (its "images" rules) from here',
  usage: "sync-images --config FILE [--dry-run] [--insecure-registry HOST:PORT] [--json]",
  description: [
    'Registries that are not ECR are reached with your docker login (config.json "auths" and its',
    "credential helpers); their credentialsSecretArn in the stage file is for the Lambda and is not",
    "needed here. ECR uses your AWS credentials (checked first). A rule's destination without a tag",
    "keeps the source's tag.",
  ].join("\n"),
  options: [
    ["--config FILE", "the stage configuration (required)"],
    ["--dry-run", "list what would be copied; write nothing"],
    ["--insecure-registry HOST:PORT", "speak plain HTTP to this registry (repeatable; local registries)"],
    ["--json", "print one JSON document: the summary, with an error when it failed"],
  ],
  examples: ["npx gitpod-dr sync-images --config config/prod.ts --dry-run"],
  exitCodes: [
    [0, "every image copied or up to date"],
    [1, "some images failed (the summary counts them; the error lists them)"],
    [2, "bad usage, configuration or AWS credentials; nothing was copied"],
  ],
  load: async () => (await import("../sync-images.ts")).syncImagesCommand,
};
