/**
 * `gitpod-dr rehearse --report FILE.html`: the rehearsal report as one self-contained page. Inline CSS
 * and SVG, no script, no external asset (it opens from a CI artifact or an e-mail attachment). Written as
 * well-formed XML (polyglot HTML), so any XML parser reads it too.
 */
import { formatDuration } from "@gitpod-dr/core/restore/messages";
import { COLOURS, esc, ganttSvg, timelineSvg } from "./html-charts.ts";
import type { RehearsalReport } from "./types.ts";
import { TIERS } from "./types.ts";

const CSS = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; margin: 24px auto; max-width: 1000px; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; }
h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #d0d7de; padding-bottom: 4px; }
.verdict { display: inline-block; padding: 2px 10px; border-radius: 12px; color: #fff; font-weight: bold; }
.passed { background: ${COLOURS.ok}; } .failed { background: ${COLOURS.failed}; }
.muted { color: #656d76; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { text-align: left; padding: 3px 12px 3px 0; vertical-align: top; }
th { border-bottom: 1px solid #d0d7de; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.ok { color: ${COLOURS.ok}; } .warning { color: ${COLOURS.warning}; } .error, .bad { color: ${COLOURS.failed}; }
figure { margin: 8px 0; overflow-x: auto; }
article { border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; margin: 10px 0; }
article h3 { font-size: 14px; margin: 0 0 4px; }
pre { white-space: pre-wrap; word-break: break-word; background: #f6f8fa; padding: 8px; border-radius: 4px; margin: 4px 0 0; font-size: 12px; }
`;

/** Virtual seconds as `1h 02m 03s`, `4m 05s`, `6s`. */
const duration = (seconds: number): string => formatDuration(seconds * 1000);

const cell = (content: string, cls = "") => `<td${cls ? ` class="${cls}"` : ""}>${esc(content)}</td>`;
const table = (head: readonly string[], rows: readonly string[]) =>
  `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;

function rpoRto(r: RehearsalReport): string {
  const rpo = table(
    ["Tier", "RPO at the disaster", "Recovery point used"],
    TIERS.map((t) => {
      const value = r.rpo[t];
      return `<tr>${cell(t)}${cell(value === null ? "no recovery point" : duration(value), value === null ? "bad" : "num")}${cell(r.recoveryPoint[t] ?? "-")}</tr>`;
    }),
  );
  const steps = table(
    ["Step", "Branch", "Start", "End", "Took", "Outcome"],
    [
      ...r.rto.steps.map(
        (s) =>
          `<tr>${cell(s.name)}${cell(s.branch ?? "-")}${cell(`+${duration(s.startSeconds)}`, "num")}${cell(`+${duration(s.endSeconds)}`, "num")}${cell(duration(s.endSeconds - s.startSeconds), "num")}${cell(s.outcome, s.outcome === "ok" ? "ok" : "bad")}</tr>`,
      ),
      `<tr><th>Total</th><th></th><th></th><th></th><th>${esc(duration(r.rto.totalSeconds))}</th><th></th></tr>`,
    ],
  );
  return [
    "<h2>RPO and RTO</h2>",
    `<p>Recovery time used: <b>${esc(r.recoveryPoint.recoveryTime ?? "none")}</b>. RTO <b>${esc(duration(r.rto.totalSeconds))}</b>, of which ${esc(duration(r.rto.overheadSeconds))} over the slowest parallel branch.</p>`,
    rpo,
    steps,
  ].join("\n");
}

function alarms(r: RehearsalReport): string {
  if (r.alarms.length === 0) return "<h2>Alarms</h2>\n<p>No alarm changed state.</p>";
  return `<h2>Alarms</h2>\n${table(
    ["Time", "Alarm", "State", "Reason"],
    r.alarms.map(
      (a) =>
        `<tr>${cell(a.at)}${cell(a.name)}${cell(a.state, a.state === "ALARM" ? "bad" : "ok")}${cell(a.reason)}</tr>`,
    ),
  )}`;
}

function findings(r: RehearsalReport): string {
  if (r.findings.length === 0) return "<h2>Findings</h2>\n<p>No configuration problem found.</p>";
  return `<h2>Findings</h2>\n${table(
    ["Severity", "Field", "Problem"],
    r.findings.map((f) => `<tr>${cell(f.severity, f.severity)}${cell(f.field)}${cell(f.message)}</tr>`),
  )}`;
}

function messages(r: RehearsalReport): string {
  const items = r.messages.map(
    (m, i) =>
      `<article id="message-${i + 1}"><h3>${esc(m.subject)}</h3><div class="muted">${esc(m.at)} · ${esc(m.topicArn)}</div><pre>${esc(m.body)}</pre></article>`,
  );
  return [
    `<h2>SNS messages (${r.messages.length})</h2>`,
    '<p class="muted">Every message the run would have published, subject and body exactly as sent.</p>',
    ...(items.length > 0 ? items : ["<p>None.</p>"]),
  ].join("\n");
}

/** The whole page. */
export function renderReportHtml(r: RehearsalReport): string {
  const title = `gitpod-dr rehearsal: ${r.scenario} ${r.verdict}`;
  return `<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Rehearsal: ${esc(r.scenario)} <span class="verdict ${r.verdict}">${esc(r.verdict.toUpperCase())}</span></h1>
<p>${esc(r.expectation)}</p>
${r.reasons.length > 0 ? `<ul>${r.reasons.map((reason) => `<li>${esc(reason)}</li>`).join("")}</ul>` : ""}
<p class="muted">Stage <b>${esc(r.config.stage)}</b> from ${esc(r.config.path)}: primary ${esc(r.config.primaryRegion)}, DR ${esc(r.config.drRegion)}. Virtual time ${esc(r.clock.start)} to ${esc(r.clock.end)}, disaster at ${esc(r.clock.disasterAt)}; ${esc(r.wallSeconds.toFixed(1))} s of wall time.</p>
<h2>Backups before the disaster</h2>
<figure id="timeline">
${timelineSvg(r)}
</figure>
<h2>The restore</h2>
<figure id="restore">
${ganttSvg(r)}
</figure>
${rpoRto(r)}
${alarms(r)}
${findings(r)}
${messages(r)}
</body>
</html>
`;
}
