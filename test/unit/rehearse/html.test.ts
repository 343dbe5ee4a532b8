/**
 * The HTML report: one self-contained page that a strict XML parser reads (fast-xml-parser, already in
 * node_modules through the AWS SDK), with the backups' timeline, the restore's Gantt chart, the RPO/RTO
 * table, the alarms, the findings, and every SNS message with its body escaped.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { renderReportHtml } from "../../../packages/sim/src/rehearse/html.ts";
import {
  ganttSvg,
  groupSteps,
  tickMinutes,
  timelineSvg,
} from "../../../packages/sim/src/rehearse/html-charts.ts";
import { sampleReport } from "./sample-report.ts";

type Node = Record<string, unknown> & { ":@"?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: "",
  trimValues: false,
});

/** Every element named `tag` in document order (preserveOrder's tree). */
function elements(tree: Node[], tag: string): Node[] {
  const found: Node[] = [];
  const visit = (nodes: Node[]) => {
    for (const node of nodes) {
      for (const [key, value] of Object.entries(node)) {
        if (key === ":@" || key === "#text") continue;
        if (key === tag) found.push(node);
        if (Array.isArray(value)) visit(value as Node[]);
      }
    }
  };
  visit(tree);
  return found;
}

/** The text inside an element, entities decoded. */
function textOf(node: Node): string {
  let out = "";
  const visit = (value: unknown) => {
    if (Array.isArray(value)) for (const v of value) visit(v);
    else if (value && typeof value === "object")
      for (const [k, v] of Object.entries(value)) {
        if (k === "#text") out += String(v);
        else if (k !== ":@") visit(v);
      }
  };
  visit(node);
  return out;
}

const byId = (tree: Node[], tag: string, id: string) => elements(tree, tag).find((e) => e[":@"]?.id === id);

describe("the HTML report", () => {
  const report = sampleReport();
  const html = renderReportHtml(report);
  const tree = parser.parse(html) as Node[];

  it("is well-formed (strict XML) and self-contained: no script, no external asset", () => {
    expect(XMLValidator.validate(html)).toBe(true);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(elements(tree, "script")).toEqual([]);
    expect(elements(tree, "link")).toEqual([]);
    expect(elements(tree, "img")).toEqual([]);
    // The only URLs are the SVG and XHTML namespaces.
    const urls = [...html.matchAll(/(?:https?:)?\/\/[^\s"'<)]+/g)].map((m) => m[0]);
    expect(new Set(urls)).toEqual(new Set(["http://www.w3.org/2000/svg", "http://www.w3.org/1999/xhtml"]));
    expect(elements(tree, "style")).toHaveLength(1);
  });

  it("has the timeline: a mark per backup on its tier's row, the disaster and the recovery point", () => {
    const figure = byId(tree, "figure", "timeline") as Node;
    // A mark per backup, and the legend's three.
    const circles = elements([figure], "circle").filter((c) => textOf(c) !== "");
    expect(circles).toHaveLength(report.backups.length);
    expect(elements([figure], "circle")).toHaveLength(report.backups.length + 3);
    // Each mark's tooltip names its backup; the PartiallyFailed Velero backup is drawn in warning colour.
    const warning = circles.filter((c) => c[":@"]?.fill === "#ef6c00");
    expect(warning.map((c) => textOf(c))).toEqual([
      "2026-12-02T02:00:00.000Z gitpod-dr-20261202-0200 (warning)",
    ]);
    const labels = elements([figure], "text").map(textOf);
    for (const tier of ["database", "objectStorage", "images", "application", "alarms", "disaster"])
      expect(labels).toContain(tier);
    expect(labels).toContain("recovery point");
    // A line and a label per midnight of the virtual days.
    expect(labels.filter((l) => /^\d{4}-\d\d-\d\d$/.test(l))).toEqual([
      "2026-12-01",
      "2026-12-02",
      "2026-12-03",
    ]);
    // The disaster's line is where its time falls: 70.5 of 71.25 virtual hours along the plot.
    const disaster = elements([figure], "line").find((l) => l[":@"]?.["stroke-dasharray"] === "6 3");
    const x = Number(disaster?.[":@"]?.x1);
    expect(x).toBeCloseTo(130 + (70.5 / 71.25) * (960 - 130 - 70), 0);
  });

  it("has the restore's Gantt chart: a bar per step, grouped by branch, on an axis in minutes", () => {
    const figure = byId(tree, "figure", "restore") as Node;
    const bars = elements([figure], "rect");
    expect(bars).toHaveLength(report.rto.steps.length);
    const labels = elements([figure], "text").map(textOf);
    for (const step of report.rto.steps) expect(labels).toContain(step.name);
    // Groups in the order their first step started; the steps outside a branch are "main".
    expect(labels.filter((l) => ["main", "database", "images", "application"].includes(l))).toEqual([
      "main",
      "database",
      "images",
      "application",
    ]);
    // 41 minutes of restore: a tick every 5 minutes up to 45.
    expect(labels.filter((l) => l.endsWith(" min"))).toEqual(
      Array.from({ length: 10 }, (_, i) => `${i * 5} min`),
    );
    expect(labels).toContain("25m 00s"); // Restore database: 5 s to 1505 s
  });

  it("has every SNS message, subject and body exactly as sent, with < escaped", () => {
    const articles = elements(tree, "article");
    expect(articles).toHaveLength(report.messages.length);
    report.messages.forEach((m, i) => {
      const article = articles[i] as Node;
      expect(textOf(elements([article], "h3")[0] as Node)).toBe(m.subject);
      expect(textOf(elements([article], "pre")[0] as Node)).toBe(m.body);
    });
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script>alert");
    expect(html).not.toContain("<PartiallyFailed>");
  });

  it("has the RPO per tier, the RTO, the alarms and the findings", () => {
    const cells = elements(tree, "td").map(textOf);
    expect(cells).toEqual(
      expect.arrayContaining(["database", "5h 30m 00s", "gitpod-dr-gitpod-db-2026-12-03-0300"]),
    );
    expect(cells).toContain("gitpod-dr-example-rpo-database");
    expect(elements(tree, "th").map(textOf)).toContain("41m 00s");
    const failed = renderReportHtml(
      sampleReport({
        verdict: "failed",
        reasons: ["the restore did not bring the database back"],
        rpo: { database: null, objectStorage: 60, images: 60, application: 60 },
        findings: [
          { severity: "error", field: "restore.targets.dr.database.subnetGroup", message: "missing <here>" },
        ],
      }),
    );
    expect(XMLValidator.validate(failed)).toBe(true);
    const failedTree = parser.parse(failed) as Node[];
    const failedCells = elements(failedTree, "td").map(textOf);
    expect(failedCells).toEqual(
      expect.arrayContaining([
        "error",
        "restore.targets.dr.database.subnetGroup",
        "missing <here>",
        "no recovery point",
      ]),
    );
    expect(textOf(elements(failedTree, "li")[0] as Node)).toBe("the restore did not bring the database back");
    expect(textOf(elements(failedTree, "h1")[0] as Node)).toBe("Rehearsal: region-loss FAILED");
  });
});

describe("the charts on their own", () => {
  it("each SVG stands alone as an .svg file (its own namespace, no CSS class)", () => {
    for (const svg of [timelineSvg(sampleReport()), ganttSvg(sampleReport())]) {
      expect(XMLValidator.validate(svg)).toBe(true);
      expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" /);
      expect(svg).not.toContain("class=");
    }
  });

  it("draws a restore with no step and a timeline with no alarm", () => {
    const report = sampleReport({ alarms: [], rto: { totalSeconds: 0, overheadSeconds: 0, steps: [] } });
    expect(XMLValidator.validate(renderReportHtml(report))).toBe(true);
    expect(timelineSvg(report)).not.toContain(">alarms<");
    expect(ganttSvg(report)).not.toContain("<rect");
  });

  it("draws a polling check as one row: a bar per run over a line through the wait", () => {
    const steps = [0, 60, 120].map((t) => ({
      name: "Check database",
      branch: "database",
      startSeconds: 100 + t,
      endSeconds: 102 + t,
      outcome: "ok" as const,
    }));
    const svg = ganttSvg(sampleReport({ rto: { totalSeconds: 300, overheadSeconds: 0, steps } }));
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg.match(/>Check database</g)).toHaveLength(1);
    expect(svg).toContain(">3 runs over 2m 02s<");
  });

  it("picks ticks of at most about ten per axis, and groups steps by branch in start order", () => {
    expect([1, 9, 10, 11, 41, 100, 250, 2000].map(tickMinutes)).toEqual([1, 1, 1, 2, 5, 10, 30, 240]);
    const groups = groupSteps([
      { name: "b", branch: "images", startSeconds: 10, endSeconds: 20, outcome: "ok" },
      { name: "a", startSeconds: 0, endSeconds: 10, outcome: "ok" },
      { name: "check", branch: "images", startSeconds: 80, endSeconds: 82, outcome: "failed" },
      { name: "check", branch: "images", startSeconds: 20, endSeconds: 22, outcome: "ok" },
      { name: "check", branch: "images", startSeconds: 50, endSeconds: 52, outcome: "ok" },
    ]);
    expect(
      groups.map(([branch, rows]) => [
        branch,
        rows.map((r) => [r.name, r.runs.length, r.startSeconds, r.endSeconds, r.outcome]),
      ]),
    ).toEqual([
      ["main", [["a", 1, 0, 10, "ok"]]],
      [
        "images",
        [
          ["b", 1, 10, 20, "ok"],
          ["check", 3, 20, 82, "failed"],
        ],
      ],
    ]);
  });
});
