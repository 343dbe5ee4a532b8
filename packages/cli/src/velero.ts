import { parseArgs } from "node:util";
import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { veleroJobConfig } from "@gitpod-dr/core/config/application";
import type { StageConfig } from "@gitpod-dr/core/config/stage";
import type { JobLogger } from "@gitpod-dr/core/logger";
import { listOurBackups, runVeleroBackupJob, type VeleroBackupSummary } from "@gitpod-dr/core/velero/backup";
import { clusterAccess } from "@gitpod-dr/core/velero/clients";
import { parseVeleroBackupEvent } from "@gitpod-dr/core/velero/input";
import type { KubeOps } from "@gitpod-dr/core/velero/kube";
import { checkAwsCredentials } from "./aws-account.ts";
import { loadStageSection, parseJobFlags } from "./stage.ts";

export interface VeleroIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** How the CLI reaches the cluster; tests give their own. */
export type ConnectCluster = (config: StageConfig, io: VeleroIo) => Promise<KubeOps>;

/** From a laptop: EKS in the stage's primary region, with the AWS credentials in the environment (checked first). */
export const connectWithAwsCredentials: ConnectCluster = async (config, io) => {
  const application = config.application as NonNullable<StageConfig["application"]>;
  const cache = new ClientCache();
  await checkAwsCredentials(cache, config.regions.primary, io);
  return clusterAccess(cache, application.cluster.name, config.regions.primary);
};

/** The stage configuration and the job's application settings, derived as the stack derives the function's. */
async function load(file: string | undefined, command: string, io: VeleroIo) {
  const { stage, config } = await loadStageSection(
    file,
    command,
    "application",
    "there is no cluster to back up",
    io,
  );
  return { config, application: veleroJobConfig(stage, config).application };
}

const age = (minutes: number | undefined) =>
  minutes === undefined
    ? "age unknown"
    : minutes < 120
      ? `${minutes} min old`
      : minutes < 2880
        ? `${Math.floor(minutes / 60)} h old`
        : `${Math.floor(minutes / 1440)} d old`;

export function formatVeleroSummary(s: VeleroBackupSummary): string {
  const lines = [
    `Velero backup of cluster ${s.cluster}, window ${s.window}${s.dryRun ? "  [dry run: nothing was created]" : ""}`,
    `  backup: ${s.backup.name} (${s.dryRun ? (s.backup.alreadyExisted ? "exists" : "would be created") : s.backup.created ? "created" : "already existed"})`,
    `  Velero ${s.veleroVersion}${s.kots ? ", with KOTS snapshot annotations" : ""}`,
    s.previous
      ? `  previous backup: ${s.previous.name}: ${s.previous.phase}, ${age(s.previous.ageMinutes)}, ${s.previous.errors} error(s), ${s.previous.warnings} warning(s)${s.previous.failureReason ? `, ${s.previous.failureReason}` : ""}`
      : "  previous backup: none (the first backup by gitpod-dr)",
  ];
  return lines.join("\n");
}

/** `gitpod-dr velero-backup --config F [--dry-run] [--time ISO] [--json]`. */
export async function veleroBackupCommand(
  args: string[],
  io: VeleroIo,
  connect: ConnectCluster = connectWithAwsCredentials,
): Promise<number> {
  const values = parseJobFlags(args, { time: { type: "string" } });
  const { config, application } = await load(values.config, "velero-backup", io);
  const input = parseVeleroBackupEvent(
    { dryRun: values["dry-run"], ...(values.time === undefined ? {} : { time: values.time }) },
    new Date(),
  );
  const kube = await connect(config, io);
  const logger: JobLogger = { info: () => undefined, warn: (m) => io.err(`warning: ${m}`) };
  const print = (summary: VeleroBackupSummary) =>
    io.out(values.json ? JSON.stringify(summary, null, 2) : formatVeleroSummary(summary));
  try {
    const summary = await runVeleroBackupJob(input, application, kube, { logger });
    print(summary);
    return 0;
  } catch (error) {
    const summary = (error as { summary?: VeleroBackupSummary }).summary;
    if (summary) print(summary);
    throw error;
  }
}

/** `gitpod-dr velero-status --config F [--json]`: the newest backups by gitpod-dr, with phase and age. */
export async function veleroStatusCommand(
  args: string[],
  io: VeleroIo,
  connect: ConnectCluster = connectWithAwsCredentials,
): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: { config: { type: "string" }, json: { type: "boolean", default: false } },
  });
  const { config, application } = await load(values.config, "velero-status", io);
  const kube = await connect(config, io);
  const backups = await listOurBackups(kube, application.velero.namespace, new Date());
  if (values.json) {
    io.out(JSON.stringify(backups, null, 2));
  } else if (backups.length === 0) {
    io.out(
      `No Velero backups by gitpod-dr in namespace ${application.velero.namespace} of cluster ${application.cluster.name}`,
    );
  } else {
    io.out(`Velero backups by gitpod-dr on cluster ${application.cluster.name} (newest first):`);
    for (const b of backups) {
      io.out(
        `  ${b.name}  ${b.phase.padEnd(16)} ${age(b.ageMinutes).padStart(11)}  ${b.errors} error(s), ${b.warnings} warning(s)${b.failureReason ? `  ${b.failureReason}` : ""}`,
      );
    }
  }
  return backups.some(
    (b) => b.phase === "Failed" || b.phase === "PartiallyFailed" || b.phase === "FailedValidation",
  )
    ? 1
    : 0;
}
