import { formatDuration } from "@gitpod-dr/core/restore/messages";
import { groupSteps } from "@gitpod-dr/sim/rehearse/html-charts";
import {
  type RehearsalEvent,
  type RehearsalReport,
  type RehearsalStep,
  TIERS,
} from "@gitpod-dr/sim/rehearse/types";

/** A virtual time as a person reads it in a log: `2026-12-01 03:00:00`. */
export const virtualTime = (iso: string): string => iso.replace("T", " ").replace(/(\.\d+)?Z$/, "");

const MARK = { ok: "✓", failed: "✗", warning: "!" } as const;

/** One line per event: virtual time, kind, outcome mark, text. */
export function formatEvent(event: RehearsalEvent): string {
  const mark = event.outcome ? MARK[event.outcome] : " ";
  return `${virtualTime(event.at)}  ${event.kind.padEnd(8)} ${mark} ${event.text}`;
}

/** The terminal's progress line: a bar, the percentage and what happens now. */
export function formatProgress(event: RehearsalEvent, fraction: number, width = 24): string {
  const done = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  const pct = String(Math.round(fraction * 100)).padStart(3);
  const text = event.text.length > 60 ? `${event.text.slice(0, 59)}…` : event.text;
  return `[${"#".repeat(done)}${".".repeat(width - done)}] ${pct}%  ${virtualTime(event.at)}  ${text}`;
}

export const seconds = (s: number | null | undefined): string =>
  s === null || s === undefined ? "-" : formatDuration(s * 1000);

/** Rows as columns two spaces apart (the last column not padded). */
export function columns(rows: readonly (readonly string[])[], indent = "  "): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((row) => (row[i] ?? "").length)));
  return rows.map(
    (row) =>
      indent +
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
  );
}

/** A row per state and branch (a polling check's runs in one), in the order they first started. */
function stepRows(steps: readonly RehearsalStep[]): string[] {
  const rows = groupSteps(steps)
    .flatMap(([, branchRows]) => branchRows)
    .sort((a, b) => a.startSeconds - b.startSeconds);
  return columns([
    ["STEP", "BRANCH", "START", "END", "TOOK", ""],
    ...rows.map((r) => [
      r.runs.length > 1 ? `${r.name} ×${r.runs.length}` : r.name,
      r.branch === "main" ? "-" : r.branch,
      `+${seconds(r.startSeconds)}`,
      `+${seconds(r.endSeconds)}`,
      seconds(r.endSeconds - r.startSeconds),
      r.outcome === "ok" ? MARK.ok : MARK.failed,
    ]),
  ]);
}

function recoveryPointLine(r: RehearsalReport): string {
  const p = r.recoveryPoint;
  const parts = [
    ...(p.database ? [`database ${p.database}`] : []),
    ...(p.objectStorage ? [`object storage ${p.objectStorage}`] : []),
    ...(p.images ? [`images ${p.images}`] : []),
    ...(p.application ? [`application ${p.application}`] : []),
  ];
  const time = p.recoveryTime ? virtualTime(p.recoveryTime) : "none";
  return `Recovery point used: ${time}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}`;
}

/** The summary printed after the events: verdict, RPO, recovery point, RTO, alarms, messages, findings. */
export function formatSummary(r: RehearsalReport): string {
  const fired = r.alarms.filter((a) => a.state === "ALARM");
  return [
    "",
    `Verdict: ${r.verdict.toUpperCase()}  (${r.scenario}: ${r.expectation})`,
    ...r.reasons.map((reason) => `  - ${reason}`),
    `Stage ${r.config.stage} from ${r.config.path}: primary ${r.config.primaryRegion}, DR ${r.config.drRegion}; virtual ${virtualTime(r.clock.start)} to ${virtualTime(r.clock.end)}`,
    "",
    `RPO at the disaster (${virtualTime(r.clock.disasterAt)}):`,
    ...columns(TIERS.map((t) => [t, r.rpo[t] === null ? "no recovery point" : seconds(r.rpo[t])])),
    recoveryPointLine(r),
    "",
    `RTO: ${seconds(r.rto.totalSeconds)} total, ${seconds(r.rto.overheadSeconds)} over the slowest parallel branch`,
    ...(r.rto.steps.length > 0 ? stepRows(r.rto.steps) : ["  (no restore step ran)"]),
    "",
    `Alarms fired: ${fired.length}`,
    ...columns(r.alarms.map((a) => [virtualTime(a.at), a.state, a.name, a.reason])),
    `SNS messages: ${r.messages.length} (bodies in --json and --report FILE.html)`,
    ...columns(r.messages.map((m) => [virtualTime(m.at), m.subject])),
    `Findings: ${r.findings.length === 0 ? "none" : r.findings.length}`,
    ...columns(r.findings.map((f) => [f.severity, f.field, f.message])),
    "",
    `Wall time: ${r.wallSeconds.toFixed(1)} s`,
  ].join("\n");
}
