import { isManagedBy } from "./naming.ts";

/** What the planner needs to know about a snapshot. `Snapshot` from ./types.ts satisfies it. */
export interface RetentionSnapshot {
  identifier: string;
  status: string;
  createdAt?: Date;
  tags: Readonly<Record<string, string>>;
  /**
   * In the primary region: the state of this snapshot's copy in the DR region. Left undefined in the
   * DR region, where there is no further copy to wait for.
   */
  drCopy?: "available" | "in-progress" | "missing" | "failed" | undefined;
}

export interface RetentionPolicy {
  /** The database whose snapshots are planned; snapshots tagged for another database are left alone. */
  databaseIdentifier: string;
  /** Keep at least this many available snapshots, however old. The newest available is kept even at 0. */
  keepLast: number;
  /** Snapshots beyond `keepLast` are deleted once strictly older than this. */
  maxAgeDays: number;
  /** Linked retention: the snapshots of the newest complete recovery point, never deleted. */
  protect?: ReadonlySet<string>;
}

export type KeepReason =
  | "not-managed"
  | "not-available"
  | "no-creation-time"
  | "newest-available"
  | "within-keep-last"
  | "younger-than-max-age"
  | "dr-copy-not-available"
  | "recovery-point";

export interface RetentionDecision {
  identifier: string;
  reason: KeepReason | "expired";
  /** Age in days at `now`, when the creation time is known. */
  ageDays?: number;
}

export interface RetentionPlan {
  /** Snapshots to delete, each with reason `expired`. */
  delete: RetentionDecision[];
  /** Every other snapshot, with why it stays. Every input snapshot is in exactly one of the two lists. */
  keep: RetentionDecision[];
}

const DAY_MS = 86_400_000;

/**
 * Decides which snapshots to delete. Pure: no clients, no clock (pass `now`).
 *
 * Rules, in order: only snapshots tagged by gitpod-dr for this database are considered; one that is not
 * `available` (creating, copying, failed…) is never deleted, nor one without a creation time; the newest
 * available one is never deleted;
 * the newest `keepLast` available ones are kept; of the rest, only those strictly older than
 * `maxAgeDays` are deleted, and in the primary region only once their DR copy is `available`; never one
 * of `protect` (the newest complete recovery point's snapshot). Ages count from `createdAt`: the job
 * passes each snapshot's recovery time there (`agedByRecoveryTime`), never a copy's copy time.
 */
export function planRetention(
  snapshots: readonly RetentionSnapshot[],
  policy: RetentionPolicy,
  now: Date,
): RetentionPlan {
  const plan: RetentionPlan = { delete: [], keep: [] };
  const ageDays = (s: RetentionSnapshot) =>
    s.createdAt ? (now.getTime() - s.createdAt.getTime()) / DAY_MS : undefined;
  const decide = (list: RetentionDecision[], s: RetentionSnapshot, reason: RetentionDecision["reason"]) => {
    const age = ageDays(s);
    list.push(
      age === undefined
        ? { identifier: s.identifier, reason }
        : { identifier: s.identifier, reason, ageDays: age },
    );
  };

  const candidates: RetentionSnapshot[] = [];
  for (const s of snapshots) {
    if (!isManagedBy(s.tags, policy.databaseIdentifier)) decide(plan.keep, s, "not-managed");
    else if (s.status !== "available") decide(plan.keep, s, "not-available");
    // Without a creation time neither its rank nor its age is known: keep it, and rank only dated ones,
    // so that the newest dated snapshot is never pushed out of keepLast by one of unknown age.
    else if (!s.createdAt) decide(plan.keep, s, "no-creation-time");
    else candidates.push(s);
  }

  // Newest first; ties broken by identifier so that the plan does not depend on input order.
  candidates.sort((a, b) => {
    const ta = a.createdAt?.getTime() ?? 0;
    const tb = b.createdAt?.getTime() ?? 0;
    return tb - ta || (a.identifier < b.identifier ? 1 : a.identifier > b.identifier ? -1 : 0);
  });

  const keepLast = Math.max(1, Math.floor(policy.keepLast));
  candidates.forEach((s, index) => {
    const age = ageDays(s);
    if (index === 0) decide(plan.keep, s, "newest-available");
    else if (index < keepLast) decide(plan.keep, s, "within-keep-last");
    else if (age === undefined || !(age > policy.maxAgeDays)) decide(plan.keep, s, "younger-than-max-age");
    else if (policy.protect?.has(s.identifier)) decide(plan.keep, s, "recovery-point");
    else if (s.drCopy !== undefined && s.drCopy !== "available")
      decide(plan.keep, s, "dr-copy-not-available");
    else decide(plan.delete, s, "expired");
  });
  return plan;
}

/**
 * The candidates whose copies DR retention would delete as soon as they became available: planned as if
 * every candidate were already copied next to the existing copies.
 */
export function copiesDrRetentionWouldDelete(
  drCopies: readonly RetentionSnapshot[],
  candidates: readonly RetentionSnapshot[],
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
