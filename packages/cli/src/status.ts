import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { type TierAge, tierAges } from "@gitpod-dr/core/catalog/ages";
import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import { type RecoveryPointResult, recoveryPoint } from "@gitpod-dr/core/catalog/recovery-point";
import { readCatalogView } from "@gitpod-dr/core/catalog/view";
import { catalogConfig, rpoTargets } from "@gitpod-dr/core/config/catalog";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { formatDuration } from "@gitpod-dr/core/restore/messages";
import { type RecoveryPointRef, recoveryPointRef } from "@gitpod-dr/core/restore/recovery-point";
import { parseJobFlags } from "./stage.ts";

/**
 * `gitpod-dr status --config config/<stage>.ts [--json]`: per tier the newest good copy in the
 * recovery-point catalog, its age, the RPO target and OK/BREACH; then the newest complete recovery point
 * and what a restore started now (`{}`) would use. Exit 0 when every tier is within its target, 1 when
 * one is not (a monitoring probe), 2 for bad usage.
 */

export interface StatusReport {
  readonly stage: string;
  readonly at: string;
  readonly catalog: { readonly tableName: string; readonly region: string };
  readonly tiers: readonly TierAge[];
  readonly recoveryPoint?: RecoveryPointRef;
  readonly missing?: readonly string[];
  /** What `{}` restores now: the recovery point's copies, else each tier's newest. */
  readonly restoreWouldUse: string;
}

const ageText = (seconds: number | undefined) =>
  seconds === undefined ? "-" : formatDuration(seconds * 1000).replace(/ \d+s$/, "");

function restoreWouldUse(point: RecoveryPointResult, hasRestore: boolean): string {
  if (!hasRestore) return "nothing: the stage configures no restore";
  if (!point.point) return "each tier's newest copy (no complete recovery point)";
  const p = point.point;
  return [
    `snapshot ${p.database.snapshotId}`,
    ...(p.application ? [`Velero backup ${p.application.backupName}`] : []),
  ].join(", ");
}

/** The report as a person reads it in one glance. */
export function formatStatus(r: StatusReport): string {
  const rows = [
    ["TIER", "NEWEST GOOD COPY", "AGE", "RPO", "STATUS"],
    ...r.tiers.flatMap((t) => [
      [t.tier, t.newest, ageText(t.ageSeconds), ageText(t.targetSeconds), t.status],
      ...(t.buckets ?? []).map((b) => [`  ${b.bucket}`, "", ageText(b.ageSeconds), "", ""]),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length))) ?? [];
  const table = rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
      .join("  ")
      .trimEnd(),
  );
  const p = r.recoveryPoint;
  return [
    `gitpod-dr status of stage ${r.stage} at ${r.at} (catalog ${r.catalog.tableName} in ${r.catalog.region})`,
    "",
    ...table,
    "",
    p
      ? `Newest complete recovery point: ${p.recoveryTime} (snapshot ${p.snapshot}${p.veleroBackup ? `, Velero backup ${p.veleroBackup}` : ""})${p.applicationGapFlagged ? "; the Velero backup is more than a backup period newer than the snapshot" : ""}`
      : `Newest complete recovery point: none (${(r.missing ?? []).join("; ")})`,
    `A restore started now ({}) would use: ${r.restoreWouldUse}`,
  ].join("\n");
}

/**
 * Reads the catalog and builds the report.
 * @throws CatalogReadError when the catalog cannot be read.
 */
export async function statusReport(file: string, now: Date): Promise<StatusReport> {
  const { stage, config } = await loadStageConfigFile(file);
  const catalog = catalogConfig(stage, config);
  const store = catalogStore(catalog, new ClientCache());
  if (!store) throw new Error("unreachable: a stage always has a catalog");
  const view = await readCatalogView(store, catalog.scope);
  const targets = Object.fromEntries(
    Object.entries(rpoTargets(config)).map(([tier, ms]) => [tier, Math.round(ms / 1000)]),
  );
  const point = recoveryPoint(view, catalog.scope);
  return {
    stage,
    at: now.toISOString(),
    catalog: { tableName: catalog.tableName, region: catalog.region },
    tiers: tierAges(view, catalog.scope, targets, now),
    ...(point.point ? { recoveryPoint: recoveryPointRef(point.point, now) } : { missing: point.missing }),
    restoreWouldUse: restoreWouldUse(point, Boolean(config.restore)),
  };
}

/** `gitpod-dr status --config FILE [--json]`. */
export async function statusCommand(
  args: string[],
  io: { out: (text: string) => void },
  now: () => Date = () => new Date(),
): Promise<number> {
  const values = parseJobFlags(args, {});
  if (values["dry-run"]) throw new InvalidInputError("status changes nothing: it takes no --dry-run");
  if (!values.config)
    throw new InvalidInputError("status needs --config FILE (for example --config config/prod.ts)");
  const report = await statusReport(values.config, now());
  io.out(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
  return report.tiers.every((t) => t.status === "OK") ? 0 : 1;
}
