import { SCENARIOS } from "@gitpod-dr/sim/rehearse/types";
import type { CommandSpec } from "../command.ts";

export const rehearse: CommandSpec = {
  name: "rehearse",
  summary: "Watch a backup → disaster → restore cycle on a simulated account (no AWS account needed)",
  usage: "rehearse [--config FILE] [--scenario NAME] [--days N] [--report FILE.html] [--json] [--keep]",
  description: [
    "Runs the stage's scheduled jobs for --days virtual days on a simulated account seeded from the stage",
    "file (RDS, S3, SNS, the catalog, two Kubernetes clusters with Velero, two local registries), then the",
    "scenario's disaster, then the restore state machine synthesized from the stack, with its real task",
    "handlers. Prints one line per event, then the verdict, the RPO per tier at the disaster, the recovery",
    "point used, the RTO per step, the alarms, the SNS messages and the findings about the configuration.",
    `Scenarios: ${SCENARIOS.join(", ")}. Nothing leaves 127.0.0.1 and no AWS credentials are used.`,
  ].join("\n"),
  options: [
    ["--config FILE", "the stage file to rehearse (default config/example.ts)"],
    ["--scenario NAME", `the disaster (default region-loss): ${SCENARIOS.join(", ")}`],
    ["--days N", "virtual days of scheduled jobs before the disaster, 1 to 30 (default 3)"],
    ["--report FILE.html", "also write the report as a self-contained HTML page"],
    ["--json", "print the report as one JSON document on stdout (events go to stderr)"],
    ["--keep", "leave the simulated clusters running, print a kubeconfig, stop at Ctrl-C"],
  ],
  examples: [
    "npx gitpod-dr rehearse --report rehearsal.html",
    "npx gitpod-dr rehearse --config config/prod.ts --scenario db-corruption",
    "npx gitpod-dr rehearse --scenario image-missing --json > report.json",
  ],
  exitCodes: [
    [0, "the tool did what the scenario requires (verdict passed)"],
    [1, "it did not, or the configuration has an error finding (verdict failed), or the run broke"],
    [2, "bad usage (the flag is named) or a stage file that does not load; nothing was run"],
  ],
  load: async () => (await import("../rehearse/command.ts")).rehearseCommand,
};
