/**
 * The scenarios: how each one breaks the world, what restore it starts, and what the tool must have done
 * for the verdict to pass.
 */
import { snapshotIdentifier } from "../../../core/src/rds/naming.ts";
import { backupName } from "../../../core/src/velero/naming.ts";
import { DAY_MS, firings, VIRTUAL_START } from "./clock.ts";
import type { RestoreRun } from "./restore-run.ts";
import type { WorldMotion } from "./seed.ts";
import type {
  RehearsalAlarm,
  RehearsalBackup,
  RehearsalFinding,
  RehearsalReport,
  RehearsalTier,
  ScenarioName,
} from "./types.ts";
import type { SimWorld } from "./world.ts";

export interface Disaster {
  readonly text: string;
  /** The restore's input. */
  readonly input: Record<string, unknown>;
  readonly detail?: Record<string, unknown>;
}

export interface JudgeContext {
  readonly run: RestoreRun;
  readonly disaster: Disaster;
  readonly rpo: RehearsalReport["rpo"];
  readonly backups: readonly RehearsalBackup[];
  readonly alarms: readonly RehearsalAlarm[];
  readonly disasterAt: Date;
  readonly findings: readonly RehearsalFinding[];
}

export interface ScenarioPlay {
  readonly expectation: string;
  /** Tiers the scenario breaks on purpose (their RPO alarms are expected, not findings). */
  readonly breaks?: readonly RehearsalTier[];
  /** The restore's target (where kotsadm runs for it). */
  readonly target: "primary" | "dr";
  prepare?(world: SimWorld, motion: WorldMotion, disasterAt: Date): Promise<void> | void;
  beforeJob?(world: SimWorld, motion: WorldMotion, time: Date, job: string): Promise<void> | void;
  disaster(world: SimWorld, at: Date): Promise<Disaster> | Disaster;
  judge(
    world: SimWorld,
    context: JudgeContext,
  ): Promise<{ reasons: string[]; recoveryPoint: RehearsalReport["recoveryPoint"] }>;
}

interface PlanLike {
  database?: { identifier?: string; snapshot?: { identifier?: string; createdAt?: string; window?: string } };
  application?: { backup?: { name?: string; takenAt?: string } };
  images?: { items?: unknown[] };
  recoveryPoint?: { recoveryTime?: string };
}

const planOf = (run: RestoreRun) =>
  (run.calls.find((c) => c.state === "Build plan")?.result ?? {}) as PlanLike;

function recoveryPointOf(run: RestoreRun): RehearsalReport["recoveryPoint"] {
  const plan = planOf(run);
  const request = (
    run.calls.find((c) => c.state === "Validate input")?.result as { request?: PlanLike } | undefined
  )?.request;
  const snapshot = plan.database?.snapshot;
  return {
    recoveryTime: request?.recoveryPoint?.recoveryTime ?? snapshot?.createdAt ?? snapshot?.window ?? null,
    ...(snapshot?.identifier ? { database: snapshot.identifier } : {}),
    ...(plan.application?.backup?.name ? { application: plan.application.backup.name } : {}),
  };
}

/** The common end state of a restore: it succeeded, and each planned tier is in place in the target. */
async function restored(world: SimWorld, run: RestoreRun, target: "primary" | "dr"): Promise<string[]> {
  const reasons: string[] = [];
  if (run.status !== "SUCCEEDED") {
    const failed = run.calls.filter((c) => c.error).map((c) => `${c.state}: ${c.error}`);
    reasons.push(`the restore ended ${run.status}: ${run.error ?? ""} (${failed.join("; ")})`);
    return reasons;
  }
  const plan = planOf(run);
  const region = target === "dr" ? world.config.regions.dr : world.config.regions.primary;
  const id = plan.database?.identifier;
  if (id) {
    const db = world.account.rds.region(region).databases.find((d) => d.identifier === id.toLowerCase());
    if (db?.status !== "available") reasons.push(`the restored database ${id} is not available in ${region}`);
  }
  const cluster = target === "dr" ? world.dr : world.primary;
  const ns = world.config.restore?.application.namespace ?? "gitpod";
  if (plan.application && cluster) {
    const deployments = cluster.api.store
      .list("apps/v1", "Deployment", ns)
      .filter((d) => d.metadata.name !== "kotsadm");
    if (deployments.length === 0)
      reasons.push(`no application Deployment in ${cluster.name}/${ns} after the restore`);
  }
  return reasons;
}

/** Deletes `repo:tag` from a local docker-registry (started with deletes enabled): the DR copy is gone. */
async function deleteImage(host: string, reference: string): Promise<void> {
  const at = reference.lastIndexOf(":");
  const [repo, tag] = [reference.slice(0, at), reference.slice(at + 1)];
  const head = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
    method: "HEAD",
    headers: {
      Accept:
        "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
    },
  });
  const digest = head.headers.get("docker-content-digest");
  if (!head.ok || !digest)
    throw new Error(`${reference} is not in the DR registry ${host} (HTTP ${head.status})`);
  const deleted = await fetch(`http://${host}/v2/${repo}/manifests/${digest}`, { method: "DELETE" });
  if (deleted.status !== 202)
    throw new Error(`unable to delete ${reference} from ${host}: HTTP ${deleted.status}`);
}

/** The backup the failed-velero-backup scenario made fail, per world. */
const failedBackups = new WeakMap<SimWorld, string>();

const loseRegion = (world: SimWorld) => {
  world.account.lostRegions.add(world.config.regions.primary);
};

const regionLoss: ScenarioPlay = {
  expectation:
    "the primary region is lost: the restore brings database, images and application back in the DR region",
  target: "dr",
  disaster: (world) => {
    loseRegion(world);
    return {
      text: `region ${world.config.regions.primary} lost (RDS, S3, EKS, the registry: unreachable)`,
      input: { target: "dr" },
    };
  },
  judge: async (world, { run }) => ({
    reasons: await restored(world, run, "dr"),
    recoveryPoint: recoveryPointOf(run),
  }),
};

export const SCENARIO_PLAYS: Record<ScenarioName, ScenarioPlay> = {
  "region-loss": regionLoss,
  "db-corruption": {
    expectation:
      "bad data written at a known time: the database alone is restored in place from the snapshot taken before it",
    target: "primary",
    disaster: (world, at) => {
      const bad = new Date(at.getTime() - 2 * 3_600_000);
      const before = world.account.rds
        .region(world.config.regions.primary)
        .snapshots[world.config.database.kind === "cluster" ? "cluster" : "instance"].filter(
          (s) => s.status === "available" && s.createdAt.getTime() < bad.getTime(),
        )
        .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())[0];
      const dbSnapshot = before?.identifier ?? snapshotIdentifier(world.config.database.identifier, bad);
      return {
        text: `bad data written to ${world.config.database.identifier} at ${bad.toISOString()}`,
        input: { target: "primary", tiers: ["database"], dbSnapshot },
        detail: { bad: bad.toISOString(), dbSnapshot },
      };
    },
    judge: async (world, { run, disaster }) => {
      const reasons = await restored(world, run, "primary");
      const used = planOf(run).database?.snapshot?.identifier;
      if (used !== disaster.detail?.dbSnapshot)
        reasons.push(`the restore used ${used}, not ${String(disaster.detail?.dbSnapshot)}`);
      return { reasons, recoveryPoint: recoveryPointOf(run) };
    },
  },
  "broken-replication": {
    ...regionLoss,
    expectation:
      "S3 replication stops on day 2: the objectStorage RPO alarm fires and its recovery point stops advancing",
    breaks: ["objectStorage"],
    beforeJob: (_world, motion, time) => {
      // Day 2 of the rehearsal: the replication rule's role loses its permissions, say.
      if (time.getTime() >= VIRTUAL_START.getTime() + DAY_MS) motion.replicationStopped = true;
    },
    judge: async (world, context) => {
      const reasons: string[] = [];
      const name = `gitpod-dr-${world.stage}-rpo-objectStorage`;
      if (!context.alarms.some((a) => a.name === name && a.state === "ALARM"))
        reasons.push(`${name} never went to ALARM`);
      const age = context.rpo.objectStorage;
      if (age === null || age < 24 * 3600)
        reasons.push(`the objectStorage recovery point kept advancing (age ${age} s at the disaster)`);
      return { reasons, recoveryPoint: recoveryPointOf(context.run) };
    },
  },
  "failed-velero-backup": {
    ...regionLoss,
    expectation:
      "a Velero backup ends PartiallyFailed: an alert goes out and the restore uses the previous good backup",
    prepare: (world, _motion, disasterAt) => {
      // The backup of the day before the disaster's day ends PartiallyFailed; the next run reports it.
      const schedule = world.config.application?.schedule;
      const runs = schedule ? firings(schedule, VIRTUAL_START, disasterAt) : [];
      const time = runs.at(-2);
      if (!time)
        throw new Error(
          "failed-velero-backup needs two application backups before the disaster: --days 2 or more",
        );
      failedBackups.set(world, backupName(time));
      world.primary.api.velero.planBackup(backupName(time), [
        { phase: "InProgress" },
        { phase: "PartiallyFailed", status: { errors: 2, warnings: 1 } },
      ]);
    },
    judge: async (world, context) => {
      const reasons = await restored(world, context.run, "dr");
      const failed = failedBackups.get(world) ?? "";
      if (
        !world.account.messages.some((m) => m.body.includes(failed) || m.subject.includes("PartiallyFailed"))
      )
        reasons.push(`no alert named the PartiallyFailed backup ${failed}`);
      const used = planOf(context.run).application?.backup?.name;
      if (used === failed) reasons.push(`the restore used the PartiallyFailed backup ${failed}`);
      return { reasons, recoveryPoint: recoveryPointOf(context.run) };
    },
  },
  "image-missing": {
    expectation:
      "the DR registry lacks an image the application needs: Ensure images copies it before the application starts",
    target: "dr",
    disaster: async (world) => {
      const ref = world.config.restore?.images?.references.at(-1) ?? "";
      if (world.registries) await deleteImage(world.registries.dr.host, ref);
      return {
        text: `the DR registry lacks ${ref} (never synced), the primary region still answers`,
        input: { target: "dr" },
        detail: { reference: ref },
      };
    },
    judge: async (world, { run, disaster }) => {
      const reasons = await restored(world, run, "dr");
      const ensured = run.calls
        .filter((c) => c.state === "Ensure image")
        .map((c) => c.result as { reference?: string; status?: string });
      const ref = String(disaster.detail?.reference ?? "");
      if (!ensured.some((e) => e?.reference?.endsWith(ref) && e.status === "copied"))
        reasons.push(`Ensure images did not copy ${ref} (${JSON.stringify(ensured)})`);
      return { reasons, recoveryPoint: recoveryPointOf(run) };
    },
  },
};
