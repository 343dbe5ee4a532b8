import type { RDSClient } from "@aws-sdk/client-rds";
import * as z from "zod";
import type { CatalogStore } from "../catalog/store.ts";
import type { RestoreJobConfig } from "../config.ts";
import { InvalidInputError } from "../errors.ts";
import { snapshotApi } from "../rds/api.ts";
import { TAG_WINDOW } from "../rds/naming.ts";
import type { DatabaseKind } from "../rds/types.ts";
import { resolveRestoreSnapshot } from "./database.ts";
import { planDatabase } from "./database-plan.ts";
import { RestoreSnapshotNotFoundError } from "./errors.ts";
import { parseRestoreInput } from "./input.ts";
import { chooseRecoveryPoint } from "./recovery-point.ts";
import { passedOn, type RestoreRequest } from "./types.ts";

/**
 * The "Validate input" state: the input's shape, then what it names checked against the target
 * region (the snapshot exists and is available, the target identifier is free or this restore's own,
 * the DB subnet group exists). Every problem is collected; nothing is created.
 */

export interface ValidateDeps {
  /** An RDS client in the given region. */
  readonly rds: (region: string) => RDSClient;
  /** The recovery-point catalog (when the configuration names one): `{}` restores its newest point. */
  readonly catalog?: CatalogStore;
}

/** "Validate input" and "Build plan". */
export const planEvent = z.discriminatedUnion("action", [
  z.object({
    action: z.literal("validate"),
    input: z.unknown(),
    executionName: z.string(),
    executionStartedAt: z.string(),
  }),
  z.object({ action: z.literal("plan"), request: passedOn<RestoreRequest>() }),
]);

export interface ValidateEvent {
  readonly input: unknown;
  readonly executionName: string;
  readonly executionStartedAt: string;
}

/**
 * The database's kind. `auto` is decided by the snapshots: the first kind (instance, then cluster) whose
 * API has the wanted snapshot; when neither has it, instance, whose plan then reports it missing.
 */
async function databaseKind(
  rds: RDSClient,
  kind: RestoreJobConfig["database"]["kind"],
  database: string,
  dbSnapshot: string,
): Promise<DatabaseKind> {
  if (kind !== "auto") return kind;
  for (const candidate of ["instance", "cluster"] as const) {
    try {
      await resolveRestoreSnapshot(snapshotApi(candidate), rds, database, dbSnapshot);
      return candidate;
    } catch (error) {
      if (!(error instanceof RestoreSnapshotNotFoundError)) throw error;
    }
  }
  return "instance";
}

/**
 * With a catalog, what the input leaves to "latest" (no dbSnapshot, no veleroBackup given) comes from
 * the newest complete recovery point; a name given (or "latest" written out) is kept.
 */
async function fromRecoveryPoint<
  I extends { dbSnapshot: string; veleroBackup: string; tiers: readonly string[] },
>(
  input: I,
  event: ValidateEvent,
  config: RestoreJobConfig,
  deps: ValidateDeps,
): Promise<I & Pick<RestoreRequest, "recoveryPoint" | "recoveryPointNote">> {
  const given = (field: string) => (event.input as Record<string, unknown> | null)?.[field] !== undefined;
  if (!deps.catalog || !config.catalog || (given("dbSnapshot") && given("veleroBackup"))) return input;
  const chosen = await chooseRecoveryPoint(deps.catalog, config.catalog, new Date(event.executionStartedAt));
  if (!("point" in chosen)) return { ...input, recoveryPointNote: chosen.note };
  const { point } = chosen;
  const database = !given("dbSnapshot") && input.tiers.includes("database");
  const application =
    !given("veleroBackup") && point.veleroBackup && config.application && input.tiers.includes("application");
  // Named in the plan only when it decides a tier: explicit names override it.
  if (!database && !application) return input;
  return {
    ...input,
    ...(database ? { dbSnapshot: point.snapshot } : {}),
    ...(application && point.veleroBackup ? { veleroBackup: point.veleroBackup } : {}),
    recoveryPoint: point,
  };
}

/**
 * @throws InvalidInputError listing every problem found.
 */
export async function validateRestore(
  event: ValidateEvent,
  config: RestoreJobConfig,
  deps: ValidateDeps,
): Promise<RestoreRequest> {
  const parsed = await fromRecoveryPoint(
    parseRestoreInput(event.input, event.executionName),
    event,
    config,
    deps,
  );
  // `{}` restores every tier this stage configures; naming a tier that is not configured is an error.
  const tiersGiven = (event.input as { tiers?: unknown }).tiers !== undefined;
  const input = tiersGiven
    ? parsed
    : {
        ...parsed,
        tiers: parsed.tiers.filter(
          (t) =>
            t === "database" ||
            (t === "images" && config.restore.images) ||
            (t === "application" && config.application),
        ),
      };
  const problems: string[] = [];
  const region = input.target === "dr" ? config.regions.dr : config.regions.primary;
  const target = config.restore.targets[input.target];
  if (!target) {
    problems.push(`target: no "dr" target is configured (restore.targets.dr in the stage configuration)`);
  }
  const wants = (tier: string) => input.tiers.includes(tier as never);
  if (wants("images") && !config.restore.images) {
    problems.push("tiers: images are not configured for restore (restore.images in the stage configuration)");
  }
  if (wants("application") && !config.application) {
    problems.push(
      "tiers: the application tier is not configured (application in the stage configuration); leave it out of tiers",
    );
  }
  if (!wants("database") && input.dbSnapshot !== "latest") {
    problems.push("dbSnapshot: given, but tiers does not include database");
  }
  if (!wants("database") && input.targetDbIdentifier) {
    problems.push("targetDbIdentifier: given, but tiers does not include database");
  }
  if (!wants("application") && input.veleroBackup !== "latest") {
    problems.push("veleroBackup: given, but tiers does not include application");
  }
  let database: RestoreRequest["database"];
  if (wants("database") && target) {
    const rds = deps.rds(region);
    const kind = await databaseKind(rds, config.database.kind, config.database.identifier, input.dbSnapshot);
    const found = await planDatabase(rds, snapshotApi(kind), {
      kind,
      database: config.database.identifier,
      dbSnapshot: input.dbSnapshot,
      restoreId: input.restoreId,
      ...(input.targetDbIdentifier ? { targetDbIdentifier: input.targetDbIdentifier } : {}),
      subnetGroupName: target.database.subnetGroupName,
    });
    problems.push(...found.problems);
    if (found.plan) {
      const s = found.plan.snapshot;
      database = {
        kind,
        snapshot: {
          identifier: s.identifier,
          arn: s.arn,
          ...(s.createdAt ? { createdAt: s.createdAt.toISOString() } : {}),
          ...(s.tags[TAG_WINDOW] ? { window: s.tags[TAG_WINDOW] } : {}),
          ...(s.engine ? { engine: s.engine } : {}),
          ...(s.engineVersion ? { engineVersion: s.engineVersion } : {}),
          encrypted: s.encrypted,
        },
        identifier: found.plan.identifier,
        adopt: found.plan.adopt,
      };
    }
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`Invalid restore input: ${problems.join("; ")}`, problems);
  }
  return {
    restoreId: input.restoreId,
    target: input.target,
    region,
    tiers: input.tiers,
    dryRun: input.dryRun,
    allowPartialRestore: input.allowPartialRestore,
    dbSnapshot: input.dbSnapshot,
    veleroBackup: input.veleroBackup,
    executionStartedAt: event.executionStartedAt,
    ...(parsed.recoveryPoint ? { recoveryPoint: parsed.recoveryPoint } : {}),
    ...(parsed.recoveryPointNote ? { recoveryPointNote: parsed.recoveryPointNote } : {}),
    ...(database ? { database } : {}),
  };
}
