import type { KubeObject } from "./kube.ts";
import {
  BACKUP_PHASES,
  FAILED_PHASES,
  newestFirst,
  type PhaseReport,
  phaseReport,
  TERMINAL_PHASES,
} from "./status.ts";

/**
 * The verdict on the previous backups gitpod-dr made: a pure planner over the listed Backup objects.
 * `ageMinutes` is undefined when the object has no creation time (never taken as "now").
 */
export type Verdict =
  | { readonly kind: "none" }
  | {
      readonly kind: "good" | "running" | "failed";
      readonly report: PhaseReport;
      readonly ageMinutes: number | undefined;
    }
  | {
      readonly kind: "stuck";
      readonly report: PhaseReport;
      readonly ageMinutes: number;
      /** How long it has been in its phase, as far as can be told: the age, or for an expired `Deleting`
       * backup the minutes since it expired. */
      readonly phaseMinutes: number;
      /** When the phase is taken to have started, when that is not the creation time (an expired `Deleting`). */
      readonly phaseSince?: Date;
    }
  | {
      readonly kind: "unknown";
      readonly report: PhaseReport;
      readonly ageMinutes: number | undefined;
      /** `phase`: a phase Velero does not document; `no-creation-time`: not finished, and its age unknown. */
      readonly reason: "phase" | "no-creation-time";
    };

const minutesBetween = (from: Date, to: Date) =>
  Math.max(0, Math.floor((to.getTime() - from.getTime()) / 60_000));

/** Whether Velero documents the phase (see {@link BACKUP_PHASES}). */
export const isKnownBackupPhase = (phase: string): boolean => BACKUP_PHASES.has(phase);

/**
 * When a backup's current phase began, as far as the object tells. Velero records no time for
 * `Deleting`; its garbage collection deletes a backup only once it has expired (`status.expiration`),
 * so for an expired one the expiry is the earliest its deletion can have started: counting from there
 * (not from the creation, a TTL ago) keeps a deletion that just began from looking stuck, and still
 * reports one that never ends. A `velero backup delete` before expiry is counted from the creation.
 */
function phaseStart(backup: KubeObject, report: PhaseReport, now: Date): Date | undefined {
  if (report.phase !== "Deleting" || !report.createdAt) return report.createdAt;
  const raw = (backup.status as { expiration?: unknown } | undefined)?.expiration;
  const expiry = typeof raw === "string" ? new Date(raw) : undefined;
  if (!expiry || Number.isNaN(expiry.getTime())) return report.createdAt;
  return expiry > report.createdAt && expiry <= now ? expiry : report.createdAt;
}

/**
 * The verdict on the newest backups gitpod-dr made before this window's, by their current phase (a
 * backup Velero later flips from Failed to Completed is judged Completed). In order:
 * - `failed`: a backup since the newest Completed one failed (the newest failure);
 * - `stuck`: a backup in any phase that is not terminal — known or not, `Deleting` included — has been
 *   in it past the deadline (the oldest such backup);
 * - `unknown`: a backup is in a phase Velero does not document, or is not finished and has no creation
 *   time, so whether it is stuck cannot be told;
 * - `good` / `running`: the newest backup is Completed / still going within the deadline.
 */
export function judgePrevious(
  backups: readonly KubeObject[],
  current: string,
  now: Date,
  stuckAfterMinutes: number,
): Verdict {
  // Sorted newest first; a backup without a creation time sorts as the oldest.
  const previous = newestFirst(backups.filter((b) => b.metadata.name !== current));
  if (previous.length === 0) return { kind: "none" };
  const judged = previous.map((backup) => {
    const report = phaseReport(backup);
    const since = phaseStart(backup, report, now);
    return {
      report,
      ageMinutes: report.createdAt ? minutesBetween(report.createdAt, now) : undefined,
      since,
      phaseMinutes: since ? minutesBetween(since, now) : undefined,
    };
  });
  // Every backup since the newest Completed one counts, not just the newest: with a schedule shorter
  // than a backup's run, the one that fails is never the newest when the next run looks.
  const lastGood = judged.findIndex((j) => j.report.phase === "Completed");
  const sinceGood = lastGood < 0 ? judged : judged.slice(0, lastGood);
  const failed = sinceGood.find((j) => FAILED_PHASES.has(j.report.phase));
  if (failed) return { kind: "failed", report: failed.report, ageMinutes: failed.ageMinutes };

  // Not finished past the deadline means Velero is stuck (or down), whichever backup it is.
  const unfinished = judged.filter((j) => !TERMINAL_PHASES.has(j.report.phase));
  for (const j of [...unfinished].reverse()) {
    if (j.ageMinutes === undefined || j.phaseMinutes === undefined || j.phaseMinutes <= stuckAfterMinutes) {
      continue;
    }
    const phaseSince = j.since && j.since !== j.report.createdAt ? { phaseSince: j.since } : {};
    return {
      kind: "stuck",
      report: j.report,
      ageMinutes: j.ageMinutes,
      phaseMinutes: j.phaseMinutes,
      ...phaseSince,
    };
  }
  const undated = unfinished.find((j) => j.ageMinutes === undefined);
  if (undated)
    return { kind: "unknown", reason: "no-creation-time", report: undated.report, ageMinutes: undefined };
  const strange = unfinished.find((j) => !isKnownBackupPhase(j.report.phase));
  if (strange)
    return { kind: "unknown", reason: "phase", report: strange.report, ageMinutes: strange.ageMinutes };

  const newest = judged[0] as (typeof judged)[number];
  return {
    kind: newest.report.phase === "Completed" ? "good" : "running",
    report: newest.report,
    ageMinutes: newest.ageMinutes,
  };
}
