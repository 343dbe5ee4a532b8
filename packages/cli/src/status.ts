import { ClientCache } from "@gitpod-dr/core/aws/cache";
import { type TierAge, tierAges } from "@gitpod-dr/core/catalog/ages";
import { catalogStore } from "@gitpod-dr/core/catalog/clients";
import { type RecoveryPointResult, recoveryPoint } from "@gitpod-dr/core/catalog/recovery-point";
import { readCatalogView } from "@gitpod-dr/core/catalog/view";
import { catalogConfig, rpoTargets } from "@gitpod-dr/core/config/catalog";
import { loadStageConfigFile } from "@gitpod-dr/core/config-file";
import { lastDrill } from "@gitpod-dr/core/drill/recovery-points";
import type { DrillRto } from "@gitpod-dr/core/drill/types";
import { InvalidInputError } from "@gitpod-dr/core/errors";
import { formatDuration } from "@gitpod-dr/core/restore/messages";
import { type RecoveryPointRef, recoveryPointRef } from "@gitpod-dr/core/restore/recovery-point";
import { parseJobFlags } from "./stage.ts";

/**
 * `gitpod-dr status --config config/<stage>.ts [--json]`: per tier the newest good copy in the
 * recovery-point catalog, its age, the RPO target and OK/BREACH; then the newest complete recovery point
 * and what a restore started now (`{}`) would use; then the last restore drill. Exit 0 when every tier is within its target, 1 when
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
  /** The last restore drill recorded in the catalog (absent: none yet). */
  readonly lastDrill?: LastDrill;
}

export interface LastDrill {
  readonly drillId: string;
  readonly finishedAt: string;
  readonly ageSeconds: number;
  readonly recoveryPointId: string;
  readonly recoveryTime: string;
  readonly verdict: "PASSED" | "FAILED";
  /** Measured RTO in seconds, per tier and total. */
  readonly rto?: DrillRto;
  readonly failure?: { readonly step: string; readonly error: string; readonly cause: string };
}

function rtoText(rto: DrillRto | undefined): string {
  if (!rto) return "RTO not measured";
  const tiers = (["database", "application"] as const).flatMap((t) =>
    rto[t] !== undefined ? [`${t} ${ageText(rto[t])}`] : [],
  );
  return `RTO ${ageText(rto.total)}${tiers.length > 0 ? ` (${tiers.join(", ")})` : ""}`;
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
    ...(r.lastDrill
      ? [
          [
            "last drill",
            `recovery point ${r.lastDrill.recoveryPointId}, ${rtoText(r.lastDrill.rto)}`,
            ageText(r.lastDrill.ageSeconds),
            "",
            r.lastDrill.verdict,
          ],
        ]
      : [["last drill", "none recorded", "-", "", ""]]),
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
    ...(r.lastDrill
      ? [
          `Last drill: ${r.lastDrill.drillId} finished ${r.lastDrill.finishedAt}, ${r.lastDrill.verdict}: recovery point ${r.lastDrill.recoveryPointId} (recovery time ${r.lastDrill.recoveryTime}), ${rtoText(r.lastDrill.rto)}${r.lastDrill.failure ? `; failed at ${r.lastDrill.failure.step}: ${r.lastDrill.failure.error}` : ""}`,
        ]
      : []),
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
  const [view, drill] = await Promise.all([readCatalogView(store, catalog.scope), lastDrill(store)]);
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
    ...(drill
      ? {
          lastDrill: {
            drillId: drill.drillId,
            finishedAt: drill.finishedAt,
            ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(drill.finishedAt)) / 1000)),
            recoveryPointId: drill.recoveryPointId,
            recoveryTime: drill.recoveryTime,
            verdict: drill.succeeded ? "PASSED" : "FAILED",
            ...(drill.rto ? { rto: drill.rto } : {}),
            ...(drill.failure ? { failure: drill.failure } : {}),
          },
        }
      : {}),
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
