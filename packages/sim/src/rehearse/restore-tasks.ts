/**
 * The restore state machine's task functions for a rehearsal: each is the core call its Lambda handler
 * (packages/functions/src/restore-*.ts) makes, with the simulated account's clients and the virtual
 * clock instead of the handler's environment and cold-start clients, and the error mapping of the
 * handlers' `taskHandler` (secrets scrubbed; retryable errors become `Transient`, which the states retry).
 */
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { EC2Client } from "@aws-sdk/client-ec2";
import { KMSClient } from "@aws-sdk/client-kms";
import { RDSClient } from "@aws-sdk/client-rds";
import { SNSClient } from "@aws-sdk/client-sns";
import { catalogStore } from "../../../core/src/catalog/clients.ts";
import { catalogConfig } from "../../../core/src/config/catalog.ts";
import { type RestoreJobConfig, restoreJobConfig } from "../../../core/src/config/restore.ts";
import { publishNotification } from "../../../core/src/notify/failure.ts";
import { redactError } from "../../../core/src/notify/secrets.ts";
import { registryTransports } from "../../../core/src/registry/clients.ts";
import { applicationEvent, applicationStep } from "../../../core/src/restore/application-step.ts";
import { buildPlan } from "../../../core/src/restore/build-plan.ts";
import { checkDatabaseStep, databaseEvent, restoreDatabaseStep } from "../../../core/src/restore/database.ts";
import { TransientError } from "../../../core/src/restore/errors.ts";
import { ensureImage, imageEvent } from "../../../core/src/restore/images.ts";
import { notifyEvent, notifyRestore } from "../../../core/src/restore/notify.ts";
import { planEvent, validateRestore } from "../../../core/src/restore/validate.ts";
import { clusterAccess } from "../../../core/src/velero/clients.ts";
import type { RestoreFunction } from "../restore/machine.ts";
import { ACCOUNT } from "../synth.ts";
import { topicArn } from "./jobs.ts";
import type { SimWorld } from "./world.ts";

export type RestoreTask = (event: unknown) => Promise<unknown>;

/**
 * `fetch` of the simulation: 127.0.0.1 only; the application's health URL (restore.application.healthUrl)
 * answered as the restored Gitpod does once it runs (the simulated cluster has no Gitpod server to ask).
 */
export function localFetch(healthUrl: string | undefined): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (healthUrl && url.href === new URL(healthUrl).href) {
      return new Response('{"version":"rehearsal"}', {
        status: 200,
        headers: { "Content-Type": "application/json" },
      });
    }
    if (url.hostname !== "127.0.0.1")
      throw new TypeError(`the simulation reaches only 127.0.0.1, not ${url.host}`);
    return globalThis.fetch(input, init);
  };
}

/** The restore functions' configuration, as stacks/Restore.ts derives it. */
export function restoreConfigOf(world: SimWorld): RestoreJobConfig {
  return restoreJobConfig(world.stage, ACCOUNT, world.config, catalogConfig(world.stage, world.config));
}

/** The five task functions over the world, reading the virtual clock `now`, deployed in `home`. */
export function restoreTasks(
  world: SimWorld,
  now: () => Date,
  home: string,
): Record<RestoreFunction, RestoreTask> {
  const config = restoreConfigOf(world);
  const cache = world.account.cache;
  const rds = (region: string) => cache.client(RDSClient, region);
  const kube = (cluster: string, region: string) => clusterAccess(cache, cluster, region);
  const catalog = catalogStore(config.catalog, cache);
  const tasks: Record<RestoreFunction, RestoreTask> = {
    plan: async (raw) => {
      const e = planEvent.parse(raw);
      if (e.action === "validate") {
        return { request: await validateRestore(e, config, { rds, ...(catalog ? { catalog } : {}) }) };
      }
      return buildPlan(e.request, config, {
        rds,
        ec2: (region: string) => cache.client(EC2Client, region),
        kms: (region: string) => cache.client(KMSClient, region),
        kube,
      } as never);
    },
    database: async (raw) => {
      const e = databaseEvent.parse(raw);
      if (e.action === "start")
        return restoreDatabaseStep(rds(e.region), e.restoreId, e.region, e.database, now());
      return checkDatabaseStep(
        rds(e.region),
        e.restoreId,
        e.region,
        e.database,
        e.started.startedAt,
        config.restore.database.deadlineMinutes,
        now(),
      );
    },
    image: async (raw) => {
      const { item } = imageEvent.parse(raw);
      const transports = registryTransports(cache, {
        insecure: config.restore.images?.insecureRegistries ?? [],
      });
      return ensureImage(
        { reference: item.reference, ...(item.source ? { source: item.source } : {}) },
        transports,
        {
          now,
        },
      );
    },
    application: async (raw) =>
      applicationStep(applicationEvent.parse(raw), config, {
        kube,
        cloudwatch: (region: string) => cache.client(CloudWatchClient, region),
        fetch: localFetch(config.restore.application.healthUrl),
        now,
      }),
    notify: async (raw) =>
      notifyRestore(
        notifyEvent.parse(raw),
        { stage: config.stage, region: home, now: now() },
        {
          rds,
          kube,
          publish: (notification) =>
            publishNotification(cache.client(SNSClient, home), topicArn(world, home), notification),
        },
      ),
  };
  return Object.fromEntries(
    Object.entries(tasks).map(([name, task]) => [
      name,
      async (event: unknown) => {
        try {
          return await task(event);
        } catch (error) {
          if (!(error instanceof Error)) throw error;
          redactError(error);
          const retryable = (error as { retryable?: boolean }).retryable === true;
          if (retryable && error.name !== "Transient") {
            throw new TransientError(`${error.name}: ${error.message}`, { cause: error });
          }
          throw error;
        }
      },
    ]),
  ) as Record<RestoreFunction, RestoreTask>;
}
