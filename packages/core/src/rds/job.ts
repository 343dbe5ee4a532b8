import type { KMSClient } from "@aws-sdk/client-kms";
import type { RDSClient } from "@aws-sdk/client-rds";
import { recordEntries } from "../catalog/record.ts";
import type { CatalogStore } from "../catalog/store.ts";
import type { RdsJobConfig } from "../config/rds.ts";
import { type JobLogger, silentLogger } from "../logger.ts";
import { resolveDatabase, type SnapshotApi, snapshotApi } from "./api.ts";
import { SnapshotConflictError, SnapshotJobIncompleteError } from "./errors.ts";
import { DefaultKeyCheck } from "./kms.ts";
import {
  agedByRecoveryTime,
  isManagedBy,
  scheduleWindow,
  snapshotIdentifier,
  snapshotTags,
  TAG_SOURCE_SNAPSHOT,
} from "./naming.ts";
import { entriesToRecord, type LinkedRetention, linkedRetention } from "./recovery.ts";
import { copiesDrRetentionWouldDelete, planRetention, type RetentionSnapshot } from "./retention.ts";
import { attempt, type RdsJobSummary, recordProblem } from "./summary.ts";
import { type Database, isInProgress, type Snapshot } from "./types.ts";

export type { RdsJobSummary } from "./summary.ts";

export interface RdsJobDeps {
  /** RDS client in the primary region. */
  rdsPrimary: RDSClient;
  /** RDS client in the DR region. */
  rdsDr: RDSClient;
  /** KMS client in the primary region; used only to recognise the AWS managed key `aws/rds`. */
  kmsPrimary: KMSClient;
  logger?: JobLogger;
  /**
   * The recovery-point catalog (in the DR region; present when the configuration names one): the job
   * records its DR copies there, and never deletes the newest complete recovery point's snapshot.
   */
  catalog?: CatalogStore;
  /** The clock used for retention ages. */
  now?: () => Date;
  /**
   * Aborted when the invocation has given up (early timeout): no further change is started, so that a
   * run abandoned by its handler cannot resume in a later invocation of a reused environment.
   */
  signal?: AbortSignal;
}

export interface RdsJobInput {
  /** The scheduled time of the invocation (EventBridge `time`); it names the snapshot. */
  time: Date;
  /** Report what would be created, copied and deleted, and change nothing. */
  dryRun: boolean;
}

/** Manual-snapshot usage above this share of the quota is warned about. */
const QUOTA_WARNING_RATIO = 0.8;

/**
 * One run of the RDS snapshot job: create this window's snapshot, copy available snapshots to the DR
 * region within RDS's concurrent-copy limit, and apply retention in both regions.
 *
 * Safe to run twice: the snapshot name comes from the window, "already exists" is success, copies are
 * started only for snapshots with no DR counterpart, and deletes of what is already gone succeed.
 * Only snapshots tagged by gitpod-dr for this database are ever copied or deleted.
 *
 * @throws DatabaseNotFoundError, UnsupportedDatabaseError, DatabaseNotReadyError, SnapshotConflictError
 *   and the Aws* errors when a step cannot proceed at all.
 * @throws SnapshotJobIncompleteError after doing everything else, when some snapshots could not be
 *   handled (a failed creation, a copy refused); its `summary` is the full summary.
 */
export async function runRdsSnapshotJob(
  input: RdsJobInput,
  config: RdsJobConfig,
  deps: RdsJobDeps,
): Promise<RdsJobSummary> {
  const run = await startRun(input, config, deps);
  const appearedSinceListing = await snapshotThisWindow(run);
  reportFailedSnapshots(run);
  const removedCopies = await removeFailedCopies(run);
  const copies = await copyToDr(run, appearedSinceListing);
  const linked =
    deps.catalog && config.catalog ? await linkedRetention(deps.catalog, config.catalog.scope) : undefined;
  await applyRetention(run, { ...copies, removedCopies }, linked);
  warnAboutQuota(run, appearedSinceListing, copies.copyStarted.size);
  await recordCopies(run, copies.copyStarted, linked);
  return finish(run);
}

/** One run's inputs, what it listed at its start, and the summary every step adds to. */
interface JobRun {
  readonly input: RdsJobInput;
  readonly config: RdsJobConfig;
  readonly deps: RdsJobDeps;
  readonly logger: JobLogger;
  readonly now: Date;
  readonly database: Database;
  readonly api: SnapshotApi;
  /** This window's snapshot identifier. */
  readonly identifier: string;
  readonly summary: RdsJobSummary;
  /** Every manual snapshot of the database's API family in each region, as listed at the start. */
  readonly primaryAll: readonly Snapshot[];
  readonly drAll: readonly Snapshot[];
  readonly drByIdentifier: ReadonlyMap<string, Snapshot>;
}

/** The snapshots of the list that gitpod-dr made for this database. */
const ours = (run: JobRun, list: readonly Snapshot[]) =>
  list.filter((s) => isManagedBy(s.tags, run.database.identifier));

/** Finds the database and lists both regions' manual snapshots. */
async function startRun(input: RdsJobInput, config: RdsJobConfig, deps: RdsJobDeps): Promise<JobRun> {
  const logger = deps.logger ?? silentLogger;
  const now = deps.now?.() ?? new Date();
  const database = await resolveDatabase(deps.rdsPrimary, config.database.identifier, config.database.kind);
  const api = snapshotApi(database.kind);
  const summary: RdsJobSummary = {
    database: { identifier: database.identifier, kind: database.kind, arn: database.arn },
    window: scheduleWindow(input.time).toISOString(),
    dryRun: input.dryRun,
    created: [],
    alreadyExisted: [],
    waitingForCreation: [],
    copied: [],
    copiesInProgress: [],
    copiesDeferred: [],
    notCopiedTooOld: [],
    failedCopiesRemoved: [],
    deleted: { primary: [], dr: [] },
    kept: { primary: [], dr: [] },
    warnings: [],
    problems: [],
  };
  // Ordered and aged by recovery time (the window tag), never by a copy's SnapshotCreateTime.
  const [primaryAll, drAll] = await Promise.all([
    api.listManualSnapshots(deps.rdsPrimary).then((l) => l.map(agedByRecoveryTime)),
    api.listManualSnapshots(deps.rdsDr).then((l) => l.map(agedByRecoveryTime)),
  ]);
  return {
    input,
    config,
    deps,
    logger,
    now,
    database,
    api,
    identifier: snapshotIdentifier(database.identifier, input.time),
    summary,
    primaryAll,
    drAll,
    drByIdentifier: new Map(drAll.map((s) => [s.identifier, s])),
  };
}

/**
 * 1. This window's snapshot: created, or adopted when it exists and is ours.
 * @returns whether the snapshot exists now but was not in the listing (it counts for the quota and is
 *   copied by a later run).
 * @throws SnapshotConflictError when a snapshot with its name exists that gitpod-dr did not make.
 */
async function snapshotThisWindow(run: JobRun): Promise<boolean> {
  const { input, deps, database, api, identifier, summary } = run;
  const conflict = () =>
    new SnapshotConflictError(
      `A snapshot named ${identifier} exists in ${run.config.regions.primary} but was not created by gitpod-dr for ${database.identifier}; gitpod-dr will not adopt or change it. Rename or delete it, or change the schedule`,
    );
  const existing = run.primaryAll.find((s) => s.identifier === identifier);
  if (existing) {
    if (!isManagedBy(existing.tags, database.identifier)) throw conflict();
    summary.alreadyExisted.push(identifier);
    return false;
  }
  if (input.dryRun) {
    summary.created.push(identifier);
    return false;
  }
  // A refused create (quota full, database busy) must not stop retention, which may free the quota.
  const result = await attempt(summary, deps.signal, `Creating snapshot ${identifier}`, () =>
    api.createSnapshot(deps.rdsPrimary, database, identifier, snapshotTags(database.identifier, input.time)),
  );
  if (result === "exists") {
    // Created between our listing and our call: by a concurrent invocation (adopt it), or by someone
    // else (refuse it, as above).
    const raced = await api.describeSnapshot(deps.rdsPrimary, identifier);
    if (raced && !isManagedBy(raced.tags, database.identifier)) throw conflict();
    if (!raced) {
      summary.problems.push(
        `RDS says snapshot ${identifier} exists, but it cannot be found (being deleted?); this window has no snapshot yet: the next run tries again`,
      );
    }
  }
  if (result === undefined) return false;
  (result === "created" ? summary.created : summary.alreadyExisted).push(identifier);
  run.logger.info("Snapshot of this window", { snapshot: identifier, result });
  return true;
}

/** 2a. Primary snapshots that RDS failed to create: a problem each (gitpod-dr deletes only available ones). */
function reportFailedSnapshots(run: JobRun): void {
  for (const s of ours(run, run.primaryAll)) {
    if (s.status === "failed") {
      run.summary.problems.push(
        `Snapshot ${s.identifier} in ${run.config.regions.primary} failed to be created; RDS keeps it as failed. Find out why (RDS events of ${run.database.identifier}), then delete it: gitpod-dr never deletes a snapshot that is not available`,
      );
    }
  }
}

/**
 * 2b. Failed DR copies of ours are deleted, so that the next run copies again (RDS may hold the name
 * while it deletes); copies in progress are reported.
 * @returns the identifiers of the copies deleted.
 */
async function removeFailedCopies(run: JobRun): Promise<Set<string>> {
  const { input, deps, api, summary } = run;
  const removedCopies = new Set<string>();
  for (const copy of ours(run, run.drAll)) {
    if (copy.status === "failed") {
      const removed = await attempt(
        summary,
        deps.signal,
        `Deleting the failed DR copy ${copy.identifier}`,
        () => (input.dryRun ? Promise.resolve("deleted") : api.deleteSnapshot(deps.rdsDr, copy.identifier)),
      );
      if (removed !== undefined) {
        removedCopies.add(copy.identifier);
        summary.failedCopiesRemoved.push(copy.identifier);
        summary.warnings.push(
          `The DR copy ${copy.identifier} in ${run.config.regions.dr} had failed; it ${input.dryRun ? "would be" : "was"} deleted so that the next run copies it again`,
        );
      }
    } else if (isInProgress(copy.status)) {
      summary.copiesInProgress.push(copy.identifier);
    }
  }
  return removedCopies;
}

/**
 * 2c. Copies to the DR region: newest first, within the region's concurrent-copy limit, skipping those
 * DR retention would delete at once.
 * @returns the copies started (or adopted) by this run, and the snapshots too old for the DR region.
 */
async function copyToDr(
  run: JobRun,
  appearedSinceListing: boolean,
): Promise<{ copyStarted: Set<string>; tooOldForDr: Set<string> }> {
  const { input, config, deps, database, api, summary, drByIdentifier } = run;
  const dr = config.regions.dr;
  const primaryOurs = ours(run, run.primaryAll);
  const namesakeConflict = (id: string) =>
    new SnapshotConflictError(
      `Snapshot ${id} cannot be copied: a snapshot with that name in ${dr} was not created by gitpod-dr. Rename or delete it there; until then the primary keeps ${id}`,
    );
  // The limit is per destination region, so copies that are not ours count too.
  const inProgressInDr = run.drAll.filter((s) => isInProgress(s.status) && s.sourceSnapshotArn).length;
  let slots = Math.max(0, config.maxConcurrentCopies - inProgressInDr);
  for (const s of primaryOurs) {
    const namesake = drByIdentifier.get(s.identifier);
    if (namesake && !isManagedBy(namesake.tags, database.identifier)) {
      recordProblem(summary, namesakeConflict(s.identifier));
    }
  }
  const toCopy = primaryOurs
    .filter((s) => !drByIdentifier.has(s.identifier))
    .sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0));
  if (appearedSinceListing) summary.waitingForCreation.push(run.identifier);
  const keyChecks = new DefaultKeyCheck(deps.kmsPrimary, database, config.drKmsKeyArn);
  const tooOldForDr = copiesDrRetentionWouldDelete(
    ours(run, run.drAll).filter((s) => drByIdentifier.has(s.identifier)),
    toCopy.filter((s) => s.status === "available"),
    { databaseIdentifier: database.identifier, ...config.drRetention },
    run.now,
  );
  const copyStarted = new Set<string>();
  for (const s of toCopy) {
    if (isInProgress(s.status)) {
      summary.waitingForCreation.push(s.identifier);
      continue;
    }
    if (s.status !== "available") {
      if (s.status !== "failed") {
        summary.warnings.push(`Snapshot ${s.identifier} is "${s.status}"; it is copied once it is available`);
      }
      continue;
    }
    if (tooOldForDr.has(s.identifier)) {
      summary.notCopiedTooOld.push(s.identifier);
      continue;
    }
    if (slots === 0) {
      summary.copiesDeferred.push(s.identifier);
      continue;
    }
    const result = await attempt(summary, deps.signal, `Copying ${s.identifier} to ${dr}`, async () => {
      await keyChecks.check(s);
      if (input.dryRun) return "started";
      const outcome = await api.copySnapshot(deps.rdsDr, s, {
        kmsKeyId: config.drKmsKeyArn,
        tags: { ...s.tags, [TAG_SOURCE_SNAPSHOT]: s.arn },
      });
      if (outcome === "exists") {
        // Started a moment ago by a concurrent run (adopt it), or the name was taken (refuse).
        const raced = await api.describeSnapshot(deps.rdsDr, s.identifier);
        if (raced && !isManagedBy(raced.tags, database.identifier)) throw namesakeConflict(s.identifier);
      }
      return outcome;
    });
    if (result === undefined) continue;
    // "exists": a concurrent run started this copy a moment ago; it still takes a slot.
    (result === "started" ? summary.copied : summary.copiesInProgress).push(s.identifier);
    copyStarted.add(s.identifier);
    slots -= 1;
  }
  if (summary.copiesDeferred.length > 0) {
    summary.warnings.push(
      `${summary.copiesDeferred.length} cross-region copies wait for a free slot (${config.maxConcurrentCopies} may run at once in ${dr}); a later run starts them`,
    );
  }
  return { copyStarted, tooOldForDr };
}

/** 3. Retention in both regions: the primary keeps a snapshot until its DR copy is available. */
async function applyRetention(
  run: JobRun,
  copies: {
    readonly copyStarted: ReadonlySet<string>;
    readonly tooOldForDr: ReadonlySet<string>;
    readonly removedCopies: ReadonlySet<string>;
  },
  linked: LinkedRetention | undefined,
): Promise<void> {
  const { input, config, deps, database, api, summary, drByIdentifier } = run;
  if (linked?.kind === "unknown") {
    // Which snapshot the newest recovery point holds is unknown: deleting none is the safe answer.
    summary.problems.push(
      `Retention deleted nothing: the newest recovery point could not be read from the catalog, so its snapshot could not be protected (${linked.error.message}) [${linked.error.name}]`,
    );
    return;
  }
  const protect = linked?.protect ?? new Set<string>();
  const drCopyState = (id: string): RetentionSnapshot["drCopy"] => {
    if (copies.copyStarted.has(id)) return "in-progress";
    // No copy will ever be kept in the DR region: the primary's own retention decides alone.
    if (copies.tooOldForDr.has(id)) return undefined;
    const copy = drByIdentifier.get(id);
    if (!copy || !isManagedBy(copy.tags, database.identifier)) return "missing";
    if (copy.status === "available") return "available";
    return isInProgress(copy.status) ? "in-progress" : "failed";
  };
  const primaryPlan = planRetention(
    ours(run, run.primaryAll).map((s) => ({ ...s, drCopy: drCopyState(s.identifier) })),
    { databaseIdentifier: database.identifier, ...config.retention, protect },
    run.now,
  );
  const drPlan = planRetention(
    ours(run, run.drAll).filter((s) => !copies.removedCopies.has(s.identifier)),
    { databaseIdentifier: database.identifier, ...config.drRetention, protect },
    run.now,
  );
  summary.kept = { primary: primaryPlan.keep, dr: drPlan.keep };
  for (const [rds, region, plan, done] of [
    [deps.rdsPrimary, config.regions.primary, primaryPlan, summary.deleted.primary],
    [deps.rdsDr, config.regions.dr, drPlan, summary.deleted.dr],
  ] as const) {
    for (const decision of plan.delete) {
      const deleted = await attempt(
        summary,
        deps.signal,
        `Deleting ${decision.identifier} in ${region}`,
        () => (input.dryRun ? Promise.resolve("deleted") : api.deleteSnapshot(rds, decision.identifier)),
      );
      if (deleted !== undefined) done.push(decision);
    }
  }
}

/**
 * 5. The DR copies (available, or being copied) in the recovery-point catalog. A failed write is a
 * problem of the run: its copies exist, the job fails with the message, and the next run records them.
 */
async function recordCopies(
  run: JobRun,
  copyStarted: ReadonlySet<string>,
  linked: LinkedRetention | undefined,
): Promise<void> {
  const { deps, summary, input } = run;
  if (!deps.catalog || input.dryRun) return;
  const store = deps.catalog;
  const entries = entriesToRecord({
    kind: run.database.kind,
    primary: ours(run, run.primaryAll),
    drCopies: ours(run, run.drAll),
    started: ours(run, run.primaryAll).filter(
      (s) => copyStarted.has(s.identifier) && !run.drByIdentifier.has(s.identifier),
    ),
    deletedInDr: new Set([...summary.deleted.dr.map((d) => d.identifier), ...summary.failedCopiesRemoved]),
    recorded: linked?.kind === "read" ? linked.recorded : [],
    drRegion: run.config.regions.dr,
    now: run.now,
  });
  await attempt(summary, deps.signal, "Recording the DR copies in the catalog", () =>
    recordEntries(store, entries, `The RDS snapshot job for ${run.database.identifier} finished its copies`),
  );
}

/** 4. A warning per region whose manual-snapshot count, after this run, is near the quota. */
function warnAboutQuota(run: JobRun, appearedSinceListing: boolean, copiesStarted: number): void {
  const { config, summary, database } = run;
  const createdCount = appearedSinceListing ? 1 : 0;
  for (const [region, count] of [
    [config.regions.primary, run.primaryAll.length + createdCount - summary.deleted.primary.length],
    [
      config.regions.dr,
      run.drAll.length + copiesStarted - summary.deleted.dr.length - summary.failedCopiesRemoved.length,
    ],
  ] as const) {
    if (count > config.manualSnapshotQuota * QUOTA_WARNING_RATIO) {
      summary.warnings.push(
        `${count} of ${config.manualSnapshotQuota} manual ${database.kind === "instance" ? "DB" : "DB cluster"} snapshots are in use in ${region} (over ${QUOTA_WARNING_RATIO * 100}%): lower retention or ask AWS to raise the quota`,
      );
    }
  }
}

/**
 * Logs the summary and returns it.
 * @throws SnapshotJobIncompleteError when any problem was recorded.
 */
function finish(run: JobRun): RdsJobSummary {
  const { summary, logger, database } = run;
  for (const warning of summary.warnings) logger.warn(warning);
  logger.info("RDS snapshot job summary", { summary });
  if (summary.problems.length > 0) {
    throw new SnapshotJobIncompleteError(
      `The RDS snapshot job for ${database.identifier} finished with ${summary.problems.length} problem(s):\n- ${summary.problems.join("\n- ")}`,
      summary.problems,
      summary,
    );
  }
  return summary;
}
