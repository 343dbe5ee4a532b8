import type { RdsJobSummary } from "@gitpod-dr/core/rds/job";
import type { RetentionDecision } from "@gitpod-dr/core/rds/retention";
import type { ImageReport } from "@gitpod-dr/core/registry/copy";
import type { ImageSyncSummary } from "@gitpod-dr/core/registry/job";

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

/** Bytes as a person reads them: 1.2 GB, 34.5 MB, 12 KB. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** One image's copy report on one line (and its error on the next). */
export function formatImageReport(r: ImageReport): string {
  const what =
    r.status === "failed"
      ? "FAILED"
      : r.status === "up-to-date"
        ? "up to date"
        : `copied ${formatBytes(r.bytesMoved)} (${r.blobsCopied} blob(s) copied, ${r.blobsSkipped} present, ${r.blobsMounted} mounted)`;
  const digest = r.digest ? ` ${r.digest}` : "";
  const line = `${r.source} → ${r.destination}: ${what}${digest} in ${(r.durationMs / 1000).toFixed(1)} s`;
  return r.error
    ? `${line}\n  ${r.error.name}${r.error.code ? ` (${r.error.code})` : ""}: ${r.error.message}`
    : line;
}

/** The image sync summary as a person reads it. */
export function formatSyncSummary(s: ImageSyncSummary): string {
  const t = s.totals;
  const lines = [
    `Image sync of stage ${s.stage}${s.dryRun ? "  [dry run: nothing was changed]" : ""}`,
    `  copied: ${t.copied}, up to date: ${t.upToDate}, failed: ${t.failed}, left for the next run: ${t.deferred}`,
    `  moved ${formatBytes(t.bytesMoved)}: ${t.blobsCopied} blob(s) copied, ${t.blobsSkipped} already present, ${t.blobsMounted} mounted`,
    `  repositories created: ${list(s.repositoriesCreated)}`,
  ];
  if (s.dryRun)
    lines.push(`  would copy: ${s.wouldCopy.length === 0 ? "-" : `\n    ${s.wouldCopy.join("\n    ")}`}`);
  if (s.deferred.length > 0) lines.push(`  left for the next run:\n    ${s.deferred.join("\n    ")}`);
  return lines.join("\n");
}

/**
 * A hint for OpenSSL's "wrong version number": the registry spoke plain HTTP to our HTTPS. Names the
 * registries not already given with `--insecure-registry`; undefined for any other message.
 */
export function tlsHint(
  message: string,
  registries: readonly string[],
  insecure: readonly string[] = [],
): string | undefined {
  if (!/wrong version number|packet length too long|http request/i.test(message)) return undefined;
  const hosts = [...new Set(registries)].filter((h) => !insecure.includes(h));
  const flags = hosts.map((h) => `--insecure-registry ${h}`).join(" ") || "--insecure-registry HOST:PORT";
  return `hint: the registry answered HTTPS with plain HTTP. If it is a local registry without TLS, add ${flags}`;
}
