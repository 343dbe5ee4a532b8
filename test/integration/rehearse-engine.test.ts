import { describe, expect, it } from "vitest";
import { runRehearsal } from "../../packages/sim/src/rehearse/run.ts";
import type { RehearsalEvent } from "../../packages/sim/src/rehearse/types.ts";

describe("runRehearsal on the example stage", () => {
  it("region-loss: the restore brings every tier back in the DR region", async () => {
    const events: RehearsalEvent[] = [];
    const { report } = await runRehearsal({
      scenario: "region-loss",
      days: 3,
      onEvent: (e) => events.push(e),
    });
    if (report.verdict !== "passed")
      console.log(JSON.stringify({ reasons: report.reasons, events: events.slice(-40) }, null, 1));
    expect(report.reasons).toEqual([]);
    expect(report.verdict).toBe("passed");
    expect(report.rto.totalSeconds).toBeGreaterThan(15 * 60);
    expect(report.rto.steps.map((s) => s.name)).toContain("Restore database");
    expect(report.rpo.database).toBeGreaterThan(0);
    expect(report.recoveryPoint.database).toMatch(/^gitpod-dr-gitpod-db-2026-12-0/);
  }, 180_000);
});
