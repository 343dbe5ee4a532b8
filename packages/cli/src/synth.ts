import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { drillClusterNotes } from "@gitpod-dr/core/config/drill";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { commandHelp, type Io } from "./command.ts";
import { PLACEHOLDER_ACCOUNT, synth } from "./commands/synth.ts";
import { synthesizeStage } from "./synth-app.ts";
import { formatSynthSummary, summarize } from "./synth-summary.ts";

/** `gitpod-dr synth --config FILE [--out DIR] [--account ID] [--json]`. */
export async function synthCommand(args: string[], io: Pick<Io, "out" | "err">): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      config: { type: "string" },
      out: { type: "string" },
      account: { type: "string" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    io.out(commandHelp(synth));
    return 0;
  }
  if (!values.config)
    throw new InvalidInputError("synth needs --config FILE (for example --config config/prod.ts)");
  if (values.account !== undefined && !/^\d{12}$/.test(values.account))
    throw new InvalidInputError(`--account: must be a 12-digit AWS account ID (got "${values.account}")`);
  const { stage, config } = await loadStageConfigFile(values.config);
  for (const note of drillClusterNotes(config.drill)) io.err(`note: ${note}`);
  const account = values.account ?? PLACEHOLDER_ACCOUNT;
  const out = resolve(values.out ?? `cdk.out/${stage}`);
  const regions = summarize(await synthesizeStage(stage, config, { account, out }));
  io.out(
    values.json
      ? JSON.stringify(
          { stage, account, placeholderAccount: values.account === undefined, out, regions },
          null,
          2,
        )
      : formatSynthSummary(stage, account, values.account === undefined, regions),
  );
  return 0;
}
