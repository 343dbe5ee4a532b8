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
  for (let t = firstMidnight, day = 1; t <= end; t += DAY_MS, day++) {
    const at = new Date(t).toISOString();
    parts.push(line(x(at), top - 4, x(at), bottom, COLOURS.grid));
    parts.push(text(x(at) + 3, top - 8, `day ${day} · ${at.slice(5, 10)}`, `fill="${COLOURS.muted}"`));
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

/** Steps grouped by branch, each group in the order its first step started. */
export function groupSteps(steps: readonly RehearsalStep[]): [string, RehearsalStep[]][] {
  const groups = new Map<string, RehearsalStep[]>();
  for (const step of [...steps].sort((a, b) => a.startSeconds - b.startSeconds)) {
    const key = step.branch ?? "main";
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  return [...groups];
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
  const rowCount = groups.reduce((sum, [, steps]) => sum + steps.length + 1, 0);
  const bottom = top + rowCount * 22;
  const parts = [svgOpen(width, bottom + 34, `The restore's steps, ${report.scenario}`)];
  for (let m = 0; m <= axisMinutes; m += tick) {
    parts.push(line(x(m * 60), top - 6, x(m * 60), bottom, COLOURS.grid));
    parts.push(text(x(m * 60), bottom + 16, `${m} min`, `fill="${COLOURS.muted}" text-anchor="middle"`));
  }
  let row = 0;
  groups.forEach(([branch, steps], g) => {
    const colour = BRANCH_COLOURS[g % BRANCH_COLOURS.length] as string;
    parts.push(text(8, top + row * 22 + 15, branch, `font-weight="bold" fill="${colour}"`));
    row++;
    for (const s of steps) {
      const y = top + row * 22 + 4;
      const x0 = x(s.startSeconds);
      const w = Math.max(2, x(s.endSeconds) - x0);
      const took = Math.round(s.endSeconds - s.startSeconds);
      const failed = s.outcome === "failed";
      parts.push(text(20, y + 11, s.name.length > 32 ? `${s.name.slice(0, 31)}…` : s.name));
      parts.push(
        `<rect x="${n(x0)}" y="${n(y)}" width="${n(w)}" height="14" rx="2" fill="${colour}"${failed ? ` stroke="${COLOURS.failed}" stroke-width="2" fill-opacity="0.4"` : ""}><title>${esc(`${s.name}: +${s.startSeconds}s to +${s.endSeconds}s (${s.outcome})`)}</title></rect>`,
      );
      const label = `${formatDuration(took * 1000)}${failed ? " failed" : ""}`;
      parts.push(text(x0 + w + 4, y + 11, label, `fill="${failed ? COLOURS.failed : COLOURS.muted}"`));
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
