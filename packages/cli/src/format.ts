import type { RdsJobSummary } from "@gitpod-dr/core/rds/job";
import type { RetentionDecision } from "@gitpod-dr/core/rds/retention";

const list = (items: readonly string[]) => (items.length === 0 ? "-" : items.join(", "));

function decisions(items: readonly RetentionDecision[]): string {
  if (items.length === 0) return "-";
  return items
    .map(
      (d) =>
        `${d.identifier} (${d.reason}${d.ageDays === undefined ? "" : `, ${d.ageDays.toFixed(1)} days old`})`,
    )
    .join("\n                        ");
}

function reasons(items: readonly RetentionDecision[]): string {
  if (items.length === 0) return "-";
  const counts = new Map<string, number>();
  for (const d of items) counts.set(d.reason, (counts.get(d.reason) ?? 0) + 1);
  return `${items.length} (${[...counts].map(([reason, n]) => `${reason}: ${n}`).join(", ")})`;
}

/** The RDS job's summary as a person reads it in a terminal. */
export function formatRdsSummary(s: RdsJobSummary): string {
  const kind = s.database.kind === "instance" ? "DB instance" : "DB cluster";
  const lines = [
    `RDS snapshot job for ${s.database.identifier} (${kind}), window ${s.window}${s.dryRun ? "  [dry run: nothing was changed]" : ""}`,
    `  ${s.dryRun ? "would create" : "created"}:         ${list(s.created)}`,
    `  already existed:      ${list(s.alreadyExisted)}`,
    `  waiting for creation: ${list(s.waitingForCreation)}`,
    `  ${s.dryRun ? "would copy to DR" : "copied to DR"}:     ${list(s.copied)}`,
    `  copies in progress:   ${list(s.copiesInProgress)}`,
    `  copies deferred:      ${list(s.copiesDeferred)}`,
    `  not copied (older than DR retention keeps): ${list(s.notCopiedTooOld)}`,
    `  failed copies removed: ${list(s.failedCopiesRemoved)}`,
    `  ${s.dryRun ? "would delete" : "deleted"} (primary): ${decisions(s.deleted.primary)}`,
    `  ${s.dryRun ? "would delete" : "deleted"} (DR):      ${decisions(s.deleted.dr)}`,
    `  kept (primary):       ${reasons(s.kept.primary)}`,
    `  kept (DR):            ${reasons(s.kept.dr)}`,
  ];
  for (const w of s.warnings) lines.push(`  warning: ${w}`);
  for (const p of s.problems) lines.push(`  PROBLEM: ${p}`);
  return lines.join("\n");
}
