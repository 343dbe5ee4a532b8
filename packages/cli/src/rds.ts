import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { rdsJobConfig } from "@gitpod-dr/core/config/rds";
import type { JobLogger } from "@gitpod-dr/core/logger";
import { rdsJobClients } from "@gitpod-dr/core/rds/clients";
import { SnapshotJobIncompleteError } from "@gitpod-dr/core/rds/errors";
import { parseRdsJobEvent } from "@gitpod-dr/core/rds/input";
import { type RdsJobSummary, runRdsSnapshotJob } from "@gitpod-dr/core/rds/job";
import { checkAwsCredentials } from "./aws-account.ts";
import { EXIT_OK, type Io } from "./command.ts";
import { formatRdsSummary } from "./format.ts";
import { loadStage, parseJobFlags } from "./stage.ts";

/** A logger for a terminal: warnings to stderr, nothing else. */
function terminalLogger(io: Io): JobLogger {
  return { info: () => undefined, warn: (message) => io.err(`warning: ${message}`) };
}

/** `gitpod-dr rds-snapshot --config F [--dry-run] [--time ISO] [--json]`. */
export async function rdsSnapshotCommand(args: string[], io: Io): Promise<number> {
  const values = parseJobFlags(args, { time: { type: "string" } });
  const { stage, config } = await loadStage(values.config, "rds-snapshot", io);
  const input = parseRdsJobEvent(
    { dryRun: values["dry-run"], ...(values.time === undefined ? {} : { time: values.time }) },
    new Date(),
  );
  const jobConfig = rdsJobConfig(stage, config);
  const cache = new ClientCache();
  await checkAwsCredentials(cache, config.regions.primary, io);
  const print = (summary: RdsJobSummary) =>
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatRdsSummary(summary));
  try {
    const summary = await runRdsSnapshotJob(input, jobConfig, {
      ...rdsJobClients(jobConfig, cache),
      logger: terminalLogger(io),
    });
    print(summary);
    return EXIT_OK;
  } catch (error) {
    if (error instanceof SnapshotJobIncompleteError && error.summary) print(error.summary as RdsJobSummary);
    throw error;
  }
}
