/**
 * The stage's scheduled jobs, run at their virtual times through the core job functions the Lambda
 * handlers call (with the simulated account's clients and the virtual clock), and a failure published
 * exactly as the functions' failure middleware formats it (`buildFailureNotification`).
 */

import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { RDSClient } from "@aws-sdk/client-rds";
import { SNSClient } from "@aws-sdk/client-sns";
import { catalogStore } from "../../../core/src/catalog/clients.ts";
import { parseWatchdogEvent, runWatchdog } from "../../../core/src/catalog/watchdog.ts";
import { veleroJobConfig } from "../../../core/src/config/application.ts";
import { type CatalogConfig, catalogConfig } from "../../../core/src/config/catalog.ts";
import { imageJobConfig, imageJobConfigSchema } from "../../../core/src/config/images.ts";
import { rdsJobConfig } from "../../../core/src/config/rds.ts";
import { storageJobConfig } from "../../../core/src/config/storage.ts";
import { watchdogJobConfig } from "../../../core/src/config/watchdog.ts";
import { buildFailureNotification, publishNotification } from "../../../core/src/notify/failure.ts";
import { redactError } from "../../../core/src/notify/secrets.ts";
import { rdsJobClients } from "../../../core/src/rds/clients.ts";
import { parseRdsJobEvent } from "../../../core/src/rds/input.ts";
import { runRdsSnapshotJob } from "../../../core/src/rds/job.ts";
import { imageSyncDeps } from "../../../core/src/registry/clients.ts";
import { runImageSyncJob } from "../../../core/src/registry/job.ts";
import { storageClients } from "../../../core/src/s3/clients.ts";
import { parseStorageCheckEvent } from "../../../core/src/s3/input.ts";
import { runStorageCheck } from "../../../core/src/s3/job.ts";
import { runVeleroBackupJob } from "../../../core/src/velero/backup.ts";
import { clusterAccess } from "../../../core/src/velero/clients.ts";
import { parseVeleroBackupEvent } from "../../../core/src/velero/input.ts";
import { scheduledEventFor } from "../lambda.ts";
import { ACCOUNT } from "../synth.ts";
import type { RehearsalTier } from "./types.ts";
import type { SimWorld } from "./world.ts";

/** Every 15 minutes, in the DR region (stacks/Catalog.ts). */
export const WATCHDOG_SCHEDULE = "rate(15 minutes)";

export interface ScheduledJob {
  /** The job's name in notifications (the function's `job`). */
  readonly job: string;
  readonly tier: RehearsalTier | "watchdog";
  readonly schedule: string;
  /** Where the function runs. */
  readonly region: string;
  /** One run at `time` (the scheduled time; the clock reads the same). Returns a one-line summary. */
  run(time: Date): Promise<string>;
}

/** The alerts topic of the stage's stack in `region` (the primary's, or the standby's in the DR region). */
export function topicArn(world: SimWorld, region: string): string {
  return `arn:aws:sns:${region}:${ACCOUNT}:gitpod-dr-${world.stage}-alerts`;
}

/** The jobs the stage configures, as its stacks deploy them. */
export function scheduledJobs(world: SimWorld): ScheduledJob[] {
  const { stage, config, account } = world;
  const cache = account.cache;
  const catalog: CatalogConfig = catalogConfig(stage, config);
  const store = catalogStore(catalog, cache);
  const withCatalog = store ? { catalog: store } : {};
  const event = (job: string, region: string, time: Date) =>
    scheduledEventFor(`gitpod-dr-${stage}-${job}`, { time: time.toISOString(), region, account: ACCOUNT });
  const jobs: ScheduledJob[] = [];
  const rds = rdsJobConfig(stage, config, catalog);
  jobs.push({
    job: "rds-snapshot",
    tier: "database",
    schedule: config.schedules.rdsSnapshot,
    region: config.regions.primary,
    run: async (time) => {
      const input = parseRdsJobEvent(event("rds-snapshot", config.regions.primary, time), time);
      const summary = await runRdsSnapshotJob(input, rds, {
        ...rdsJobClients(rds, cache),
        now: () => time,
      });
      const s = summary as unknown as {
        snapshot?: { identifier?: string };
        copies?: { started?: unknown[] };
      };
      return `RDS snapshot ${s.snapshot?.identifier ?? ""}`.trim();
    },
  });
  if (config.storage) {
    const storage = storageJobConfig(stage, ACCOUNT, config, undefined, catalog);
    jobs.push({
      job: "s3-check",
      tier: "objectStorage",
      schedule: config.storage.schedule,
      region: config.regions.primary,
      run: async (time) => {
        const report = await runStorageCheck(
          parseStorageCheckEvent(event("s3-check", config.regions.primary, time)),
          storage,
          storageClients(storage, cache),
          { now: time, random: () => 0.5 },
        );
        const r = report as unknown as { verdict?: string; status?: string };
        return `S3 replication check: ${r.verdict ?? r.status ?? "done"}`;
      },
    });
  }
  if (config.images) {
    const images = imageJobConfigSchema.parse(imageJobConfig(stage, config.images, catalog));
    jobs.push({
      job: "image-sync",
      tier: "images",
      schedule: config.images.schedule,
      region: config.regions.primary,
      run: async (time) => {
        const summary = await runImageSyncJob(
          images,
          imageSyncDeps(images, cache, { insecure: images.images.insecureRegistries }),
          { now: () => time, ...withCatalog },
        );
        const s = summary as unknown as { copied?: number; upToDate?: number; images?: unknown[] };
        return `image sync: ${JSON.stringify({ copied: s.copied, upToDate: s.upToDate })}`;
      },
    });
  }
  if (config.application) {
    const velero = veleroJobConfig(stage, config, catalog);
    jobs.push({
      job: "velero-backup",
      tier: "application",
      schedule: config.application.schedule,
      region: config.regions.primary,
      run: async (time) => {
        const kube = await clusterAccess(cache, velero.application.cluster.name, velero.region);
        const input = parseVeleroBackupEvent(event("velero-backup", config.regions.primary, time), time);
        const result = await runVeleroBackupJob(input, velero.application, kube, {
          now: () => time,
          ...withCatalog,
        });
        const r = result as unknown as { backup?: { name?: string }; name?: string };
        return `Velero backup ${r.backup?.name ?? r.name ?? ""}`.trim();
      },
    });
  }
  const watchdog = watchdogJobConfig(stage, config, catalog);
  jobs.push({
    job: "rpo-watchdog",
    tier: "watchdog",
    schedule: WATCHDOG_SCHEDULE,
    region: catalog.region,
    run: async (time) => {
      parseWatchdogEvent(event("rpo-watchdog", catalog.region, time));
      if (!store) throw new Error("unreachable: the watchdog always has its catalog");
      const report = await runWatchdog(watchdog, {
        store,
        rdsDr: cache.client(RDSClient, catalog.region),
        cloudwatch: cache.client(CloudWatchClient, catalog.region),
        now: () => time,
      });
      const tiers = (report as unknown as { tiers?: { tier: string; ageSeconds?: number }[] }).tiers ?? [];
      return `RPO watchdog: ${tiers.map((t) => `${t.tier} ${t.ageSeconds === undefined ? "none" : `${Math.round(t.ageSeconds / 60)} min`}`).join(", ")}`;
    },
  });
  return jobs;
}

/**
 * Runs one job at `time`; a failure is published to the alerts topic as the failure middleware does, and
 * returned (not thrown: the schedule goes on, as EventBridge's does).
 */
export async function runJob(
  world: SimWorld,
  job: ScheduledJob,
  time: Date,
): Promise<{ ok: true; text: string } | { ok: false; error: Error }> {
  try {
    return { ok: true, text: await job.run(time) };
  } catch (raw) {
    const error = raw instanceof Error ? raw : new Error(String(raw));
    redactError(error);
    const functionName = `gitpod-dr-${world.stage}-${job.job}`;
    const notification = buildFailureNotification(
      {
        job: job.job,
        stage: world.stage,
        account: ACCOUNT,
        region: job.region,
        functionName,
        requestId: `rehearsal-${job.job}-${time.getTime()}`,
        logGroupName: `/aws/lambda/${functionName}`,
        logStreamName: `${time.toISOString().slice(0, 10).replaceAll("-", "/")}/[$LATEST]rehearsal`,
        time,
      },
      error,
    );
    const sns = world.account.cache.client(SNSClient, job.region);
    await publishNotification(sns, topicArn(world, job.region), notification).catch(() => undefined);
    return { ok: false, error };
  }
}
