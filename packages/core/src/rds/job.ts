import { DescribeKeyCommand, type KMSClient } from "@aws-sdk/client-kms";
import type { RDSClient } from "@aws-sdk/client-rds";
import { awsErrorCode, wrapAwsError } from "../aws/errors.ts";
import { kmsKeyAccount } from "../config/patterns.ts";
import type { RdsJobConfig } from "../config/rds.ts";
import {
  DefaultKmsKeyNotShareableError,
  type GitpodDrError,
  JobTimeoutError,
  SnapshotConflictError,
  SnapshotJobIncompleteError,
} from "../errors.ts";
import { type JobLogger, silentLogger } from "../logger.ts";
import { resolveDatabase, snapshotApi } from "./api.ts";
import {
  isManagedBy,
  scheduleWindow,
  snapshotIdentifier,
  snapshotTags,
  TAG_SOURCE_SNAPSHOT,
} from "./naming.ts";
import {
  planRetention,
  type RetentionDecision,
  type RetentionPolicy,
  type RetentionSnapshot,
} from "./retention.ts";
import { type Database, isInProgress, type Snapshot } from "./types.ts";

export interface RdsJobDeps {
  /** RDS client in the primary region. */
  rdsPrimary: RDSClient;
  /** RDS client in the DR region. */
  rdsDr: RDSClient;
  /** KMS client in the primary region; used only to recognise the AWS managed key `aws/rds`. */
  kmsPrimary: KMSClient;
  logger?: JobLogger;
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

export interface RdsJobSummary {
  database: { identifier: string; kind: Database["kind"]; arn: string };
  window: string;
  dryRun: boolean;
  /** The snapshot for this window: created now (or, in a dry run, would be). */
  created: string[];
  /** The snapshot for this window already existed (a retried or duplicated invocation). */
  alreadyExisted: string[];
  /** Primary snapshots still `creating`: a later run copies them. */
  waitingForCreation: string[];
  /** Cross-region copies started by this run (or, in a dry run, that would be). */
  copied: string[];
  /** Copies of ours already in progress in the DR region. */
  copiesInProgress: string[];
  /** Copies left for a later run because the DR region's concurrent-copy limit is reached. */
  copiesDeferred: string[];
  /**
   * Snapshots not copied because DR retention would delete the copy at once (older than it keeps);
   * copying them would only start a copy-delete cycle. The primary keeps them by its own retention.
   */
  notCopiedTooOld: string[];
  /** Failed DR copies of ours that were deleted so that the next run copies again. */
  failedCopiesRemoved: string[];
  deleted: { primary: RetentionDecision[]; dr: RetentionDecision[] };
  kept: { primary: RetentionDecision[]; dr: RetentionDecision[] };
  warnings: string[];
  /** What could not be done; when not empty the job fails after finishing everything else. */
  problems: string[];
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
  const logger = deps.logger ?? silentLogger;
  const now = deps.now?.() ?? new Date();
  const { primary, dr } = config.regions;
  const database = await resolveDatabase(deps.rdsPrimary, config.database.identifier, config.database.kind);
  const api = snapshotApi(database.kind);
  const identifier = snapshotIdentifier(database.identifier, input.time);
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

  const [primaryAll, drAll] = await Promise.all([
    api.listManualSnapshots(deps.rdsPrimary),
    api.listManualSnapshots(deps.rdsDr),
  ]);
  const ours = (list: Snapshot[]) => list.filter((s) => isManagedBy(s.tags, database.identifier));

  // 1. This window's snapshot.
  const conflict = () =>
    new SnapshotConflictError(
      `A snapshot named ${identifier} exists in ${primary} but was not created by gitpod-dr for ${database.identifier}; gitpod-dr will not adopt or change it. Rename or delete it, or change the schedule`,
    );
  const existing = primaryAll.find((s) => s.identifier === identifier);
  // This window's snapshot exists now but was not in the listing (counts for the quota, copied later).
  let appearedSinceListing = false;
  if (existing) {
    if (!isManagedBy(existing.tags, database.identifier)) throw conflict();
    summary.alreadyExisted.push(identifier);
  } else if (input.dryRun) {
    summary.created.push(identifier);
  } else {
    // A refused create (quota full, database busy) must not stop retention, which may free the quota.
    const result = await attempt(summary, deps.signal, `Creating snapshot ${identifier}`, () =>
      api.createSnapshot(
        deps.rdsPrimary,
        database,
        identifier,
        snapshotTags(database.identifier, input.time),
      ),
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
    if (result !== undefined) {
      (result === "created" ? summary.created : summary.alreadyExisted).push(identifier);
      appearedSinceListing = true;
      logger.info("Snapshot of this window", { snapshot: identifier, result });
    }
  }

  // 2. Copies to the DR region.
  const primaryOurs = ours(primaryAll);
  const drByIdentifier = new Map(drAll.map((s) => [s.identifier, s]));
  for (const s of primaryOurs) {
    if (s.status === "failed") {
      summary.problems.push(
        `Snapshot ${s.identifier} in ${primary} failed to be created; RDS keeps it as failed. Find out why (RDS events of ${database.identifier}), then delete it: gitpod-dr never deletes a snapshot that is not available`,
      );
    }
  }
  const removedCopies = new Set<string>();
  for (const copy of ours(drAll)) {
    if (copy.status === "failed") {
      // Deleted now, copied again by the next run (RDS may hold the name while it deletes).
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
          `The DR copy ${copy.identifier} in ${dr} had failed; it ${input.dryRun ? "would be" : "was"} deleted so that the next run copies it again`,
        );
      }
    } else if (isInProgress(copy.status)) {
      summary.copiesInProgress.push(copy.identifier);
    }
  }
  const namesakeConflict = (id: string) =>
    new SnapshotConflictError(
      `Snapshot ${id} cannot be copied: a snapshot with that name in ${dr} was not created by gitpod-dr. Rename or delete it there; until then the primary keeps ${id}`,
    );
  // The limit is per destination region, so copies that are not ours count too.
  const inProgressInDr = drAll.filter((s) => isInProgress(s.status) && s.sourceSnapshotArn).length;
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
  if (appearedSinceListing) summary.waitingForCreation.push(identifier);
  const keyChecks = new DefaultKeyCheck(deps.kmsPrimary, database, config.drKmsKeyArn);
  const tooOldForDr = copiesDrRetentionWouldDelete(
    ours(drAll).filter((s) => drByIdentifier.has(s.identifier)),
    toCopy.filter((s) => s.status === "available"),
    { databaseIdentifier: database.identifier, ...config.drRetention },
    now,
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

  // 3. Retention in both regions.
  const drCopyState = (id: string): RetentionSnapshot["drCopy"] => {
    if (copyStarted.has(id)) return "in-progress";
    // No copy will ever be kept in the DR region: the primary's own retention decides alone.
    if (tooOldForDr.has(id)) return undefined;
    const copy = drByIdentifier.get(id);
    if (!copy || !isManagedBy(copy.tags, database.identifier)) return "missing";
    if (copy.status === "available") return "available";
    return isInProgress(copy.status) ? "in-progress" : "failed";
  };
  const primaryPlan = planRetention(
    primaryOurs.map((s) => ({ ...s, drCopy: drCopyState(s.identifier) })),
    { databaseIdentifier: database.identifier, ...config.retention },
    now,
  );
  const drPlan = planRetention(
    ours(drAll).filter((s) => !removedCopies.has(s.identifier)),
    { databaseIdentifier: database.identifier, ...config.drRetention },
    now,
  );
  summary.kept = { primary: primaryPlan.keep, dr: drPlan.keep };
  for (const [rds, region, plan, done] of [
    [deps.rdsPrimary, primary, primaryPlan, summary.deleted.primary],
    [deps.rdsDr, dr, drPlan, summary.deleted.dr],
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

  // 4. Quota.
  const createdCount = appearedSinceListing ? 1 : 0;
  for (const [region, count] of [
    [primary, primaryAll.length + createdCount - summary.deleted.primary.length],
    [dr, drAll.length + copyStarted.size - summary.deleted.dr.length - summary.failedCopiesRemoved.length],
  ] as const) {
    if (count > config.manualSnapshotQuota * QUOTA_WARNING_RATIO) {
      summary.warnings.push(
        `${count} of ${config.manualSnapshotQuota} manual ${database.kind === "instance" ? "DB" : "DB cluster"} snapshots are in use in ${region} (over ${QUOTA_WARNING_RATIO * 100}%): lower retention or ask AWS to raise the quota`,
      );
    }
  }

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

/**
 * The candidates whose copies DR retention would delete as soon as they became available: planned as if
 * every candidate were already copied next to the existing copies.
 */
function copiesDrRetentionWouldDelete(
  drCopies: readonly Snapshot[],
  candidates: readonly Snapshot[],
  policy: RetentionPolicy,
  now: Date,
): Set<string> {
  const candidateIds = new Set(candidates.map((s) => s.identifier));
  const plan = planRetention(
    [...drCopies, ...candidates.map((s) => ({ ...s, drCopy: undefined }))],
    policy,
    now,
  );
  return new Set(plan.delete.map((d) => d.identifier).filter((id) => candidateIds.has(id)));
}

/**
 * Runs one change (a copy, a delete) so that its failure does not stop the others: the error becomes a
 * problem naming the snapshot and the error, and the job fails at the end, after retention has run.
 * A timeout is not a problem of one snapshot: it stops the run at once.
 * @returns the change's result, or undefined when it failed.
 */
async function attempt<T>(
  summary: RdsJobSummary,
  signal: AbortSignal | undefined,
  what: string,
  change: () => Promise<T>,
): Promise<T | undefined> {
  if (signal?.aborted) throw new JobTimeoutError(`${what} was not started: the invocation ran out of time`);
  try {
    return await change();
  } catch (err) {
    const error = wrapAwsError(what, err);
    if (error instanceof JobTimeoutError) throw error;
    recordProblem(summary, error, kmsHint(err));
    return undefined;
  }
}

/** A problem line: the message, then the error's name in brackets (and a hint where there is one). */
function recordProblem(summary: RdsJobSummary, error: GitpodDrError, hint = ""): void {
  summary.problems.push(`${error.message} [${error.name}]${hint}`);
}

/** What to check when RDS cannot use a KMS key for a copy. */
function kmsHint(err: unknown): string {
  const code = awsErrorCode(err) ?? awsErrorCode((err as Error | undefined)?.cause);
  if (code !== "KMSKeyNotAccessibleFault") return "";
  return ". If the database is encrypted with a customer managed key, set database.kmsKeyArn to it so the function may use it; the DR key's policy must allow the function's role kms:CreateGrant and kms:DescribeKey";
}

/**
 * A snapshot encrypted with the AWS managed key `aws/rds` cannot be shared with another account
 * (RDS "Sharing a DB snapshot": snapshots encrypted with the default key can't be shared), so it cannot
 * reach a DR key that belongs to another account. The check asks KMS only when the accounts differ.
 */
class DefaultKeyCheck {
  private readonly managedByAws = new Map<string, boolean>();
  private readonly crossAccount: boolean;

  constructor(
    private readonly kms: KMSClient,
    private readonly database: Database,
    private readonly drKmsKeyArn: string,
  ) {
    this.crossAccount = kmsKeyAccount(drKmsKeyArn) !== database.account;
  }

  /** @throws DefaultKmsKeyNotShareableError when the snapshot cannot reach the DR key. */
  async check(snapshot: Snapshot): Promise<void> {
    if (!this.crossAccount || !snapshot.encrypted || !snapshot.kmsKeyId) return;
    let awsManaged = this.managedByAws.get(snapshot.kmsKeyId);
    if (awsManaged === undefined) {
      try {
        const out = await this.kms.send(new DescribeKeyCommand({ KeyId: snapshot.kmsKeyId }));
        awsManaged = out.KeyMetadata?.KeyManager === "AWS";
      } catch (err) {
        throw wrapAwsError(`Unable to describe the KMS key of snapshot ${snapshot.identifier}`, err);
      }
      this.managedByAws.set(snapshot.kmsKeyId, awsManaged);
    }
    if (!awsManaged) return;
    throw new DefaultKmsKeyNotShareableError(
      `Snapshot ${snapshot.identifier} is encrypted with the AWS managed key aws/rds, which cannot be shared with account ${kmsKeyAccount(this.drKmsKeyArn)} that owns the DR key: encrypt the database ${this.database.identifier} with a customer managed key (restore a copy encrypted with one), or use a DR key in account ${this.database.account}`,
    );
  }
}
