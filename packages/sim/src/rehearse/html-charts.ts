/**
 * The rehearsal report's two pictures, as inline SVG (presentation attributes only, no CSS or script,
 * so each also stands alone as an .svg file): the timeline of the backups over the virtual days, and the
 * restore's steps as a Gantt chart grouped by parallel branch.
 */
import { formatDuration } from "@gitpod-dr/core/restore/messages";
import type { RehearsalBackup, RehearsalReport, RehearsalStep } from "./types.ts";
import { TIERS } from "./types.ts";

/** Text or an attribute value, escaped for HTML and XML alike. */
export const esc = (text: string): string =>
  text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");

export const COLOURS = {
  ok: "#2e7d32",
  warning: "#ef6c00",
  failed: "#c62828",
  grid: "#d0d7de",
  text: "#1f2328",
  muted: "#656d76",
  disaster: "#c62828",
  recovery: "#0969da",
} as const;

const BRANCH_COLOURS = ["#0969da", "#8250df", "#1a7f37", "#bf8700", "#cf222e", "#0550ae"];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const n = (x: number) => (Math.round(x * 10) / 10).toString();

function svgOpen(width: number, height: number, label: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" ${FONT} font-size="12">`;
}

function text(x: number, y: number, content: string, attrs = ""): string {
  const fill = /\bfill=/.test(attrs) ? "" : ` fill="${COLOURS.text}"`;
  return `<text x="${n(x)}" y="${n(y)}"${fill}${attrs ? ` ${attrs}` : ""}>${esc(content)}</text>`;
}

function line(x1: number, y1: number, x2: number, y2: number, stroke: string, attrs = ""): string {
  return `<line x1="${n(x1)}" y1="${n(y1)}" x2="${n(x2)}" y2="${n(y2)}" stroke="${stroke}"${attrs ? ` ${attrs}` : ""}/>`;
}

const DAY_MS = 86_400_000;
const LABEL_WIDTH = 130;
const ROW = 26;

/** The rows of the timeline: the four tiers always, then the watchdog and the drill when they ran. */
function timelineRows(backups: readonly RehearsalBackup[]): RehearsalBackup["tier"][] {
  const extra = (["watchdog", "drill"] as const).filter((t) => backups.some((b) => b.tier === t));
  return [...TIERS, ...extra];
}

/**
 * The backups per tier over the virtual days: one mark per backup (coloured by outcome, its label as a
 * tooltip), a line per midnight, the disaster and the recovery point used as vertical lines, and the
 * alarms that changed state in a row of their own.
 */
export function timelineSvg(report: RehearsalReport, width = 960): string {
  const start = Date.parse(report.clock.start);
  const end = Math.max(Date.parse(report.clock.end), Date.parse(report.clock.disasterAt), start + 1);
  const rows = timelineRows(report.backups);
  const hasAlarms = report.alarms.length > 0;
  const top = 34;
  // Room on the right for the disaster's label when it falls at the end.
  const plotWidth = width - LABEL_WIDTH - 70;
  const height = top + (rows.length + (hasAlarms ? 1 : 0)) * ROW + 44;
  const x = (iso: string) => LABEL_WIDTH + ((Date.parse(iso) - start) / (end - start)) * plotWidth;
  const rowY = (i: number) => top + i * ROW + ROW / 2;
  const bottom = top + (rows.length + (hasAlarms ? 1 : 0)) * ROW;
  const parts: string[] = [svgOpen(width, height, `Timeline of the backups, scenario ${report.scenario}`)];

  // A line and a label per midnight (UTC) of the virtual days.
  const firstMidnight = Math.ceil(start / DAY_MS) * DAY_MS;
  for (let t = firstMidnight; t <= end; t += DAY_MS) {
    const at = new Date(t).toISOString();
    parts.push(line(x(at), top - 4, x(at), bottom, COLOURS.grid));
    parts.push(text(x(at) + 3, top - 8, at.slice(0, 10), `fill="${COLOURS.muted}"`));
  }
  rows.forEach((tier, i) => {
    parts.push(
      line(LABEL_WIDTH, rowY(i), LABEL_WIDTH + plotWidth, rowY(i), COLOURS.grid, 'stroke-dasharray="2 3"'),
    );
    parts.push(text(8, rowY(i) + 4, tier));
    for (const b of report.backups.filter((backup) => backup.tier === tier)) {
      parts.push(
        `<circle cx="${n(x(b.at))}" cy="${n(rowY(i))}" r="4" fill="${COLOURS[b.outcome]}"><title>${esc(`${b.at} ${b.label} (${b.outcome})`)}</title></circle>`,
      );
    }
  });
  if (hasAlarms) {
    const y = rowY(rows.length);
    parts.push(text(8, y + 4, "alarms"));
    for (const a of report.alarms) {
      const cx = x(a.at);
      const fill = a.state === "ALARM" ? COLOURS.failed : a.state === "OK" ? COLOURS.ok : COLOURS.muted;
      parts.push(
        `<path d="M${n(cx)} ${n(y - 6)} L${n(cx + 6)} ${n(y + 5)} L${n(cx - 6)} ${n(y + 5)} Z" fill="${fill}"><title>${esc(`${a.at} ${a.name} ${a.state}: ${a.reason}`)}</title></path>`,
      );
    }
  }
  if (report.recoveryPoint.recoveryTime) {
    const rx = x(report.recoveryPoint.recoveryTime);
    parts.push(line(rx, top - 4, rx, bottom, COLOURS.recovery, 'stroke-width="2"'));
    parts.push(text(rx - 4, bottom + 16, "recovery point", `fill="${COLOURS.recovery}" text-anchor="end"`));
  }
  const dx = x(report.clock.disasterAt);
  parts.push(line(dx, top - 4, dx, bottom, COLOURS.disaster, 'stroke-width="2" stroke-dasharray="6 3"'));
  parts.push(text(dx + 4, bottom + 16, "disaster", `fill="${COLOURS.disaster}" font-weight="bold"`));
  // The legend of the marks' colours.
  (["ok", "warning", "failed"] as const).forEach((outcome, i) => {
    const lx = LABEL_WIDTH + i * 90;
    parts.push(`<circle cx="${lx}" cy="${bottom + 32}" r="4" fill="${COLOURS[outcome]}"/>`);
    parts.push(text(lx + 8, bottom + 36, outcome, `fill="${COLOURS.muted}"`));
  });
  parts.push("</svg>");
  return parts.join("\n");
}

/** A tick interval in minutes giving at most about ten ticks. */
export function tickMinutes(totalMinutes: number): number {
  for (const step of [1, 2, 5, 10, 15, 30, 60, 120, 240]) if (totalMinutes / step <= 10) return step;
  return 480;
}

/** One row of the restore chart: a state and each time it ran (a polling loop runs its check many times). */
export interface StepRow {
  readonly name: string;
  readonly branch: string;
  readonly runs: readonly RehearsalStep[];
  /** From the first run's start to the last run's end, in seconds from the restore's start. */
  readonly startSeconds: number;
  readonly endSeconds: number;
  readonly outcome: "ok" | "failed";
}

/**
 * The steps as rows, a row per state and branch (steps outside a branch are "main"), grouped by branch;
 * the groups, and the rows in each, in the order they first started.
 */
export function groupSteps(steps: readonly RehearsalStep[]): [string, StepRow[]][] {
  const groups = new Map<string, Map<string, RehearsalStep[]>>();
  for (const step of [...steps].sort((a, b) => a.startSeconds - b.startSeconds)) {
    const branch = step.branch ?? "main";
    const rows = groups.get(branch) ?? new Map<string, RehearsalStep[]>();
    groups.set(branch, rows);
    rows.set(step.name, [...(rows.get(step.name) ?? []), step]);
  }
  return [...groups].map(([branch, rows]) => [
    branch,
    [...rows].map(([name, runs]) => ({
      name,
      branch,
      runs,
      startSeconds: Math.min(...runs.map((r) => r.startSeconds)),
      endSeconds: Math.max(...runs.map((r) => r.endSeconds)),
      outcome: runs.every((r) => r.outcome === "ok") ? "ok" : "failed",
    })),
  ]);
}

/** The restore's steps as bars on an axis of minutes since the restore started, grouped by branch. */
export function ganttSvg(report: RehearsalReport, width = 960): string {
  const groups = groupSteps(report.rto.steps);
  const labelWidth = 230;
  const plotWidth = width - labelWidth - 80;
  const totalSeconds = Math.max(report.rto.totalSeconds, ...report.rto.steps.map((s) => s.endSeconds), 60);
  const totalMinutes = totalSeconds / 60;
  const tick = tickMinutes(totalMinutes);
  const axisMinutes = Math.ceil(totalMinutes / tick) * tick;
  const x = (seconds: number) => labelWidth + (seconds / 60 / axisMinutes) * plotWidth;
  const top = 30;
  const rowCount = groups.reduce((sum, [, rows]) => sum + rows.length + 1, 0);
  const bottom = top + rowCount * 22;
  const parts = [svgOpen(width, bottom + 34, `The restore's steps, ${report.scenario}`)];
  for (let m = 0; m <= axisMinutes; m += tick) {
    parts.push(line(x(m * 60), top - 6, x(m * 60), bottom, COLOURS.grid));
    parts.push(text(x(m * 60), bottom + 16, `${m} min`, `fill="${COLOURS.muted}" text-anchor="middle"`));
  }
  let row = 0;
  groups.forEach(([branch, rows], g) => {
    const colour = BRANCH_COLOURS[g % BRANCH_COLOURS.length] as string;
    parts.push(text(8, top + row * 22 + 15, branch, `font-weight="bold" fill="${colour}"`));
    row++;
    for (const r of rows) {
      const y = top + row * 22 + 4;
      parts.push(text(20, y + 11, r.name.length > 32 ? `${r.name.slice(0, 31)}…` : r.name));
      // A state that ran more than once (a polling check): a thin line over the whole wait, a bar per run.
      if (r.runs.length > 1) parts.push(line(x(r.startSeconds), y + 7, x(r.endSeconds), y + 7, colour));
      for (const s of r.runs) {
        const x0 = x(s.startSeconds);
        const w = Math.max(2, x(s.endSeconds) - x0);
        parts.push(
          `<rect x="${n(x0)}" y="${n(y)}" width="${n(w)}" height="14" rx="2" fill="${colour}"${s.outcome === "failed" ? ` stroke="${COLOURS.failed}" stroke-width="2" fill-opacity="0.4"` : ""}><title>${esc(`${s.name}: +${s.startSeconds}s to +${s.endSeconds}s (${s.outcome})`)}</title></rect>`,
        );
      }
      const span = formatDuration((r.endSeconds - r.startSeconds) * 1000);
      const label = `${r.runs.length > 1 ? `${r.runs.length} runs over ${span}` : span}${r.outcome === "failed" ? " failed" : ""}`;
      const end = Math.max(x(r.endSeconds), x(r.startSeconds) + 2);
      parts.push(
        text(end + 4, y + 11, label, `fill="${r.outcome === "failed" ? COLOURS.failed : COLOURS.muted}"`),
      );
      row++;
    }
  });
  if (report.rto.totalSeconds > 0) {
    const tx = x(report.rto.totalSeconds);
    parts.push(line(tx, top - 6, tx, bottom, COLOURS.text, 'stroke-width="1.5" stroke-dasharray="4 2"'));
    parts.push(text(tx, top - 10, "restored", 'text-anchor="middle" font-weight="bold"'));
  }
  parts.push("</svg>");
  return parts.join("\n");
}
