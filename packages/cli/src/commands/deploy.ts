import type { CommandSpec } from "../command.ts";

export const deploy: CommandSpec = {
  load: async () => (await import("../deploy.ts")).deployCommand,
  name: "deploy",
  summary:
    "Check the stage, the credentials and the CDK bootstrap, then run sst deploy and list what it deployed",
  usage: "deploy --stage NAME [--region REGION] [--account ID] [--json]",
  description: [
    "`npm run deploy -- --stage prod` runs this. Before anything reaches AWS it validates config/<stage>.ts,",
    "asks STS which account the credentials act in, and checks the CDK bootstrap of the region (SSM",
    "parameter /cdk-bootstrap/hnb659fds/version, or the CDKToolkit stack). It refuses with the reason and",
    "exit 2 when one of them is wrong; otherwise it runs `sst deploy` and prints the stacks' outputs (the",
    "alerts topic, the restore's console link, ...). The region defaults to the stage's primary region;",
    "--region <its DR region> deploys the restore's standby there.",
  ].join("\n"),
  options: [
    ["--stage NAME", "the stage: config/NAME.ts (required)"],
    ["--region REGION", "the stage's primary region (default) or its DR region (the restore's standby)"],
    ["--account ID", "refuse unless the credentials act in this 12-digit account"],
    ["--json", "print one JSON document: the target and the deployed stacks' outputs, or the refusal"],
  ],
  examples: [
    "npx gitpod-dr deploy --stage prod",
    "npm run deploy -- --stage prod",
    "npm run deploy -- --stage prod --region eu-central-1 --account 123456789012",
  ],
  exitCodes: [
    [0, "deployed; the outputs are printed"],
    [1, "sst deploy failed, or a stack is not in a complete state after it"],
    [
      2,
      "bad usage, an invalid or missing stage file, no credentials, another account, no CDK bootstrap: nothing was deployed",
    ],
  ],
};
