/**
 * What the simulated account holds before the first job (the database, the buckets and their
 * replication, the application's images in the primary registry, the RPO alarms), and how the world
 * moves between two jobs on the virtual clock (snapshots and copies finish, Velero works, S3 replicates,
 * backups sync to the other cluster's Velero from their shared storage location).
 */
import { rpoTargets } from "../../../core/src/config/catalog.ts";
import { METRIC_NAMESPACE, RECOVERY_POINT_AGE } from "../../../core/src/metrics.ts";
import type { KubeObject } from "../kube/server.ts";
import { backupContentsOf } from "../kube/velero-cluster.ts";
import { pushImage, randomLayer } from "../registry/images.ts";
import type { SimWorld } from "./world.ts";

const MINUTE_MS = 60_000;
/** A snapshot is available this long after it was started; a cross-region copy this long after its start. */
export const SNAPSHOT_MINUTES = 10;
export const COPY_MINUTES = 30;
/** Bytes of each seeded image's layer. */
export const IMAGE_LAYER_BYTES = 2 * 1024 * 1024;

export function rpoAlarmName(stage: string, tier: string): string {
  return `gitpod-dr-${stage}-rpo-${tier}`;
}

/** Splits `repo:tag` (references of restore.images are relative to the target registry). */
function repoAndTag(reference: string): [string, string] {
  const at = reference.lastIndexOf(":");
  return at > reference.lastIndexOf("/")
    ? [reference.slice(0, at), reference.slice(at + 1)]
    : [reference, "latest"];
}

export async function seedWorld(world: SimWorld): Promise<void> {
  const { config, account } = world;
  const primary = account.rds.region(config.regions.primary);
  const dr = account.rds.region(config.regions.dr);
  primary.databases.push({
    kind: config.database.kind === "cluster" ? "cluster" : "instance",
    identifier: config.database.identifier,
    encrypted: true,
    ...(config.database.kmsKeyArn ? { kmsKeyId: config.database.kmsKeyArn } : {}),
    status: "available",
    endpoint: {
      address: `${config.database.identifier}.c0ffee.${config.regions.primary}.rds.amazonaws.com`,
      port: 3306,
    },
  });
  for (const [name, target] of Object.entries(config.restore?.targets ?? {})) {
    if (target)
      (name === "dr" ? dr : primary).subnetGroups.add(target.database.subnetGroupName.toLowerCase());
  }
  const storage = config.storage;
  if (storage) {
    for (const [i, bucket] of storage.buckets.entries()) {
      const destination =
        storage.destinations?.buckets?.[i] ?? storage.destinations?.buckets?.[0] ?? `${bucket}-dr`;
      account.s3.replicatingPair(bucket, destination);
      for (let n = 0; n < 5; n++) account.s3.put(bucket, `workspaces/ws-${n}.tar`, `workspace ${n}`);
    }
  }
  const replica = config.restore?.targets.dr?.bucket;
  if (replica && !account.s3.buckets.has(replica.name)) {
    account.s3.bucket(replica.name, { region: replica.region, versioning: "Enabled" });
  }
  account.s3.replicate();
  if (world.registries) {
    const refs = config.restore?.images?.references ?? [];
    for (const [i, reference] of refs.entries()) {
      const [repo, tag] = repoAndTag(reference);
      await pushImage(world.registries.primary.host, repo, tag, {
        scheme: "http",
        layers: [randomLayer(IMAGE_LAYER_BYTES, { seed: 1000 + i, gzip: false })],
      });
    }
  }
  for (const [tier, ms] of Object.entries(rpoTargets(config))) {
    account.cloudwatch.defineAlarm({
      name: rpoAlarmName(world.stage, tier),
      region: config.regions.dr,
      namespace: METRIC_NAMESPACE,
      metric: RECOVERY_POINT_AGE,
      dimensions: { Stage: world.stage, Tier: tier },
      threshold: Math.round(ms / 1000),
      periodSeconds: 1800,
    });
  }
}

/** How the world moves between two jobs on the virtual clock. */
export class WorldMotion {
  /** What each backup holds (read when Velero started it), for the other cluster's Velero too. */
  readonly #contents = new Map<string, KubeObject[]>();
  replicationStopped = false;

  constructor(private readonly world: SimWorld) {}

  /** How many objects the backup holds (0 when this rehearsal did not make it). */
  items(backup: string): number {
    return this.#contents.get(backup)?.length ?? 0;
  }

  /** The world as it is at `now`: what AWS, Velero and S3 did since the last job. */
  advance(now: Date): void {
    const { config, account } = this.world;
    for (const name of [config.regions.primary, config.regions.dr]) {
      if (account.lostRegions.has(name)) continue;
      const region = account.rds.region(name);
      for (const list of Object.values(region.snapshots)) {
        for (const s of list) {
          const since = now.getTime() - (s.copiedAt ?? s.createdAt).getTime();
          const due = (s.sourceArn ? COPY_MINUTES : SNAPSHOT_MINUTES) * MINUTE_MS;
          if (["creating", "pending", "copying"].includes(s.status) && since >= due) s.status = "available";
        }
      }
    }
    if (!this.replicationStopped) account.s3.replicate();
    if (account.lostRegions.has(this.world.primary.region)) return;
    this.#velero(now);
  }

  #velero(now: Date): void {
    const config = this.world.config;
    const namespace = config.application?.velero.namespace ?? "velero";
    const included = config.application?.velero.includedNamespaces ?? ["gitpod"];
    const source = this.world.primary.api;
    source.store.setNow(now);
    this.world.dr?.api.store.setNow(now);
    for (const backup of source.store.list("velero.io/v1", "Backup", namespace)) {
      const name = backup.metadata.name as string;
      if (!this.#contents.has(name)) {
        const contents = backupContentsOf(source.store, included);
        this.#contents.set(name, contents);
        source.velero.setBackupContents(name, contents);
      }
    }
    source.velero.tick();
    // Velero's backup sync: the other cluster's Velero lists the finished backups of the shared location.
    const dr = this.world.dr?.api;
    if (!dr) return;
    for (const backup of source.store.list("velero.io/v1", "Backup", namespace)) {
      const phase = (backup.status as { phase?: string } | undefined)?.phase ?? "";
      const name = backup.metadata.name as string;
      if (!["Completed", "PartiallyFailed", "Failed"].includes(phase)) continue;
      if (dr.store.get("velero.io/v1", "Backup", namespace, name)) continue;
      const {
        uid: _u,
        resourceVersion: _r,
        generation: _g,
        managedFields: _m,
        ...metadata
      } = backup.metadata as Record<string, unknown>;
      dr.store.put({ ...backup, metadata } as KubeObject);
      dr.velero.setBackupContents(name, this.#contents.get(name) ?? []);
    }
  }
}
