import { ClientCache } from "@gitpod-dr/core/aws/cache";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import { storageJobConfig } from "@gitpod-dr/core/config/storage";
import { storageClients } from "@gitpod-dr/core/s3/clients";
import { ReplicationUnhealthyError } from "@gitpod-dr/core/s3/errors";
import { runStorageCheck, type StorageCheckSummary, type StorageDeps } from "@gitpod-dr/core/s3/job";
import { checkAwsCredentials } from "./aws-account.ts";
import type { Io } from "./command.ts";
import { loadStageSection, parseJobFlags } from "./stage.ts";

export interface StorageIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** How the CLI gets its clients and account; tests give their own. */
export type StorageConnect = (config: StageConfig, io: Io) => Promise<{ deps: StorageDeps; account: string }>;

/** With the AWS credentials of the environment, checked first. */
export const connectWithAwsCredentials: StorageConnect = async (config, io) => {
  const cache = new ClientCache();
  const { account } = await checkAwsCredentials(cache, config.regions.primary, io);
  return { account, deps: storageClients(config, cache) };
};

/** The findings as a table: bucket, health, check, severity, message. */
export function formatStorageSummary(s: StorageCheckSummary): string {
  const lines = [
    `S3 replication check of stage ${s.stage}: ${s.health.toUpperCase()}${s.dryRun ? "  [dry run: no canary written, no job started]" : ""}`,
    `  ${s.buckets.length} bucket(s), ${s.discoveredBuckets} discovered by prefix, ${s.buckets.filter((b) => b.canaryWritten).length} canary(ies) written this run`,
    "",
  ];
  const rows = [["BUCKET", "HEALTH", "CANARY", "SAMPLE", "REPAIR"]];
  for (const b of s.buckets) {
    const sample =
      b.sample && Object.keys(b.sample).length > 0
        ? Object.entries(b.sample)
            .map(([k, v]) => `${k}:${v}`)
            .join(" ")
        : "-";
    const canary =
      b.secondsSinceReplicatedCanary !== undefined
        ? `${Math.round(b.secondsSinceReplicatedCanary / 60)} min ago`
        : "-";
    rows.push([
      b.bucket,
      b.health,
      canary,
      sample,
      b.repairJob ? `${b.repairJob.id} ${b.repairJob.status}` : "-",
    ]);
  }
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows)
    lines.push(`  ${r.map((c, i) => c.padEnd(widths[i] as number)).join("  ")}`.trimEnd());
  if (s.findings.length > 0) {
    lines.push("", "Findings:");
    for (const f of s.findings)
      lines.push(`  ${f.severity === "failure" ? "FAIL" : "warn"}  ${f.check.padEnd(24)} ${f.message}`);
  }
  return lines.join("\n");
}

/** `gitpod-dr s3-check --config F [--dry-run] [--json]`. */
export async function s3CheckCommand(
  args: string[],
  io: StorageIo,
  connect: StorageConnect = connectWithAwsCredentials,
): Promise<number> {
  const values = parseJobFlags(args, {});
  const { stage, config } = await loadStageSection(
    values.config,
    "s3-check",
    "storage",
    "there are no buckets to check",
    io,
  );
  const { deps, account } = await connect(config, io);
  // From a laptop no repair job is started: that needs the batch role the stack creates.
  const jobConfig = storageJobConfig(stage, account, config);
  const print = (summary: StorageCheckSummary) =>
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatStorageSummary(summary));
  try {
    const summary = await runStorageCheck({ dryRun: values["dry-run"] ?? false }, jobConfig, deps);
    print(summary);
    return 0;
  } catch (error) {
    if (error instanceof ReplicationUnhealthyError) {
      print(error.summary);
      return 1;
    }
    throw error;
  }
}
