import type { RDSClient } from "@aws-sdk/client-rds";
import type { RestoreJobConfig } from "../config.ts";
import { InvalidInputError } from "../errors.ts";
import { snapshotApi } from "../rds/api.ts";
import type { DatabaseKind } from "../rds/types.ts";
import { parseRestoreInput } from "./input.ts";
import { planDatabase } from "./plan.ts";
import type { RestoreRequest } from "./types.ts";

/**
 * The "Validate input" state: the input's shape, then what it names checked against the target
 * region (the snapshot exists and is available, the target identifier is free or this restore's own,
 * the DB subnet group exists). Every problem is collected; nothing is created.
 */

export interface ValidateDeps {
  /** An RDS client in the given region. */
  readonly rds: (region: string) => RDSClient;
}

export interface ValidateEvent {
  readonly input: unknown;
  readonly executionName: string;
  readonly executionStartedAt: string;
}

/** `auto` is decided by the snapshots: the kind whose API has a matching snapshot. */
function databaseKinds(kind: RestoreJobConfig["database"]["kind"]): DatabaseKind[] {
  return kind === "auto" ? ["instance", "cluster"] : [kind];
}

/**
 * @throws InvalidInputError listing every problem found.
 */
export async function validateRestore(
  event: ValidateEvent,
  config: RestoreJobConfig,
  deps: ValidateDeps,
): Promise<RestoreRequest> {
  const parsed = parseRestoreInput(event.input, event.executionName);
  // `{}` restores every tier this stage configures; naming a tier that is not configured is an error.
  const tiersGiven = (event.input as { tiers?: unknown } | null)?.tiers !== undefined;
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
    const kinds = databaseKinds(config.database.kind);
    let found:
      | { problems: string[]; plan?: Awaited<ReturnType<typeof planDatabase>>["plan"]; kind: DatabaseKind }
      | undefined;
    for (const kind of kinds) {
      const result = await planDatabase(rds, snapshotApi(kind), {
        kind,
        database: config.database.identifier,
        dbSnapshot: input.dbSnapshot,
        restoreId: input.restoreId,
        ...(input.targetDbIdentifier ? { targetDbIdentifier: input.targetDbIdentifier } : {}),
        subnetGroupName: target.database.subnetGroupName,
      });
      const missing = result.problems.some((p) => p.startsWith("dbSnapshot:"));
      // With `auto`, a kind without the snapshot is not the database's kind: try the next one.
      if (!found || (found.problems.some((p) => p.startsWith("dbSnapshot:")) && !missing)) {
        found = { ...result, kind };
      }
      if (!missing) break;
    }
    if (found) {
      problems.push(...found.problems);
      if (found.plan) {
        const s = found.plan.snapshot;
        database = {
          kind: found.kind,
          snapshot: {
            identifier: s.identifier,
            arn: s.arn,
            ...(s.createdAt ? { createdAt: s.createdAt.toISOString() } : {}),
            ...(s.engine ? { engine: s.engine } : {}),
            ...(s.engineVersion ? { engineVersion: s.engineVersion } : {}),
            encrypted: s.encrypted,
          },
          identifier: found.plan.identifier,
          adopt: found.plan.adopt,
        };
      }
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
    ...(database ? { database } : {}),
  };
}
